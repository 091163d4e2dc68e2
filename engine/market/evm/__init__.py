"""The `evm` venue: trading on a real EVM chain (a local anvil devnet or a live network).

`venue.EvmVenue` is the entry point; the other modules are its parts (see its docstring).
Plain JSON-RPC over aiohttp/websockets with eth_abi encoding: no web3 on the trading path.
"""
