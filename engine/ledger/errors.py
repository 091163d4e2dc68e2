"""The ledger's errors: one base, so a caller can catch "the books failed" at once.

`LedgerUnavailable` (store.py: the database cannot be reached or refused a write; the
caller keeps its rows) and `MigrationError` (migrations.py: the schema files and the
database disagree) are its children. Stdlib only.
"""

from __future__ import annotations

from engine.errors import ArbctlError


class LedgerError(ArbctlError):
    """The ledger could not record or read what was asked; the message says which."""
