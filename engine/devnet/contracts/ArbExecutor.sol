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
/// Fees: every hop is priced at 30 bps (997/1000), the fee of stock Uniswap V2, which both
/// devnet factories ("uniswap" and "sushiswap") are. A fork with another fee would need a
/// per-factory fee here, matching `fee_bps` in the engine's config.
contract ArbExecutor {
    uint256 private constant FEE_NUMERATOR = 997;
    uint256 private constant FEE_DENOMINATOR = 1000;

    address public immutable owner;
    address[] private _factories;

    /// Profit of the execution in progress, handed from the callback back to `execute`.
    uint256 private transient _profit;

    event Executed(address indexed tokenIn, uint256 amountIn, uint256 profit, uint256 hops);

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

    /// @return profit tokenIn sent to the owner (so an `eth_call` quotes the exact profit).
    function execute(address[] calldata pairs, address tokenIn, uint256 amountIn, uint256 minProfit)
        external
        onlyOwner
        returns (uint256 profit)
    {
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
