// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

interface IUniswapV2Factory {
    function getPair(address tokenA, address tokenB) external view returns (address);
}

interface IUniswapV2Pair {
    function token0() external view returns (address);
    function token1() external view returns (address);
    function getReserves() external view returns (uint112, uint112, uint32);
    function swap(uint256 amount0Out, uint256 amount1Out, address to, bytes calldata data) external;
}

interface IERC20Minimal {
    function balanceOf(address account) external view returns (uint256);
    function transfer(address to, uint256 amount) external returns (bool);
    function approve(address spender, uint256 amount) external returns (bool);
    function allowance(address owner, address spender) external view returns (uint256);
}

interface IUniswapV3Pool {
    function token0() external view returns (address);
    function token1() external view returns (address);
    function fee() external view returns (uint24);
    function swap(address recipient, bool zeroForOne, int256 amountSpecified, uint160 sqrtPriceLimitX96, bytes calldata data)
        external
        returns (int256 amount0, int256 amount1);
    function flash(address recipient, uint256 amount0, uint256 amount1, bytes calldata data) external;
}

interface IBalancerVault {
    function flashLoan(address recipient, address[] calldata tokens, uint256[] calldata amounts, bytes calldata userData)
        external;
}

interface IAavePool {
    function flashLoanSimple(address receiver, address asset, uint256 amount, bytes calldata params, uint16 referralCode)
        external;
}

