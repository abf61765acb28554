// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.28;

/// A Groth16 verifier with one public input, through snarkjs's ABI: both the project's
/// Groth16Verifier and a contract from `snarkjs zkey export solidityverifier` answer it.
interface IVerifier {
    function verifyProof(
        uint256[2] calldata a,
        uint256[2][2] calldata b,
        uint256[2] calldata c,
        uint256[1] calldata input
    ) external view returns (bool);
}

/// Poseidon with four inputs (t = 5, PoseidonT5.sol), as circomlib.
interface IPoseidonT5 {
    function poseidon(uint256[4] calldata inputs) external view returns (uint256);
}

/// @title The rollup's L1 contract: state root, priority queue, withdrawals, exodus mode.
/// @notice Users queue L1 requests in a FIFO priority queue: `deposit` (ETH to a new L2
/// account, whose index the contract assigns), `depositTo` (ETH to an existing account) and
/// `requestExit` (a forced full exit). An operator proves batches that consume the queue in
/// order and settles them with `submitBatch`; withdrawals and forced exits in a settled batch
/// become withdrawable by their L1 address. Every queued request carries a deadline: if the
/// head of the queue is still unconsumed after it, or no batch settles for `settlementWindow`
/// blocks, anyone may call `activateExodus`. Batches then stop for good, each account withdraws
/// its balance in the last settled state with a Merkle proof checked here (`exodusWithdraw`),
/// and unconsumed deposits are refunded (`refundDeposit`).
///
/// The byte layout of the public data is documented in one place, prover/rollup/public_data.py,
/// and followed here exactly:
///
///   public input = sha256(chainid u64 | address(this) 20 bytes | batchNumber u64 | oldRoot 32 |
///                         newRoot 32 | publicData) mod r
///   publicData   = feeAccount (I bytes) | l1Digest (32) | records, each
///                  type (1) | from (I) | to (I) | amount (5) | fee (2)
///
/// with I = ceil(2 * depth / 8) and types 0 no-op, 1 deposit, 2 transfer, 3 withdrawal,
/// 4 forced exit. The L1 digest is a Poseidon chain keeping keys and addresses out of the
/// SHA-256: d = 0 and, for each deposit, withdrawal and forced-exit record in order,
/// d = Poseidon(d, x, y, addr) with (Ax, Ay, depositor) for a deposit creating an account,
/// (0, 0, depositor) for a deposit to an existing one, (0, 0, L1 address) for a withdrawal and
/// (0, 0, requester) for a forced exit.
///
/// State tree: 4-ary, depth `depth`, node = Poseidon(c0, c1, c2, c3), empty leaf 0, and
/// leaf = Poseidon(Ax, Ay, balance + 2^64 * nonce, owner). The genesis root is the empty tree's,
/// computed at deployment, because account indices are assigned here from 0.
/// @dev Amounts in the public data and the queue are in units of `amountUnit` wei (at least
/// 1 gwei, which makes the 40-bit amount field about 1,100 ETH per request). Requests cost
/// their sender only gas (~80-105k): choose forcedRequestWindow so the operator can clear a
/// burst of them, since an unconsumed head past its deadline lets anyone start exodus. Batches
/// must also keep coming (empty ones will do) within settlementWindow.
contract Rollup {
    /// BN254 scalar field: roots, keys, digests and the public input are elements of it.
    uint256 internal constant R = 21888242871839275222246405745257275088548364400416034343698204186575808495617;
    /// BN254 base field: verifying-key coordinates are elements of it.
    uint256 internal constant Q = 21888242871839275222246405745257275088696311157297823662689037894645226208583;
    uint256 internal constant AMOUNT_LIMIT = 1 << 40;
    /// The contract's balance stays below 2^64 units, so no L2 balance (< 2^64) can overflow.
    uint256 internal constant BALANCE_LIMIT = 1 << 64;
    /// Baby Jubjub (twisted Edwards over the BN254 scalar field): a x^2 + y^2 = 1 + d x^2 y^2.
    uint256 internal constant BJJ_A = 168700;
    uint256 internal constant BJJ_D = 168696;
    /// circomlib Poseidon([1, 2, 3, 4]): checks at deployment that `poseidon` is t = 5.
    uint256 internal constant POSEIDON_1234 = 0x299c867db6c1fdd79dcefa40e4510b9837e60ebb1ce0663dbaa525df65250465;

    /// Record types of the public data.
    uint256 internal constant NOOP = 0;
    uint256 internal constant DEPOSIT = 1;
    uint256 internal constant TRANSFER = 2;
    uint256 internal constant WITHDRAWAL = 3;
    uint256 internal constant FORCED_EXIT = 4;

    /// Kinds of queue entries.
    uint8 public constant KIND_NEW_ACCOUNT = 1;
    uint8 public constant KIND_TOP_UP = 2;
    uint8 public constant KIND_FORCED_EXIT = 3;
    uint8 public constant KIND_REFUNDED = 4;

    /// Deployment parameters.
    struct Config {
        IVerifier verifier; // answers for the batch circuit's key (one public input)
        IPoseidonT5 poseidon; // a PoseidonT5 contract
        uint8 depth; // state tree depth, 1..16 (capacity 4^depth)
        uint256 amountUnit; // wei per L2 amount unit, >= 1 gwei
        address admin; // may propose operator and admin changes (each delayed)
        address operator; // the first operator, active at once
        uint64 forcedRequestWindow; // blocks a queued request may wait before exodus is due
        uint64 settlementWindow; // blocks without a settled batch before exodus is due
        uint64 changeDelay; // blocks between proposing and executing a role change (> window)
    }

    /// The verifier's key as the auditor should see it, G2 in EVM order [[x.c1, x.c0], [y.c1, y.c0]].
    struct VerifyingKey {
        uint256[2] alpha1;
        uint256[2][2] beta2;
        uint256[2][2] gamma2;
        uint256[2][2] delta2;
        uint256[2][] ic;
    }

    /// One L1 request. `x` is Ax for a new-account deposit and the account index otherwise;
    /// `y` is Ay for a new-account deposit (whose index is the count of new-account deposits
    /// before it, announced in `Deposited`).
    struct Request {
        address sender; // depositor or requester
        uint40 amount; // units; 0 for a forced exit
        uint48 deadline; // block after which an unconsumed entry makes exodus due
        uint8 kind;
        uint256 x;
        uint256 y;
    }

    IVerifier public immutable verifier;
    IPoseidonT5 public immutable poseidon;
    uint256 public immutable depth;
    /// 4^depth accounts.
    uint256 public immutable capacity;
    /// Bytes per account index in the public data (I above).
    uint256 public immutable indexBytes;
    /// Bytes per record: 1 + 2 I + 5 + 2.
    uint256 public immutable recordBytes;
    /// Wei per unit of an L2 amount.
    uint256 public immutable amountUnit;
    uint256 public immutable forcedRequestWindow;
    uint256 public immutable settlementWindow;
    uint256 public immutable changeDelay;
    /// keccak256(abi.encode(alpha1, beta2, gamma2, delta2, ic)) of the key checked at deployment.
    bytes32 public immutable verifyingKeyHash;

    uint256 public stateRoot;
    /// Written once per batch: batchNumber (bits 0-63), queueHead (64-127), lastSettledBlock
    /// (128-191), accountsSettled (192-247), exodus flag (248-255).
    uint256 private _counters;
    /// Written by L1 requests: queueTail (bits 0-63), accountCount (64-127).
    uint256 private _tail;
    mapping(uint256 => Request) public queue;
    mapping(address => uint256) public withdrawable; // wei
    mapping(address => bool) public isOperator;
    /// One bit per account index: already paid by exodusWithdraw.
    mapping(uint256 => uint256) private _exited;

    address public admin;
    /// Pending operator change: block from which it may execute (0: none) and the new status.
    mapping(address => uint256) public operatorChangeEta;
    mapping(address => bool) public operatorChangeActive;
    address public pendingAdmin;
    uint256 public adminChangeEta;

    event VerifyingKeyAccepted(address indexed verifier, bytes32 keyHash);
    event Deposited(
        uint256 indexed queueIndex,
        uint256 indexed accountIndex,
        address indexed depositor,
        uint256 ax,
        uint256 ay,
        uint256 amount,
        uint256 deadline
    );
    event ExitRequested(
        uint256 indexed queueIndex,
        uint256 indexed accountIndex,
        address indexed requester,
        uint256 deadline
    );
    event BatchVerified(uint64 indexed batchNumber, uint256 oldRoot, uint256 newRoot, uint256 queueHead);
    event WithdrawalCredited(uint64 indexed batchNumber, address indexed account, uint256 amountWei);
    event Withdrawn(address indexed account, uint256 amountWei);
    event ExodusActivated(uint64 lastBatch, uint256 stateRoot, bool queueDeadlineMissed);
    event ExodusWithdrawal(uint256 indexed accountIndex, address indexed owner, uint256 amountWei);
    event DepositRefunded(uint256 indexed queueIndex, address indexed depositor, uint256 amountWei);
    event OperatorChangeProposed(address indexed operator, bool active, uint256 eta);
    event OperatorChangeCancelled(address indexed operator);
    event OperatorChanged(address indexed operator, bool active);
    event AdminChangeProposed(address indexed newAdmin, uint256 eta);
    event AdminChangeCancelled(address indexed newAdmin);
    event AdminChanged(address indexed previousAdmin, address indexed newAdmin);

    // Deployment
    error BadConfig(string reason);
    error BadVerifyingKey(string reason);
    // L1 requests
    error BadAmount(uint256 weiValue);
    error BalanceCapExceeded();
    error NotAFieldElement();
    error KeyNotOnCurve();
    error KeySmallOrder();
    error TreeFull();
    error UnknownAccount(uint256 accountIndex);
    // Batches
    error NotOperator(address sender);
    error BadPublicData();
    error UnknownRecordType();
    error DepositMismatch(uint256 queueIndex);
    error ForcedExitMismatch(uint256 queueIndex);
    error WithdrawalListMismatch();
    error L1DigestMismatch();
    error InvalidProof();
    // Payouts and exodus
    error NothingToWithdraw();
    error PayoutFailed();
    error ExodusActive();
    error NotInExodus();
    error ExodusNotDue();
    error BadAccount();
    error WrongPathLength(uint256 given, uint256 expected);
    error BadMerkleProof();
    error AlreadyExited(uint256 accountIndex);
    error NotRefundable(uint256 queueIndex);
    error HashFailed();
    // Roles
    error NotAdmin(address sender);
    error ZeroAddress();
    error NoPendingChange();
    error ChangeNotReady(uint256 eta);

    /// @param config the deployment parameters (see Config)
    /// @param vk the verifier's key: refused if alpha1, beta2, gamma2 or delta2 is at infinity,
    /// a point is off the curve or (G2) outside the subgroup, gamma2 equals delta2, or IC does
    /// not hold exactly two points; the verifier must then refuse the constant forgery
    /// (A = alpha1, B = beta2, C = infinity), which a verifier with gamma2 at infinity accepts
    constructor(Config memory config, VerifyingKey memory vk) {
        if (config.depth < 1 || config.depth > 16) revert BadConfig("depth must be 1..16");
        if (config.amountUnit < 1 gwei) revert BadConfig("amountUnit below 1 gwei");
        if (block.chainid >= 1 << 64) revert BadConfig("chain id does not fit 64 bits");
        if (config.admin == address(0) || config.operator == address(0)) revert BadConfig("zero admin or operator");
        if (config.forcedRequestWindow == 0 || config.settlementWindow == 0) revert BadConfig("zero window");
        // Deadlines are stored in 48 bits: windows this long would wrap them to the past.
        if (config.changeDelay >= 1 << 32 || config.settlementWindow >= 1 << 32) {
            revert BadConfig("window or delay of 2^32 blocks or more");
        }
        if (config.changeDelay <= config.forcedRequestWindow) {
            revert BadConfig("changeDelay must exceed forcedRequestWindow");
        }
        if (address(config.verifier).code.length == 0) revert BadConfig("verifier has no code");
        if (address(config.poseidon).code.length == 0) revert BadConfig("poseidon has no code");
        address p = address(config.poseidon);
        if (_hashAt(p, 1, 2, 3, 4) != POSEIDON_1234) revert BadConfig("poseidon is not circomlib Poseidon t = 5");

        _checkVerifyingKey(vk);
        _probeVerifier(config.verifier, vk);
        bytes32 keyHash = keccak256(abi.encode(vk.alpha1, vk.beta2, vk.gamma2, vk.delta2, vk.ic));

        verifier = config.verifier;
        poseidon = config.poseidon;
        depth = config.depth;
        capacity = 1 << (2 * uint256(config.depth));
        indexBytes = (2 * uint256(config.depth) + 7) / 8;
        recordBytes = 1 + 2 * ((2 * uint256(config.depth) + 7) / 8) + 5 + 2;
        amountUnit = config.amountUnit;
        forcedRequestWindow = config.forcedRequestWindow;
        settlementWindow = config.settlementWindow;
        changeDelay = config.changeDelay;
        verifyingKeyHash = keyHash;

        uint256 root = 0;
        for (uint256 i = 0; i < config.depth; ++i) root = _hashAt(p, root, root, root, root);
        stateRoot = root;
        _counters = block.number << 128;
        admin = config.admin;
        isOperator[config.operator] = true;
        emit VerifyingKeyAccepted(address(config.verifier), keyHash);
        emit AdminChanged(address(0), config.admin);
        emit OperatorChanged(config.operator, true);
    }

    // --- counters ---------------------------------------------------------------------------

    /// Number of the last settled batch (0: genesis); the next batch is batchNumber + 1.
    function batchNumber() public view returns (uint64) {
        return uint64(_counters);
    }

    /// Queue entries [queueHead, queueTail) wait for a batch.
    function queueHead() public view returns (uint64) {
        return uint64(_counters >> 64);
    }

    /// Block of the last settled batch (of the deployment before batch 1).
    function lastSettledBlock() public view returns (uint64) {
        return uint64(_counters >> 128);
    }

    /// New-account deposits settled: they created accounts 0 .. accountsSettled - 1.
    function accountsSettled() public view returns (uint64) {
        return uint64(_counters >> 192) & type(uint56).max;
    }

    function exodusActive() public view returns (bool) {
        return _counters >> 248 != 0;
    }

    function queueTail() public view returns (uint64) {
        return uint64(_tail);
    }

    /// Accounts created so far (settled or queued); the next new-account deposit gets this index.
    function accountCount() public view returns (uint64) {
        return uint64(_tail >> 64);
    }

    function exited(uint256 accountIndex) public view returns (bool) {
        return (_exited[accountIndex >> 8] >> (accountIndex & 255)) & 1 != 0;
    }

    // --- L1 requests --------------------------------------------------------------------------

    /// @notice Open a new L2 account for the Baby Jubjub key (ax, ay), owned by msg.sender,
    /// with msg.value as its balance. Its index is accountCount() at this call.
    /// @dev The key must be a point of the curve and not of small order (8P != O), or no
    /// signature could ever spend the account.
    function deposit(uint256 ax, uint256 ay) external payable {
        uint256 amount = _depositAmount();
        _checkKey(ax, ay);
        uint256 tail = _tail;
        uint256 qi = uint64(tail);
        uint256 index = uint64(tail >> 64);
        if (index >= capacity) revert TreeFull();
        uint256 deadline = block.number + forcedRequestWindow;
        queue[qi] = Request(msg.sender, uint40(amount), uint48(deadline), KIND_NEW_ACCOUNT, ax, ay);
        _tail = (qi + 1) | ((index + 1) << 64);
        emit Deposited(qi, index, msg.sender, ax, ay, amount, deadline);
    }

    /// @notice Add msg.value to the existing L2 account `accountIndex` (whoever owns it).
    function depositTo(uint256 accountIndex) external payable {
        uint256 amount = _depositAmount();
        uint256 deadline = _enqueue(KIND_TOP_UP, accountIndex, amount);
        emit Deposited(uint64(_tail) - 1, accountIndex, msg.sender, 0, 0, amount, deadline);
    }

    /// @notice Ask for a full exit of account `accountIndex` to msg.sender. The next batches must
    /// consume the request before its deadline; the circuit pays out only if msg.sender owns the
    /// account (a stranger's request is consumed with amount 0).
    function requestExit(uint256 accountIndex) external {
        if (exodusActive()) revert ExodusActive();
        uint256 deadline = _enqueue(KIND_FORCED_EXIT, accountIndex, 0);
        emit ExitRequested(uint64(_tail) - 1, accountIndex, msg.sender, deadline);
    }

    // --- batches ------------------------------------------------------------------------------

    /// @notice The public input a proof of the next batch must have, computed as submitBatch does.
    function publicInput(uint256 newRoot, bytes calldata publicData) public view returns (uint256) {
        return _publicInput(uint256(batchNumber()) + 1, stateRoot, newRoot, publicData);
    }

    /// @notice Settle batch batchNumber + 1 and move the state root to newRoot (operators only).
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
        if (!isOperator[msg.sender]) revert NotOperator(msg.sender);
        if (newRoot >= R) revert NotAFieldElement();
        Cursor memory cur = _startBatch(publicData);
        if (_scanRecords(publicData) || withdrawalAddresses.length != 0) {
            cur.tail = uint64(_tail);
            _consumeL1(publicData, withdrawalAddresses, cur);
        }
        if (cur.digest != _read(publicData, indexBytes, 32)) revert L1DigestMismatch();

        uint256 oldRoot = stateRoot;
        if (!_verify(proof, _publicInput(cur.number, oldRoot, newRoot, publicData))) revert InvalidProof();
        stateRoot = newRoot;
        _counters = cur.number | (cur.head << 64) | (block.number << 128) | (cur.accounts << 192);
        emit BatchVerified(uint64(cur.number), oldRoot, newRoot, cur.head);
    }

    /// @notice Pay `account` everything credited to it (withdrawals, forced exits, exodus
    /// withdrawals, refunds). Anyone may call it (the money only ever goes to `account`), so a
    /// fresh L1 address with no ETH for gas still gets paid. Works in exodus mode too.
    function withdraw(address payable account) external {
        uint256 amount = withdrawable[account];
        if (amount == 0) revert NothingToWithdraw();
        withdrawable[account] = 0; // before the call: no re-entrant double payout
        (bool ok, ) = account.call{value: amount}("");
        if (!ok) revert PayoutFailed();
        emit Withdrawn(account, amount);
    }

    // --- exodus -------------------------------------------------------------------------------

    /// @notice Enter exodus mode (anyone, once due): the queue head's deadline has passed
    /// unconsumed, or no batch settled for settlementWindow blocks. Irreversible.
    function activateExodus() external {
        uint256 counters = _counters;
        if (counters >> 248 != 0) revert ExodusActive();
        uint256 head = uint64(counters >> 64);
        bool queueMissed = head < uint64(_tail) && block.number > queue[head].deadline;
        if (!queueMissed && block.number <= uint64(counters >> 128) + settlementWindow) revert ExodusNotDue();
        _counters = counters | (1 << 248);
        emit ExodusActivated(uint64(counters), stateRoot, queueMissed);
    }

    /// @notice In exodus mode, credit account `accountIndex`'s balance in the last settled state
    /// to its owner, once. Anyone may call it; the money only goes to `owner`.
    /// @param siblings 3 per level, leaf level first, left to right with the path's node taken
    /// out (as circuits.native.merkle.SparseMerkleTree.path)
    function exodusWithdraw(
        uint256 accountIndex,
        uint256 ax,
        uint256 ay,
        uint256 balance,
        uint256 nonce,
        address owner,
        uint256[] calldata siblings
    ) external {
        if (!exodusActive()) revert NotInExodus();
        if (accountIndex >= capacity) revert UnknownAccount(accountIndex);
        if (siblings.length != 3 * depth) revert WrongPathLength(siblings.length, 3 * depth);
        if (ax >= R || ay >= R || balance >= 1 << 64 || nonce >= 1 << 32) revert BadAccount();
        if (exited(accountIndex)) revert AlreadyExited(accountIndex);
        uint256 leaf = _hash(ax, ay, balance | (nonce << 64), uint160(owner));
        if (_rootFromPath(leaf, accountIndex, siblings) != stateRoot) revert BadMerkleProof();
        _exited[accountIndex >> 8] |= 1 << (accountIndex & 255);
        uint256 amountWei = balance * amountUnit;
        withdrawable[owner] += amountWei;
        emit ExodusWithdrawal(accountIndex, owner, amountWei);
    }

    /// @notice In exodus mode, credit an unconsumed deposit back to its depositor, once.
    function refundDeposit(uint256 queueIndex) external {
        if (!exodusActive()) revert NotInExodus();
        Request storage r = queue[queueIndex];
        uint8 kind = r.kind;
        if (queueIndex < queueHead() || (kind != KIND_NEW_ACCOUNT && kind != KIND_TOP_UP)) {
            revert NotRefundable(queueIndex);
        }
        uint256 amountWei = uint256(r.amount) * amountUnit;
        address depositor = r.sender;
        r.kind = KIND_REFUNDED;
        withdrawable[depositor] += amountWei;
        emit DepositRefunded(queueIndex, depositor, amountWei);
    }

    // --- roles --------------------------------------------------------------------------------

    /// @notice Propose (admin) to set `operator`'s status; executable after changeDelay blocks,
    /// longer than the forced-request window, so users can exit before a new operator acts.
    function proposeOperator(address operator, bool active) external {
        _onlyAdmin();
        if (operator == address(0)) revert ZeroAddress();
        uint256 eta = block.number + changeDelay;
        operatorChangeEta[operator] = eta;
        operatorChangeActive[operator] = active;
        emit OperatorChangeProposed(operator, active, eta);
    }

    /// @notice Apply a proposed operator change once its delay has passed (anyone).
    function executeOperatorChange(address operator) external {
        _ready(operatorChangeEta[operator]);
        bool active = operatorChangeActive[operator];
        isOperator[operator] = active;
        delete operatorChangeEta[operator];
        delete operatorChangeActive[operator];
        emit OperatorChanged(operator, active);
    }

    function cancelOperatorChange(address operator) external {
        _onlyAdmin();
        if (operatorChangeEta[operator] == 0) revert NoPendingChange();
        delete operatorChangeEta[operator];
        delete operatorChangeActive[operator];
        emit OperatorChangeCancelled(operator);
    }

    /// @notice Propose (admin) handing the admin role to `newAdmin`, after changeDelay blocks.
    function proposeAdmin(address newAdmin) external {
        _onlyAdmin();
        if (newAdmin == address(0)) revert ZeroAddress();
        uint256 eta = block.number + changeDelay;
        pendingAdmin = newAdmin;
        adminChangeEta = eta;
        emit AdminChangeProposed(newAdmin, eta);
    }

    /// @notice Apply the proposed admin handover once its delay has passed (anyone).
    function executeAdminChange() external {
        _ready(adminChangeEta);
        address previous = admin;
        admin = pendingAdmin;
        delete pendingAdmin;
        delete adminChangeEta;
        emit AdminChanged(previous, admin);
    }

    function cancelAdminChange() external {
        _onlyAdmin();
        if (adminChangeEta == 0) revert NoPendingChange();
        address proposed = pendingAdmin;
        delete pendingAdmin;
        delete adminChangeEta;
        emit AdminChangeCancelled(proposed);
    }

    // --- internals ----------------------------------------------------------------------------

    /// State of the record walk (memory: the walk is at the stack limit otherwise).
    struct Cursor {
        uint256 head; // next queue entry to consume
        uint256 tail; // queueTail
        uint256 accounts; // accountsSettled: the index the next new-account deposit must name
        uint256 digest; // L1 digest so far
        uint256 w; // withdrawal addresses used
        uint256 number; // this batch's number
    }

    /// Checks the public data's length against the layout and the exodus flag; returns the
    /// cursor at the start of the batch (one read of the packed counters).
    function _startBatch(bytes calldata publicData) private view returns (Cursor memory) {
        uint256 counters = _counters;
        if (counters >> 248 != 0) revert ExodusActive();
        uint256 fixedBytes = indexBytes + 32;
        uint256 len = publicData.length;
        if (len < fixedBytes || (len - fixedBytes) % recordBytes != 0) revert BadPublicData();
        return Cursor(uint64(counters >> 64), 0, (counters >> 192) & type(uint56).max, 0, 0, uint64(counters) + 1);
    }

    /// Whole non-zero units below 2^40, the contract's balance below 2^64 units, not in exodus.
    function _depositAmount() private view returns (uint256 amount) {
        if (exodusActive()) revert ExodusActive();
        amount = msg.value / amountUnit;
        if (msg.value % amountUnit != 0 || amount == 0 || amount >= AMOUNT_LIMIT) revert BadAmount(msg.value);
        if (address(this).balance / amountUnit >= BALANCE_LIMIT) revert BalanceCapExceeded();
    }

    /// Queue a top-up or a forced exit for an existing account; returns its deadline.
    function _enqueue(uint8 kind, uint256 accountIndex, uint256 amount) private returns (uint256 deadline) {
        uint256 tail = _tail;
        if (accountIndex >= uint64(tail >> 64)) revert UnknownAccount(accountIndex);
        uint256 qi = uint64(tail);
        deadline = block.number + forcedRequestWindow;
        queue[qi] = Request(msg.sender, uint40(amount), uint48(deadline), kind, accountIndex, 0);
        _tail = tail + 1;
    }

    /// True iff some record has an L1 entry (deposit, withdrawal, forced exit); reverts on an
    /// unknown record type. The common transfers-only batch stops here.
    function _scanRecords(bytes calldata publicData) private view returns (bool hasL1) {
        uint256 rb = recordBytes;
        uint256 start = indexBytes + 32;
        bool bad;
        assembly ("memory-safe") {
            let end := add(publicData.offset, publicData.length)
            for {
                let p := add(publicData.offset, start)
            } lt(p, end) {
                p := add(p, rb)
            } {
                let kind := byte(0, calldataload(p))
                bad := or(bad, gt(kind, 4))
                // bits 1, 3 and 4 of 0x1a: deposit, withdrawal, forced exit
                hasL1 := or(hasL1, and(shr(kind, 0x1a), 1))
            }
        }
        if (bad) revert UnknownRecordType();
    }

    /// Walk the records with an L1 entry: deposits and forced exits must be the queue's head,
    /// in order; withdrawals and forced exits are credited (undone by submitBatch's revert if
    /// the proof then fails). All feed the L1 digest.
    function _consumeL1(bytes calldata publicData, address[] calldata withdrawalAddresses, Cursor memory cur) private {
        uint256 ib = indexBytes;
        for (uint256 off = ib + 32; off < publicData.length; off += recordBytes) {
            uint256 kind = _read(publicData, off, 1);
            if (kind == NOOP || kind == TRANSFER) continue;
            uint256 amount = _read(publicData, off + 1 + 2 * ib, 5);
            if (kind == WITHDRAWAL) {
                if (cur.w >= withdrawalAddresses.length) revert WithdrawalListMismatch();
                address to = withdrawalAddresses[cur.w++];
                _credit(to, amount, cur.number);
                cur.digest = _hash(cur.digest, 0, 0, uint160(to));
            } else {
                _consumeHead(kind, _read(publicData, off + 1, ib), amount, cur);
            }
        }
        if (cur.w != withdrawalAddresses.length) revert WithdrawalListMismatch();
    }

    /// A deposit or forced-exit record against the queue head.
    function _consumeHead(uint256 kind, uint256 from, uint256 amount, Cursor memory cur) private {
        uint256 h = cur.head;
        Request storage e = queue[h];
        uint8 ek = e.kind;
        address sender = e.sender;
        if (kind == DEPOSIT) {
            bool fresh = ek == KIND_NEW_ACCOUNT;
            if (
                h >= cur.tail ||
                (!fresh && ek != KIND_TOP_UP) ||
                amount != e.amount ||
                from != (fresh ? cur.accounts : e.x)
            ) revert DepositMismatch(h);
            if (fresh) {
                cur.digest = _hash(cur.digest, e.x, e.y, uint160(sender));
                ++cur.accounts;
            } else {
                cur.digest = _hash(cur.digest, 0, 0, uint160(sender));
            }
        } else {
            if (h >= cur.tail || ek != KIND_FORCED_EXIT || from != e.x) revert ForcedExitMismatch(h);
            if (amount != 0) _credit(sender, amount, cur.number);
            cur.digest = _hash(cur.digest, 0, 0, uint160(sender));
        }
        cur.head = h + 1;
    }

    function _credit(address to, uint256 amount, uint256 number) private {
        uint256 amountWei = amount * amountUnit;
        withdrawable[to] += amountWei;
        emit WithdrawalCredited(uint64(number), to, amountWei);
    }

    /// sha256(chainid u64 | address(this) | number u64 | oldRoot | newRoot | publicData) mod r,
    /// the message assembled in free memory (abi.encodePacked does the same with more copying).
    function _publicInput(
        uint256 batch,
        uint256 oldRoot,
        uint256 newRoot,
        bytes calldata publicData
    ) private view returns (uint256 input) {
        bool ok;
        assembly ("memory-safe") {
            let m := mload(0x40)
            mstore(m, shl(192, chainid()))
            mstore(add(m, 8), shl(96, address()))
            mstore(add(m, 28), shl(192, batch))
            mstore(add(m, 36), oldRoot)
            mstore(add(m, 68), newRoot)
            calldatacopy(add(m, 100), publicData.offset, publicData.length)
            ok := staticcall(gas(), 2, m, add(100, publicData.length), 0, 32)
            input := mod(mload(0), R)
        }
        if (!ok) revert HashFailed();
    }

    /// verifyProof(a, b, c, [input]) through snarkjs's ABI; the proof words are its first eight
    /// arguments as they stand. Only a 32-byte `true` counts (an account without code answers
    /// a call with nothing).
    function _verify(uint256[8] calldata proof, uint256 input) private view returns (bool valid) {
        address v = address(verifier);
        bytes4 selector = IVerifier.verifyProof.selector;
        assembly ("memory-safe") {
            let m := mload(0x40)
            mstore(m, selector)
            calldatacopy(add(m, 4), proof, 256)
            mstore(add(m, 260), input)
            let ok := staticcall(gas(), v, m, 292, m, 32)
            valid := and(and(ok, eq(returndatasize(), 32)), eq(mload(m), 1))
        }
    }

    function _hash(uint256 a, uint256 b, uint256 c, uint256 d) private view returns (uint256) {
        return _hashAt(address(poseidon), a, b, c, d);
    }

    /// Poseidon(a, b, c, d) by the PoseidonT5 contract at p (inputs already < r).
    function _hashAt(address p, uint256 a, uint256 b, uint256 c, uint256 d) private view returns (uint256 h) {
        bytes4 selector = IPoseidonT5.poseidon.selector;
        bool ok;
        assembly ("memory-safe") {
            let m := mload(0x40)
            mstore(m, selector)
            mstore(add(m, 4), a)
            mstore(add(m, 36), b)
            mstore(add(m, 68), c)
            mstore(add(m, 100), d)
            ok := staticcall(gas(), p, m, 132, m, 32)
            ok := and(ok, eq(returndatasize(), 32)) // after the call: Yul evaluates right to left
            h := mload(m)
        }
        if (!ok) revert HashFailed();
    }

    /// The root over `leaf` at `index` with 3 siblings per level (4-ary, digit = index mod 4).
    function _rootFromPath(uint256 leaf, uint256 index, uint256[] calldata s) private view returns (uint256 node) {
        node = leaf;
        for (uint256 i = 0; i < s.length; i += 3) {
            (uint256 s0, uint256 s1, uint256 s2) = (s[i], s[i + 1], s[i + 2]);
            if (s0 >= R || s1 >= R || s2 >= R) revert NotAFieldElement();
            uint256 digit = index & 3;
            index >>= 2;
            if (digit == 0) node = _hash(node, s0, s1, s2);
            else if (digit == 1) node = _hash(s0, node, s1, s2);
            else if (digit == 2) node = _hash(s0, s1, node, s2);
            else node = _hash(s0, s1, s2, node);
        }
    }

    /// A usable Baby Jubjub key: coordinates < r, on the curve, and 8P != O (P is not one of
    /// the 8 points of small order, whose discrete log any signer could fake).
    function _checkKey(uint256 x, uint256 y) private pure {
        if (x >= R || y >= R) revert NotAFieldElement();
        uint256 xx = mulmod(x, x, R);
        uint256 yy = mulmod(y, y, R);
        uint256 lhs = addmod(mulmod(BJJ_A, xx, R), yy, R);
        uint256 rhs = addmod(1, mulmod(BJJ_D, mulmod(xx, yy, R), R), R);
        if (lhs != rhs) revert KeyNotOnCurve();
        // Three doublings in projective coordinates (complete: a is a square, d is not).
        uint256 z = 1;
        for (uint256 i = 0; i < 3; ++i) (x, y, z) = _double(x, y, z);
        if (x == 0 && y == z) revert KeySmallOrder();
    }

    /// Projective twisted-Edwards doubling (Bernstein et al. 2008, dbl-2008-bbjlp).
    function _double(uint256 x, uint256 y, uint256 z) private pure returns (uint256, uint256, uint256) {
        uint256 b = mulmod(addmod(x, y, R), addmod(x, y, R), R);
        uint256 c = mulmod(x, x, R);
        uint256 d = mulmod(y, y, R);
        uint256 e = mulmod(BJJ_A, c, R);
        uint256 f = addmod(e, d, R);
        uint256 j = addmod(f, R - mulmod(2, mulmod(z, z, R), R), R);
        uint256 x3 = mulmod(addmod(b, R - addmod(c, d, R), R), j, R);
        uint256 y3 = mulmod(f, addmod(e, R - d, R), R);
        return (x3, y3, mulmod(f, j, R));
    }

    function _checkVerifyingKey(VerifyingKey memory vk) private view {
        if (vk.ic.length != 2) revert BadVerifyingKey("IC must hold exactly 2 points (one public input)");
        _checkG1(vk.alpha1, "alpha1", false);
        _checkG1(vk.ic[0], "IC[0]", true);
        _checkG1(vk.ic[1], "IC[1]", true);
        _checkG2(vk.beta2, "beta2");
        _checkG2(vk.gamma2, "gamma2");
        _checkG2(vk.delta2, "delta2");
        if (keccak256(abi.encode(vk.gamma2)) == keccak256(abi.encode(vk.delta2))) {
            // then C = -vk_x, A = alpha1, B = beta2 verifies any input
            revert BadVerifyingKey("gamma2 equals delta2");
        }
    }

    function _checkG1(uint256[2] memory pt, string memory name, bool infinityAllowed) private pure {
        (uint256 x, uint256 y) = (pt[0], pt[1]);
        if (x == 0 && y == 0) {
            if (infinityAllowed) return;
            revert BadVerifyingKey(string.concat(name, " at infinity"));
        }
        if (x >= Q || y >= Q || mulmod(y, y, Q) != addmod(mulmod(mulmod(x, x, Q), x, Q), 3, Q)) {
            revert BadVerifyingKey(string.concat(name, " not on the curve"));
        }
    }

    /// ecPairing refuses a G2 point off the twist or outside the subgroup, even when its G1
    /// partner is the point at infinity, and it reads all zeros as infinity.
    function _checkG2(uint256[2][2] memory pt, string memory name) private view {
        if (pt[0][0] == 0 && pt[0][1] == 0 && pt[1][0] == 0 && pt[1][1] == 0) {
            revert BadVerifyingKey(string.concat(name, " at infinity"));
        }
        bytes memory input = abi.encode(uint256(0), uint256(0), pt);
        (bool ok, bytes memory out) = address(8).staticcall(input);
        if (!ok || out.length != 32) revert BadVerifyingKey(string.concat(name, " not in G2"));
    }

    /// The constant forgery A = alpha1, B = beta2, C = infinity makes the pairing product
    /// e(vk_x, gamma2): a verifier that accepts it has gamma2 (or vk_x) at infinity.
    function _probeVerifier(IVerifier v, VerifyingKey memory vk) private view {
        bytes memory call = abi.encodeCall(
            IVerifier.verifyProof,
            (vk.alpha1, vk.beta2, [uint256(0), uint256(0)], [uint256(1)])
        );
        (bool ok, bytes memory out) = address(v).staticcall(call);
        if (ok && out.length == 32 && abi.decode(out, (uint256)) == 1) {
            revert BadVerifyingKey("verifier accepts the constant forgery");
        }
    }

    function _onlyAdmin() private view {
        if (msg.sender != admin) revert NotAdmin(msg.sender);
    }

    function _ready(uint256 eta) private view {
        if (eta == 0) revert NoPendingChange();
        if (block.number < eta) revert ChangeNotReady(eta);
    }

    /// Big-endian unsigned integer of `width` (1..32) bytes at `offset` of `data` (in bounds).
    function _read(bytes calldata data, uint256 offset, uint256 width) private pure returns (uint256 v) {
        assembly ("memory-safe") {
            v := shr(sub(256, mul(width, 8)), calldataload(add(data.offset, offset)))
        }
    }
}
