"""Failover as the operator steers and watches it: the provider sets by kind, and events.

`sets` holds the RPC endpoints and the lenders by kind (`ProviderSets`): lookups, pins
that survive a restart, and the choice handed back to the engine; the `providers`,
`failover` and `providers.mark` socket methods (engine/control/methods/providers.py)
read and steer them. `watch` publishes every switch and status change on the `provider`
topic and records the pinned provider's pause as a guard trigger. The health and the
choice themselves are engine/providers/, below the market; this folder sits above the
market, the guards and the lenders it reads.
"""