/// @title ArbExecutor
/// @notice Executes a cyclic arbitrage across Uniswap V2 pairs with no capital of its own.
///
/// Route encoding: `pairs` is the ordered list of pair addresses of a cycle that starts and
/// ends at `tokenIn`; hop i sells the output of hop i-1 into `pairs[i]`. The first pair lends:
/// it is flash-swapped for the output of `amountIn` tokenIn, the remaining hops are swapped
/// directly on the pairs (each hop's output is sent straight to the next pair), and the first
/// pair is repaid with exactly `amountIn` of tokenIn. Whatever is left is the profit, which
/// goes to the owner; if it is below `minProfit` everything reverts. A pair may appear only
/// once (the lending pair is locked while the callback runs).
///
/// Fees: `execute` prices every hop at 30 bps (997/1000), the fee of stock Uniswap V2.
///
/// `run` is the general entry: any mix of V2 hops (each with its own fee, for forks) and
/// Uniswap V3 hops, with the input taken from a lender chosen per call — the executor's
/// own inventory (no loan), a Uniswap V3 pool's `flash`, the Balancer V2 Vault's
/// `flashLoan` or the Aave V3 Pool's `flashLoanSimple` — each repaid with the fee that
/// lender charges. Safety, as an attacker would probe it:
///   - only the owner runs, executes, withdraws and pauses;
///   - every callback is accepted only while our own `run` is in progress (a transient
///     lock) and only from the one contract we are calling at that moment (recorded in
///     transient storage just before the call), so a foreign call or a flash loan someone
///     else starts with this contract as receiver reverts;
///   - V2 pairs must come from an allowed V2 factory (`getPair`), V3 pools from an allowed
///     V3 factory (CREATE2 address from factory + init code hash), lenders from the
///     allowlist; nothing is approved except Aave's exact repayment, which it pulls.
contract ArbExecutor {
    uint8 public constant HOP_V2 = 0;
    uint8 public constant HOP_V3 = 1;
    uint8 public constant LOAN_NONE = 0;
    uint8 public constant LOAN_V3_FLASH = 1;
    uint8 public constant LOAN_BALANCER = 2;
    uint8 public constant LOAN_AAVE = 3;
    uint160 private constant MIN_SQRT_RATIO_PLUS_ONE = 4295128740;
    uint160 private constant MAX_SQRT_RATIO_MINUS_ONE = 1461446703485210103287273052203988822378723970341;

    /// One hop: sell the running amount into `pool`, receiving `tokenOut`.
    struct Hop {
        uint8 kind; // HOP_V2 or HOP_V3
        address pool;
        address tokenOut;
        uint16 feeBps; // V2 only: the pair's fee (30 for stock Uniswap V2)
    }

    struct V3Factory {
        address factory;
        bytes32 initCodeHash;
    }

    V3Factory[] private _v3Factories;
    mapping(address => bool) public isLender;
    bool public paused;

    /// Set for the duration of `run`: callbacks are refused outside it.
    bool private transient _running;
    /// The lender we asked for a loan, and the V3 pool we are swapping on right now.
    address private transient _lender;
    address private transient _swapPool;
    uint256 private constant FEE_NUMERATOR = 997;
    uint256 private constant FEE_DENOMINATOR = 1000;

    address public immutable owner;
    address[] private _factories;

    /// Profit of the execution in progress, handed from the callback back to `execute`.
    uint256 private transient _profit;

    event Executed(address indexed tokenIn, uint256 amountIn, uint256 profit, uint256 hops);
    event Ran(address indexed tokenIn, uint256 amountIn, uint256 profit, uint256 hops, uint8 loan, address lender);
    event Paused(bool paused);
    event LenderAllowed(address indexed lender, bool allowed);
    event V3FactoryAllowed(address indexed factory, bytes32 initCodeHash);

    modifier onlyOwner() {
        require(msg.sender == owner, "ArbExecutor: caller is not the owner");
        _;
    }

    constructor(address owner_, address[] memory factories_) {
        require(owner_ != address(0), "ArbExecutor: zero owner");
        require(factories_.length > 0, "ArbExecutor: no factories");
        owner = owner_;
        _factories = factories_;
    }

    function factories() external view returns (address[] memory) {
        return _factories;
    }

    function v3Factories() external view returns (V3Factory[] memory) {
        return _v3Factories;
    }

    function allowV3Factory(address factory, bytes32 initCodeHash) external onlyOwner {
        require(factory != address(0), "ArbExecutor: zero factory");
        _v3Factories.push(V3Factory(factory, initCodeHash));
        emit V3FactoryAllowed(factory, initCodeHash);
    }

    function setLender(address lender, bool allowed) external onlyOwner {
        isLender[lender] = allowed;
        emit LenderAllowed(lender, allowed);
    }

    function setPaused(bool paused_) external onlyOwner {
        paused = paused_;
        emit Paused(paused_);
    }

    /// The general route: `hops` from `tokenIn` back to `tokenIn`, the input from `loan`.
    /// @return profit tokenIn sent to the owner after the lender's fee.
    function run(Hop[] calldata hops, address tokenIn, uint256 amountIn, uint256 minProfit, uint8 loan, address lender)
        external
        onlyOwner
        returns (uint256 profit)
    {
        require(!paused, "ArbExecutor: paused");
        require(!_running, "ArbExecutor: re-entered");
        require(hops.length >= 2, "ArbExecutor: route needs at least two hops");
        require(amountIn > 0, "ArbExecutor: zero amountIn");
        require(hops[hops.length - 1].tokenOut == tokenIn, "ArbExecutor: route does not return to tokenIn");
        _running = true;
        bytes memory data = abi.encode(hops, tokenIn, amountIn, minProfit);
        if (loan == LOAN_NONE) {
            require(IERC20Minimal(tokenIn).balanceOf(address(this)) >= amountIn, "ArbExecutor: inventory short");
            _settle(hops, tokenIn, amountIn, minProfit, 0, address(0));
        } else {
            _borrow(loan, lender, tokenIn, amountIn, data);
        }
        profit = _profit;
        _running = false;
        emit Ran(tokenIn, amountIn, profit, hops.length, loan, lender);
    }

    function _borrow(uint8 loan, address lender, address tokenIn, uint256 amountIn, bytes memory data) private {
        _lender = lender;
        if (loan == LOAN_V3_FLASH) {
            require(_isKnownV3Pool(lender), "ArbExecutor: lender is not a known V3 pool");
            bool zero = IUniswapV3Pool(lender).token0() == tokenIn;
            require(zero || IUniswapV3Pool(lender).token1() == tokenIn, "ArbExecutor: lender pool lacks tokenIn");
            IUniswapV3Pool(lender).flash(address(this), zero ? amountIn : 0, zero ? 0 : amountIn, data);
        } else if (loan == LOAN_BALANCER) {
            require(isLender[lender], "ArbExecutor: lender not allowed");
            address[] memory tokens = new address[](1);
            uint256[] memory amounts = new uint256[](1);
            (tokens[0], amounts[0]) = (tokenIn, amountIn);
            IBalancerVault(lender).flashLoan(address(this), tokens, amounts, data);
        } else if (loan == LOAN_AAVE) {
            require(isLender[lender], "ArbExecutor: lender not allowed");
            IAavePool(lender).flashLoanSimple(address(this), tokenIn, amountIn, data, 0);
            require(IERC20Minimal(tokenIn).allowance(address(this), lender) == 0, "ArbExecutor: allowance left");
        } else {
            revert("ArbExecutor: unknown loan source");
        }
    }

    /// Uniswap V3 `flash` callback: only the pool we asked, only during our run.
    function uniswapV3FlashCallback(uint256 fee0, uint256 fee1, bytes calldata data) external {
        _requireLender();
        (Hop[] memory hops, address tokenIn, uint256 amountIn, uint256 minProfit) = _decode(data);
        _settle(hops, tokenIn, amountIn, minProfit, fee0 + fee1, msg.sender);
    }

    /// Balancer V2 Vault `flashLoan` callback.
    function receiveFlashLoan(address[] calldata, uint256[] calldata, uint256[] calldata fees, bytes calldata data)
        external
    {
        _requireLender();
        (Hop[] memory hops, address tokenIn, uint256 amountIn, uint256 minProfit) = _decode(data);
        _settle(hops, tokenIn, amountIn, minProfit, fees[0], msg.sender);
    }

    /// Aave V3 Pool `flashLoanSimple` callback: repaid by the pool pulling an exact approval.
    function executeOperation(address, uint256, uint256 premium, address initiator, bytes calldata data)
        external
        returns (bool)
    {
        _requireLender();
        require(initiator == address(this), "ArbExecutor: loan not initiated by this contract");
        (Hop[] memory hops, address tokenIn, uint256 amountIn, uint256 minProfit) = _decode(data);
        _settle(hops, tokenIn, amountIn, minProfit, premium, address(0));
        IERC20Minimal(tokenIn).approve(msg.sender, amountIn + premium);
        return true;
    }

    /// Uniswap V3 `swap` callback: pay the pool we are swapping on what it is owed.
    function uniswapV3SwapCallback(int256 amount0Delta, int256 amount1Delta, bytes calldata data) external {
        require(_running && _swapPool != address(0) && msg.sender == _swapPool, "ArbExecutor: unexpected callback");
        address tokenIn = abi.decode(data, (address));
        uint256 owed = uint256(amount0Delta > 0 ? amount0Delta : amount1Delta);
        _safeTransfer(tokenIn, msg.sender, owed);
    }

    function _requireLender() private view {
        require(_running && _lender != address(0) && msg.sender == _lender, "ArbExecutor: unexpected callback");
    }

    function _decode(bytes calldata data) private pure returns (Hop[] memory, address, uint256, uint256) {
        return abi.decode(data, (Hop[], address, uint256, uint256));
    }

    /// Run the hops on `amountIn`, repay `amountIn + fee` to `repayTo` (none: the lender
    /// pulls, or it was our own inventory) and send the profit to the owner.
    function _settle(Hop[] memory hops, address tokenIn, uint256 amountIn, uint256 minProfit, uint256 fee, address repayTo)
        private
    {
        uint256 amountOut = _runHops(hops, tokenIn, amountIn);
        uint256 owed = amountIn + fee;
        if (amountOut < owed || amountOut - owed < minProfit) {
            revert("ArbExecutor: profit below minimum");
        }
        if (repayTo != address(0)) {
            _safeTransfer(tokenIn, repayTo, owed);
        }
        uint256 profit = amountOut - owed;
        if (profit > 0) {
            _safeTransfer(tokenIn, owner, profit);
        }
        _profit = profit;
    }

    function _runHops(Hop[] memory hops, address token, uint256 amount) private returns (uint256) {
        for (uint256 i = 0; i < hops.length; i++) {
            Hop memory hop = hops[i];
            if (hop.kind == HOP_V2) {
                amount = _hopV2(hop, token, amount);
            } else if (hop.kind == HOP_V3) {
                amount = _hopV3(hop, token, amount);
            } else {
                revert("ArbExecutor: unknown hop kind");
            }
            token = hop.tokenOut;
        }
        return amount;
    }

    function _hopV2(Hop memory hop, address tokenIn, uint256 amountIn) private returns (uint256 out) {
        require(_isKnownPair(hop.pool), "ArbExecutor: pair is not from an allowed factory");
        require(hop.feeBps < 10_000, "ArbExecutor: bad fee");
        bool zeroForOne = tokenIn < hop.tokenOut;
        (uint256 reserve0, uint256 reserve1,) = IUniswapV2Pair(hop.pool).getReserves();
        (uint256 reserveIn, uint256 reserveOut) = zeroForOne ? (reserve0, reserve1) : (reserve1, reserve0);
        uint256 withFee = amountIn * (10_000 - hop.feeBps);
        out = (withFee * reserveOut) / (reserveIn * 10_000 + withFee);
        require(out > 0, "ArbExecutor: zero output");
        _safeTransfer(tokenIn, hop.pool, amountIn);
        (uint256 out0, uint256 out1) = zeroForOne ? (uint256(0), out) : (out, uint256(0));
        IUniswapV2Pair(hop.pool).swap(out0, out1, address(this), new bytes(0));
    }

    function _hopV3(Hop memory hop, address tokenIn, uint256 amountIn) private returns (uint256) {
        require(_isKnownV3Pool(hop.pool), "ArbExecutor: pool is not a known V3 pool");
        require(amountIn <= uint256(type(int256).max), "ArbExecutor: amount too large");
        bool zeroForOne = tokenIn < hop.tokenOut;
        _swapPool = hop.pool;
        (int256 amount0, int256 amount1) = IUniswapV3Pool(hop.pool).swap(
            address(this),
            zeroForOne,
            int256(amountIn),
            zeroForOne ? MIN_SQRT_RATIO_PLUS_ONE : MAX_SQRT_RATIO_MINUS_ONE,
            abi.encode(tokenIn)
        );
        _swapPool = address(0);
        int256 received = zeroForOne ? -amount1 : -amount0;
        require(received > 0, "ArbExecutor: zero output");
        return uint256(received);
    }

    /// A V3 pool is trusted only at the CREATE2 address an allowed factory gives its
    /// tokens and fee (the pool's own answers are only used to compute that address).
    function _isKnownV3Pool(address candidate) private view returns (bool) {
        if (candidate.code.length == 0) {
            return false;
        }
        (bool ok0, bytes memory r0) = candidate.staticcall(abi.encodeWithSelector(IUniswapV3Pool.token0.selector));
        (bool ok1, bytes memory r1) = candidate.staticcall(abi.encodeWithSelector(IUniswapV3Pool.token1.selector));
        (bool ok2, bytes memory r2) = candidate.staticcall(abi.encodeWithSelector(IUniswapV3Pool.fee.selector));
        if (!ok0 || !ok1 || !ok2 || r0.length != 32 || r1.length != 32 || r2.length != 32) {
            return false;
        }
        bytes32 salt = keccak256(abi.encode(abi.decode(r0, (address)), abi.decode(r1, (address)), abi.decode(r2, (uint24))));
        uint256 count = _v3Factories.length;
        for (uint256 i = 0; i < count; i++) {
            V3Factory memory f = _v3Factories[i];
            bytes32 digest = keccak256(abi.encodePacked(hex"ff", f.factory, salt, f.initCodeHash));
            if (address(uint160(uint256(digest))) == candidate) {
                return true;
            }
        }
        return false;
    }

    /// @return profit tokenIn sent to the owner (so an `eth_call` quotes the exact profit).
    function execute(address[] calldata pairs, address tokenIn, uint256 amountIn, uint256 minProfit)
        external
        onlyOwner
        returns (uint256 profit)
    {
        require(!paused, "ArbExecutor: paused");
        require(pairs.length >= 2, "ArbExecutor: route needs at least two pairs");
        require(amountIn > 0, "ArbExecutor: zero amountIn");
        (uint256 amountOut, bool zeroForOne,) = _quote(pairs[0], tokenIn, amountIn);
        (uint256 amount0Out, uint256 amount1Out) = zeroForOne ? (uint256(0), amountOut) : (amountOut, uint256(0));
        bytes memory data = abi.encode(pairs, tokenIn, amountIn, minProfit);
        IUniswapV2Pair(pairs[0]).swap(amount0Out, amount1Out, address(this), data);
        profit = _profit;
        emit Executed(tokenIn, amountIn, profit, pairs.length);
    }

    /// Flash-swap callback of the lending pair: runs the rest of the route and repays it.
    function uniswapV2Call(address sender, uint256 amount0, uint256 amount1, bytes calldata data) external {
        require(_isKnownPair(msg.sender), "ArbExecutor: caller is not a known pair");
        require(sender == address(this), "ArbExecutor: swap not initiated by this contract");
        (address[] memory pairs, address tokenIn, uint256 amountIn, uint256 minProfit) =
            abi.decode(data, (address[], address, uint256, uint256));
        require(pairs[0] == msg.sender, "ArbExecutor: callback from an unexpected pair");

        address borrowed = amount0 > 0 ? IUniswapV2Pair(msg.sender).token0() : IUniswapV2Pair(msg.sender).token1();
        (address tokenOut, uint256 amountOut) = _swapAlong(pairs, borrowed, amount0 + amount1);
        require(tokenOut == tokenIn, "ArbExecutor: route does not return to tokenIn");
        if (amountOut < amountIn || amountOut - amountIn < minProfit) {
            revert("ArbExecutor: profit below minimum");
        }
        _safeTransfer(tokenIn, msg.sender, amountIn);
        uint256 profit = amountOut - amountIn;
        if (profit > 0) {
            _safeTransfer(tokenIn, owner, profit);
        }
        _profit = profit;
    }

    /// Sweeps a token balance left here (e.g. sent by mistake) to `to`.
    function withdraw(address token, address to) external onlyOwner returns (uint256 amount) {
        amount = IERC20Minimal(token).balanceOf(address(this));
        if (amount > 0) {
            _safeTransfer(token, to, amount);
        }
    }

    /// Hops 1..n-1: hop 1's input is here; every later input was sent to its pair directly.
    function _swapAlong(address[] memory pairs, address token, uint256 amount)
        private
        returns (address, uint256)
    {
        _safeTransfer(token, pairs[1], amount);
        uint256 last = pairs.length - 1;
        for (uint256 i = 1; i <= last; i++) {
            (uint256 out, bool zeroForOne, address next) = _quote(pairs[i], token, amount);
            address to = i == last ? address(this) : pairs[i + 1];
            (uint256 amount0Out, uint256 amount1Out) = zeroForOne ? (uint256(0), out) : (out, uint256(0));
            IUniswapV2Pair(pairs[i]).swap(amount0Out, amount1Out, to, new bytes(0));
            (token, amount) = (next, out);
        }
        return (token, amount);
    }

    /// Output of selling `amountIn` of `tokenIn` into `pair`, by UniswapV2Library.getAmountOut.
    function _quote(address pair, address tokenIn, uint256 amountIn)
        private
        view
        returns (uint256 amountOut, bool zeroForOne, address tokenOut)
    {
        address token0 = IUniswapV2Pair(pair).token0();
        address token1 = IUniswapV2Pair(pair).token1();
        zeroForOne = tokenIn == token0;
        require(zeroForOne || tokenIn == token1, "ArbExecutor: token not in pair");
        tokenOut = zeroForOne ? token1 : token0;
        (uint256 reserve0, uint256 reserve1,) = IUniswapV2Pair(pair).getReserves();
        (uint256 reserveIn, uint256 reserveOut) = zeroForOne ? (reserve0, reserve1) : (reserve1, reserve0);
        uint256 amountInWithFee = amountIn * FEE_NUMERATOR;
        amountOut = (amountInWithFee * reserveOut) / (reserveIn * FEE_DENOMINATOR + amountInWithFee);
        require(amountOut > 0, "ArbExecutor: zero output");
    }

    /// A pair is trusted only if one of our factories created it for its own two tokens.
    /// Low-level calls, so an EOA or arbitrary contract gets a clear revert, not a decode panic.
    function _isKnownPair(address candidate) private view returns (bool) {
        address token0 = _addressCall(candidate, IUniswapV2Pair.token0.selector);
        address token1 = _addressCall(candidate, IUniswapV2Pair.token1.selector);
        if (token0 == address(0) || token1 == address(0)) {
            return false;
        }
        uint256 count = _factories.length;
        for (uint256 i = 0; i < count; i++) {
            if (IUniswapV2Factory(_factories[i]).getPair(token0, token1) == candidate) {
                return true;
            }
        }
        return false;
    }

    function _addressCall(address target, bytes4 selector) private view returns (address) {
        (bool ok, bytes memory result) = target.staticcall(abi.encodeWithSelector(selector));
        if (!ok || result.length != 32) {
            return address(0);
        }
        return abi.decode(result, (address));
    }

    /// Accepts tokens that return nothing from `transfer` (USDT style) as well as `bool`.
    function _safeTransfer(address token, address to, uint256 amount) private {
        require(token.code.length > 0, "ArbExecutor: token is not a contract");
        (bool ok, bytes memory result) = token.call(abi.encodeWithSelector(IERC20Minimal.transfer.selector, to, amount));
        require(ok && (result.length == 0 || abi.decode(result, (bool))), "ArbExecutor: transfer failed");
    }
}
