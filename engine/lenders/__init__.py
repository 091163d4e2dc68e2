"""Lenders: who funds a cycle's input, at what fee, and failover among them.

`sources` holds the configured flash-liquidity sources (`[[providers]]` of kind
`liquidity`). Their health and the choice of the active one are the shared provider
model (engine/providers/), so a lender is down, pinned or marked offline exactly as an
RPC endpoint is. The approval chain (engine/approval.py) asks the active lender before
the guards; this folder knows nothing of the guards, the pipeline or the wire.
"""
