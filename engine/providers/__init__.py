"""Providers: RPC endpoints and flash-liquidity sources, their health, and which one is used.

One health model (`health`) and one chooser (`selector`) serve the simulated venue, the
evm venue and the liquidity sources, so "down", "failover" and "pinned" mean the same
thing on every screen. `methods` is the operator's side: the `providers`, `failover` and
`providers.mark` socket methods, audited and evented on the `provider` topic.
"""
