// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.28;

/// The generic verifier (Groth16Verifier.sol), seen through its interface.
interface IGroth16Verifier {
    function verifyProof(
        uint256[2] calldata a,
        uint256[2][2] calldata b,
        uint256[2] calldata c,
        uint256[] calldata input
    ) external view returns (bool);
}

/// Poseidon with three inputs (PoseidonT4.sol), as circomlib.
interface IPoseidonT4 {
    function poseidon(uint256[3] calldata inputs) external pure returns (uint256);
}

/// @title The rollup's L1 contract: state root, batch number, deposit queue, withdrawals.
/// @notice Users deposit ETH into a FIFO queue; the operator proves batches that consume the
/// queue in order and submits them with `submitBatch`; withdrawals in a verified batch become
/// withdrawable by their L1 address. The byte layout of the public data is documented in one
/// place, prover/rollup/public_data.py, and followed here exactly:
///
///   public input = sha256(chainId u32 | batchNumber u64 | oldRoot | newRoot | publicData) mod r
///   publicData   = feeAccount (I bytes) | l1Digest (32) | records, each
///                  type (1) | from (I) | to (I) | amount (5) | fee (2)
///
/// with I = ceil(2 * depth / 8). The L1 digest is a Poseidon chain, d = 0 and for each record
/// in order: a deposit gives d = Poseidon(d, Ax, Ay) of the queue entry it consumes, a
/// withdrawal d = Poseidon(d, address, 0) of its L1 address; it keeps the public keys and the
/// addresses out of the SHA-256 (cheap in the EVM, dear in the circuit).
/// @dev Amounts in the public data are in units of `amountUnit` wei (set at deployment; 1 gwei
/// makes the 40-bit amount field about 1,100 ETH per transaction).
contract Rollup {
    /// BN254 scalar field: roots, keys and the public input are elements of it.
    uint256 internal constant R = 21888242871839275222246405745257275088548364400416034343698204186575808495617;
    uint256 internal constant AMOUNT_LIMIT = 1 << 40;

    uint8 internal constant NOOP = 0;
    uint8 internal constant DEPOSIT = 1;
    uint8 internal constant TRANSFER = 2;
    uint8 internal constant WITHDRAWAL = 3;

    struct QueuedDeposit {
        uint256 ax; // Baby Jubjub public key of the L2 account to credit
        uint256 ay;
        uint256 amount; // in units of amountUnit
    }

    IGroth16Verifier public immutable verifier;
    IPoseidonT4 public immutable poseidon;
    uint32 public immutable chainId;
    /// Bytes per account index in the public data (I above).
    uint256 public immutable indexBytes;
    /// Bytes per record: 1 + 2 I + 5 + 2.
    uint256 public immutable recordBytes;
    /// Wei per unit of an L2 amount.
    uint256 public immutable amountUnit;

    uint256 public stateRoot;
    /// Number of the last verified batch (0: genesis); the next batch is batchNumber + 1.
    uint64 public batchNumber;
    /// Deposits ever queued; entries [depositsConsumed, depositCount) wait for a batch.
    uint256 public depositCount;
    uint256 public depositsConsumed;
    mapping(uint256 => QueuedDeposit) public deposits;
    mapping(address => uint256) public withdrawable; // wei

    event Deposited(uint256 indexed queueIndex, uint256 ax, uint256 ay, uint256 amount);
    event BatchVerified(uint64 indexed batchNumber, uint256 oldRoot, uint256 newRoot, uint256 depositsConsumed);
    event WithdrawalCredited(uint64 indexed batchNumber, address indexed account, uint256 amountWei);
    event Withdrawn(address indexed account, uint256 amountWei);

    error BadDeposit();
    error BadPublicData();
    error NotAFieldElement();
    error DepositMismatch(uint256 queueIndex);
    error WithdrawalListMismatch();
    error L1DigestMismatch();
    error InvalidProof();
    error NothingToWithdraw();
    error PayoutFailed();

    /// @param verifier_ a Groth16Verifier deployed with the batch circuit's key (one public input)
    /// @param poseidon_ a PoseidonT4 contract
    /// @param chainId_ the rollup's chain id (also inside every signed L2 message)
    /// @param depth state tree depth (4-ary; capacity 4^depth), fixing the index width
    /// @param genesisRoot the state root before batch 1
    /// @param amountUnit_ wei per L2 amount unit
    constructor(
        IGroth16Verifier verifier_,
        IPoseidonT4 poseidon_,
        uint32 chainId_,
        uint8 depth,
        uint256 genesisRoot,
        uint256 amountUnit_
    ) {
        if (genesisRoot >= R) revert NotAFieldElement();
        require(depth >= 1 && depth <= 63 && amountUnit_ > 0, "bad parameters");
        verifier = verifier_;
        poseidon = poseidon_;
        chainId = chainId_;
        indexBytes = (2 * uint256(depth) + 7) / 8;
        recordBytes = 1 + 2 * indexBytes + 5 + 2;
        amountUnit = amountUnit_;
        stateRoot = genesisRoot;
    }

    /// @notice Queue a deposit of msg.value to the L2 account of public key (ax, ay).
    /// @dev The key must be two field elements, or no batch could ever consume the entry and the
    /// FIFO queue would be stuck behind it; the value must be a whole, non-zero number of units
    /// below 2^40.
    function deposit(uint256 ax, uint256 ay) external payable {
        uint256 amount = msg.value / amountUnit;
        if (ax >= R || ay >= R || msg.value % amountUnit != 0 || amount == 0 || amount >= AMOUNT_LIMIT) {
            revert BadDeposit();
        }
        uint256 index = depositCount++;
        deposits[index] = QueuedDeposit(ax, ay, amount);
        emit Deposited(index, ax, ay, amount);
    }

    /// @notice The public input a proof of this batch must have, computed as submitBatch does.
    function publicInput(uint256 newRoot, bytes calldata publicData) public view returns (uint256) {
        return uint256(sha256(abi.encodePacked(chainId, batchNumber + 1, stateRoot, newRoot, publicData))) % R;
    }

    /// @notice Verify batch batchNumber + 1 and move the state root to newRoot.
    /// @param newRoot the state root after the batch
    /// @param publicData the batch's public data (layout above)
    /// @param proof a.x, a.y, b.x.c1, b.x.c0, b.y.c1, b.y.c0, c.x, c.y (G2 in EVM order)
    /// @param withdrawalAddresses the L1 address of each withdrawal record, in order (they enter
    /// the proof through the L1 digest only)
    function submitBatch(
        uint256 newRoot,
        bytes calldata publicData,
        uint256[8] calldata proof,
        address[] calldata withdrawalAddresses
    ) external {
        uint256 len = publicData.length;
        if (len < indexBytes + 32 || (len - indexBytes - 32) % recordBytes != 0) revert BadPublicData();
        if (newRoot >= R) revert NotAFieldElement();
        uint64 number = batchNumber + 1;
        uint256 next = _consumeL1Entries(publicData, withdrawalAddresses, number);
        if (!_verify(proof, publicInput(newRoot, publicData))) revert InvalidProof();

        uint256 oldRoot = stateRoot;
        stateRoot = newRoot;
        batchNumber = number;
        depositsConsumed = next;
        emit BatchVerified(number, oldRoot, newRoot, next);
    }

    /// @notice Pay `account` everything verified batches have credited to it. Anyone may call
    /// it (the money only ever goes to `account`), so a fresh L1 address with no ETH for gas
    /// still gets paid.
    function withdraw(address payable account) external {
        uint256 amount = withdrawable[account];
        if (amount == 0) revert NothingToWithdraw();
        withdrawable[account] = 0; // before the call: no re-entrant double payout
        (bool ok, ) = account.call{value: amount}("");
        if (!ok) revert PayoutFailed();
        emit Withdrawn(account, amount);
    }

    /// Walk the records: deposits must be the queue's head, in order; withdrawals are credited
    /// (undone by submitBatch's revert if the proof then fails). Both feed the L1 digest, which
    /// must equal the one in the public data. Returns the new depositsConsumed.
    function _consumeL1Entries(
        bytes calldata publicData,
        address[] calldata withdrawalAddresses,
        uint64 number
    ) private returns (uint256 next) {
        // Immutables are read where needed rather than cached: the loop is at the stack limit.
        uint256 digest = 0;
        uint256 w = 0;
        next = depositsConsumed;
        for (uint256 off = indexBytes + 32; off < publicData.length; off += recordBytes) {
            uint256 kind = uint8(publicData[off]);
            uint256 amount = _read(publicData, off + 1 + 2 * indexBytes, 5);
            if (kind == DEPOSIT) {
                if (next >= depositCount) revert DepositMismatch(next);
                QueuedDeposit storage d = deposits[next];
                if (amount != d.amount) revert DepositMismatch(next);
                digest = poseidon.poseidon([digest, d.ax, d.ay]);
                ++next;
            } else if (kind == WITHDRAWAL) {
                if (w >= withdrawalAddresses.length) revert WithdrawalListMismatch();
                digest = _credit(digest, withdrawalAddresses[w++], amount, number);
            } else if (kind != NOOP && kind != TRANSFER) {
                revert BadPublicData();
            }
        }
        if (w != withdrawalAddresses.length) revert WithdrawalListMismatch();
        if (digest != _read(publicData, indexBytes, 32)) revert L1DigestMismatch();
    }

    /// Credit a withdrawal to its L1 address; returns the digest with the address chained in.
    function _credit(uint256 digest, address to, uint256 amount, uint64 number) private returns (uint256) {
        uint256 amountWei = amount * amountUnit;
        withdrawable[to] += amountWei;
        emit WithdrawalCredited(number, to, amountWei);
        return poseidon.poseidon([digest, uint256(uint160(to)), 0]);
    }

    function _verify(uint256[8] calldata proof, uint256 input) private view returns (bool) {
        uint256[] memory inputs = new uint256[](1);
        inputs[0] = input;
        return
            verifier.verifyProof(
                [proof[0], proof[1]],
                [[proof[2], proof[3]], [proof[4], proof[5]]],
                [proof[6], proof[7]],
                inputs
            );
    }

    /// Big-endian unsigned integer of `width` (1..32) bytes at `offset` of `data` (in bounds).
    function _read(bytes calldata data, uint256 offset, uint256 width) private pure returns (uint256 v) {
        assembly ("memory-safe") {
            v := shr(sub(256, mul(width, 8)), calldataload(add(data.offset, offset)))
        }
    }
}
