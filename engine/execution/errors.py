"""Why an opportunity was not sent. Not failures of the engine: the pipeline counts them.

An order that never left (gate shut, dry run reverted) costs nothing and is not a trade,
so it is neither booked nor fed to the guards' failed-trade rules.
"""

from __future__ import annotations

from engine.errors import ArbctlError


class ExecutionError(ArbctlError):
    """Execution refused or could not do what was asked; the message says why."""


class NotSent(ExecutionError):
    """The order was deliberately not signed or sent."""
