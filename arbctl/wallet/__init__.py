"""Wallet operations for the operator's signing key: create one, rotate a compromised one.

These modules import eth_keys, eth_account and web3 at the top: they are loaded only by
`arbctl wallet …` inside its command functions, never on the path of a plain command.
A private key never leaves `keys.create_key_file` (written to a 0600 file, the address
returned) or `engine.execution.signer.Signer` (which signs and shows only its address).
"""
