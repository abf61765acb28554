// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.28;

/// A stand-in for the Rollup in the L1 node tests: deposits and in-order batches with events,
/// and custom errors, without the Rollup's changing ABI.
contract Probe {
    event Deposited(uint256 indexed index, address indexed from, uint256 amount);
    event BatchVerified(uint256 indexed batch, bytes32 root);

    error TooSmall(uint256 amount, uint256 minimum);
    error OutOfOrder(uint256 expected, uint256 got);

    uint256 public immutable minimum;
    uint256 public batchCount;
    uint256 public depositCount;

    constructor(uint256 minimum_) {
        minimum = minimum_;
    }

    function deposit() external payable {
        if (msg.value < minimum) revert TooSmall(msg.value, minimum);
        emit Deposited(depositCount++, msg.sender, msg.value);
    }

    function submitBatch(uint256 number, bytes32 root) external {
        if (number != batchCount + 1) revert OutOfOrder(batchCount + 1, number);
        batchCount = number;
        emit BatchVerified(number, root);
    }
}
