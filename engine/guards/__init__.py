"""Risk guards and the trading circuit breaker: the approval chain's guard seat.

`rules` (one number, one threshold each), `stats` (what trade rules measure), `breaker`
(CLOSED / OPEN / HALF_OPEN), `triggers` (events and ledger rows, coalesced),
`approver` (`Guards`: what the approval chain, engine/approval.py, calls), `gas` and
`methods` (the control socket).
docs/guards.md is the operator's table of rules.
"""
