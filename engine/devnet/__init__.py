"""Local chain tooling: a throw-away EVM world for development and tests.

anvil, the Uniswap V2 contracts and the Solidity compiler all come from npm packages
installed into a per-user cache on first use (`npm`), so nothing third-party is ever
committed. Our own contracts (`contracts/*.sol`) are compiled offline with solcjs
(`compile`), and `deploy` builds the world the engine trades against: WETH9, test
tokens, two Uniswap V2 deployments with slightly different prices, and the executor.

Only web3-free modules sit on the paths of `devnet status`, `down` and `trade` (`anvil`,
`status`, `noise` use plain JSON-RPC; `batch_call` encodes with the venue's
`engine.market.evm.abi.calldata`); web3 is imported
by `deploy` and `chain` only, which `devnet up` and the tests need.
"""
