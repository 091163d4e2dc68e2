"""The root of every error arbctl raises on purpose: `except ArbctlError` catches ours.

Each part has one subclass of it (configuration, protocol, ledger, market, execution,
client, …) and its own errors under that, so a caller can catch a whole part at once and a
name never means two things. Errors from libraries (OSError, asyncpg's, web3's) are not
re-parented: they are caught at the part's edge and turned into the part's own error where
a caller has something to decide.

Stdlib only: the command line imports it on every path.
"""

from __future__ import annotations


class ArbctlError(Exception):
    """Something arbctl refused or could not do, said in words an operator can act on."""
