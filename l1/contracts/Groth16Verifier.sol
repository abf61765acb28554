// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.28;

/// @title Groth16 verifier for BN254 whose verifying key is given at deployment.
/// @notice One compiled bytecode serves every circuit: deploy it with the key's points and call
/// `verifyProof`, so nobody needs a Solidity compiler at run time. Two forms: `uint256[]` inputs
/// (any count), and snarkjs's `uint256[1]` for one-input keys, the ABI Rollup calls, so this
/// contract and a snarkjs-exported one are interchangeable there. The constructor refuses a key
/// with alpha1, beta2, gamma2 or delta2 at infinity (with gamma2 or delta2 there, constant
/// proofs verify every input). G2 points (key and proof) are in the EVM's order, imaginary part
/// first: [[x.c1, x.c0], [y.c1, y.c0]].
/// @dev The key lives in the code of a data account written once by the constructor (the
/// SSTORE2 pattern): reading it back costs one cold EXTCODECOPY (about 2,700 gas) where storage
/// would cost 2,100 gas per word. Checks:
///   e(-A, B) * e(alpha1, beta2) * e(vk_x, gamma2) * e(C, delta2) == 1,
///   vk_x = IC[0] + sum input[i] * IC[i + 1],
/// with ecAdd (0x06), ecMul (0x07) and ecPairing (0x08) of EIP-196/197.
contract Groth16Verifier {
    /// BN254 scalar field: public inputs must be below it.
    uint256 internal constant R = 21888242871839275222246405745257275088548364400416034343698204186575808495617;
    /// BN254 base field: every point coordinate must be below it.
    uint256 internal constant Q = 21888242871839275222246405745257275088696311157297823662689037894645226208583;

    /// Number of words before IC in the key blob: alpha1 (2), beta2, gamma2, delta2 (4 each).
    uint256 internal constant IC_WORD = 14;

    /// The account whose code is 0x00 (so it cannot be called) followed by the key, one word per
    /// coordinate: alpha1, beta2, gamma2, delta2, IC[0], IC[1], ...
    address public immutable vkPointer;
    /// Number of public inputs the key expects (IC has one point more).
    uint256 public immutable nPublic;

    /// The key is malformed: no IC point, or a point the precompiles refuse (off the curve,
    /// outside the subgroup, or G2 given in JSON (c0, c1) order).
    error BadVerifyingKey();
    /// alpha1, beta2, gamma2 or delta2 (0, 1, 2, 3) is the point at infinity: with gamma2 or
    /// delta2 there, constant proofs verify for every input.
    error KeyPointAtInfinity(uint256 which);
    /// The caller passed a number of public inputs other than the key's.
    error WrongInputCount(uint256 given, uint256 expected);

    constructor(
        uint256[2] memory alpha1,
        uint256[2][2] memory beta2,
        uint256[2][2] memory gamma2,
        uint256[2][2] memory delta2,
        uint256[2][] memory ic
    ) {
        if (ic.length == 0) revert BadVerifyingKey();
        if (alpha1[0] == 0 && alpha1[1] == 0) revert KeyPointAtInfinity(0);
        if (_isZero(beta2)) revert KeyPointAtInfinity(1);
        if (_isZero(gamma2)) revert KeyPointAtInfinity(2);
        if (_isZero(delta2)) revert KeyPointAtInfinity(3);
        uint256[] memory words = new uint256[](IC_WORD + 2 * ic.length);
        words[0] = alpha1[0];
        words[1] = alpha1[1];
        for (uint256 i = 0; i < 2; ++i) {
            words[2 + 2 * i] = beta2[i][0];
            words[3 + 2 * i] = beta2[i][1];
            words[6 + 2 * i] = gamma2[i][0];
            words[7 + 2 * i] = gamma2[i][1];
            words[10 + 2 * i] = delta2[i][0];
            words[11 + 2 * i] = delta2[i][1];
        }
        for (uint256 i = 0; i < ic.length; ++i) {
            words[IC_WORD + 2 * i] = ic[i][0];
            words[IC_WORD + 2 * i + 1] = ic[i][1];
        }
        _checkKey(words);
        // Creation code that returns everything after itself (11 bytes) as the runtime code.
        bytes memory init = abi.encodePacked(hex"600B5981380380925939F3", hex"00", words);
        address pointer;
        assembly ("memory-safe") {
            pointer := create(0, add(init, 32), mload(init))
        }
        if (pointer == address(0)) revert BadVerifyingKey();
        vkPointer = pointer;
        nPublic = ic.length - 1;
    }

    /// @notice True iff the proof is valid for `input` under this contract's key.
    /// @dev Invalid proofs, coordinates >= q, points off the curve or outside the subgroup, and
    /// inputs >= r give false rather than a revert, like snarkjs's verifier and the Python
    /// verifier; only a wrong number of inputs reverts (a caller's mistake, not a bad proof).
    /// @param a proof point A = [x, y]
    /// @param b proof point B = [[x.c1, x.c0], [y.c1, y.c0]]
    /// @param c proof point C = [x, y]
    /// @param input the public signals, each < r
    function verifyProof(
        uint256[2] calldata a,
        uint256[2][2] calldata b,
        uint256[2] calldata c,
        uint256[] calldata input
    ) external view returns (bool) {
        if (input.length != nPublic) revert WrongInputCount(input.length, nPublic);
        uint256 offset;
        assembly ("memory-safe") {
            offset := input.offset
        }
        return _verify(a, b, c, offset, input.length);
    }

    /// @notice The same for one public input with snarkjs's ABI (`uint256[1]`), so this
    /// contract plugs in wherever a snarkjs-exported verifier of a one-input circuit does.
    function verifyProof(
        uint256[2] calldata a,
        uint256[2][2] calldata b,
        uint256[2] calldata c,
        uint256[1] calldata input
    ) external view returns (bool) {
        if (nPublic != 1) revert WrongInputCount(1, nPublic);
        uint256 offset;
        assembly ("memory-safe") {
            offset := input
        }
        return _verify(a, b, c, offset, 1);
    }

    function _isZero(uint256[2][2] memory p) private pure returns (bool) {
        return p[0][0] == 0 && p[0][1] == 0 && p[1][0] == 0 && p[1][1] == 0;
    }

    /// Key check at deployment: ecAdd refuses G1 points off the curve and ecPairing refuses G2
    /// points off the twist or outside the subgroup, so a key with G2 in JSON order fails here,
    /// once, instead of making every later proof fail.
    function _checkKey(uint256[] memory words) private view {
        bool ok = true;
        assembly ("memory-safe") {
            let w := add(words, 32)
            let n := mload(words)
            let m := mload(0x40)
            // G1 points: alpha1 (words 0, 1) and every IC point, each added to infinity.
            mstore(add(m, 64), 0)
            mstore(add(m, 96), 0)
            mstore(m, mload(w))
            mstore(add(m, 32), mload(add(w, 32)))
            ok := and(ok, staticcall(gas(), 0x06, m, 128, m, 64))
            for { let i := 14 } lt(i, n) { i := add(i, 2) } {
                mstore(m, mload(add(w, mul(i, 32))))
                mstore(add(m, 32), mload(add(w, mul(add(i, 1), 32))))
                mstore(add(m, 64), 0)
                mstore(add(m, 96), 0)
                ok := and(ok, staticcall(gas(), 0x06, m, 128, m, 64))
            }
            // G2 points: beta2, gamma2, delta2, each paired with the G1 point at infinity.
            for { let j := 0 } lt(j, 3) { j := add(j, 1) } {
                let dst := add(m, mul(j, 192))
                mstore(dst, 0)
                mstore(add(dst, 32), 0)
                let src := add(w, mul(add(2, mul(j, 4)), 32))
                mstore(add(dst, 64), mload(src))
                mstore(add(dst, 96), mload(add(src, 32)))
                mstore(add(dst, 128), mload(add(src, 64)))
                mstore(add(dst, 160), mload(add(src, 96)))
            }
            ok := and(ok, staticcall(gas(), 0x08, m, 576, m, 32))
        }
        if (!ok) revert BadVerifyingKey();
    }

    function _verify(
        uint256[2] calldata a,
        uint256[2][2] calldata b,
        uint256[2] calldata c,
        uint256 inputOffset,
        uint256 n
    ) private view returns (bool valid) {
        address pointer = vkPointer;
        assembly ("memory-safe") {
            // Pairing input, 24 words at p: -A, B, alpha1, beta2, vk_x, gamma2, C, delta2.
            let p := mload(0x40)
            let m := add(p, 768) // scratch for ecMul / ecAdd
            let ok := 1

            // Every coordinate below q: the precompiles would refuse most of these anyway, but
            // negating an out-of-range A.y below would wrap and change the point.
            ok := and(ok, and(lt(calldataload(a), Q), lt(calldataload(add(a, 32)), Q)))
            ok := and(ok, and(lt(calldataload(c), Q), lt(calldataload(add(c, 32)), Q)))
            for { let i := 0 } lt(i, 4) { i := add(i, 1) } {
                ok := and(ok, lt(calldataload(add(b, mul(i, 32))), Q))
            }

            // Key: alpha1 and beta2 (words 0-5) into slots 6-11; gamma2 into 14-17; delta2 into
            // 20-23; IC[0] into vk_x's slots 12-13. Offsets are +1 for the leading 0x00.
            extcodecopy(pointer, add(p, 192), 1, 192)
            extcodecopy(pointer, add(p, 448), 193, 128)
            extcodecopy(pointer, add(p, 640), 321, 128)
            extcodecopy(pointer, add(p, 384), 449, 64)

            // vk_x += input[i] * IC[i + 1] (n calldata words at inputOffset)
            for { let i := 0 } lt(i, n) { i := add(i, 1) } {
                let s := calldataload(add(inputOffset, mul(i, 32)))
                ok := and(ok, lt(s, R))
                extcodecopy(pointer, m, add(513, mul(i, 64)), 64)
                mstore(add(m, 64), s)
                ok := and(ok, staticcall(gas(), 0x07, m, 96, add(m, 64), 64))
                mstore(m, mload(add(p, 384)))
                mstore(add(m, 32), mload(add(p, 416)))
                ok := and(ok, staticcall(gas(), 0x06, m, 128, add(p, 384), 64))
            }

            // -A = (x, q - y); y = 0 only for the point at infinity (0, 0), which stays itself.
            mstore(p, calldataload(a))
            mstore(add(p, 32), mod(sub(Q, calldataload(add(a, 32))), Q))
            calldatacopy(add(p, 64), b, 128)
            calldatacopy(add(p, 576), c, 64)

            // A failed precompile call (bad point) leaves ok = 0; the pairing's output word is
            // 1 only when the product is the identity.
            if ok {
                ok := staticcall(gas(), 0x08, p, 768, p, 32)
                valid := and(ok, eq(mload(p), 1))
            }
        }
    }
}
