"""The root of every error arbctl raises on purpose: `except ArbctlError` catches ours.

Each part has one subclass of it (configuration, protocol, ledger, market, execution,
client, …) and its own errors under that, so a caller can catch a whole part at once and a
name never means two things. Errors from libraries (OSError, asyncpg's, web3's) are not
re-parented: they are caught at the part's edge and turned into the part's own error where
a caller has something to decide.

The parts' bases, each defined in its part (tests/test_errors.py keeps every exception
class of engine/, arbctl/ and screens/ under this root, and every name unique):
  ConfigError (config.py) · ProtocolError (protocol.py) · LedgerError (ledger/errors.py)
  MarketError (market/errors.py: venues, the simulator, the AMM, nodes, pools, the sender)
  ExecutionError (execution/errors.py) · SelectionError (providers/selector.py)
  DevnetError (devnet/errors.py) · ClientError (arbctl/client/core.py)
  WalletError (arbctl/wallet/errors.py); single errors sit right under the root:
  InvalidTransition, LatchNotCleared, SocketInUse, NotQuiet, RedisDown, BreakerClosed, NoRedis.
Errors that callers catch as a builtin too keep it as a second base (`except ValueError`
still catches UniswapV2Error and SelectionError; `except RuntimeError` a DevnetError).

Stdlib only: the command line imports it on every path.
"""

from __future__ import annotations


class ArbctlError(Exception):
    """Something arbctl refused or could not do, said in words an operator can act on."""
