"""Providers: the health and the choice of the one in use, for any set of them.

One health model (`health`) and one chooser (`selector`, with a breaker per provider)
serve the simulated and evm venues' RPC endpoints and the lenders (engine/lenders/), so
"down", "failover" and "pinned" mean the same thing on every screen. What they report
is typed: a `ProviderStatus` per provider, a `Selection` per set. This folder sits below
the market and imports nothing of the engine but itself, so venues use it without a
cycle; the sets the operator steers (pins, failover events, the pin's trigger) are
engine/failover/, above.
"""
