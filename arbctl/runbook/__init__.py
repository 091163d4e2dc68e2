"""The operations runbooks as code: checklists, triage, reports and incident write-ups.

Each procedure here is the runbook's manual step list turned into calls of what already
exists: the engine's socket methods (status, health, metrics, alerts, guards, pnl,
reconcile, export.trades, audit) and, when the engine does not answer, the files in its
state directory (halt marker, pid file, JSON logs, the SQLite ledger's last snapshot).
Nothing here imports the engine, web3, textual or numpy: these commands are run over SSH
at 3 a.m., often exactly when the engine is in trouble.
"""
