"""Accounting: the evening checklist's export and reconciliation, and ledger upkeep.

`export` turns ledger trades into CSV rows, `reconcile` compares the ledger with the
wallet, `backup` knows how each backend is copied, and `methods` serves all of it on the
control socket. The engine owns the ledger connection, so these run inside it.
"""
