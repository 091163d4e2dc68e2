"""Exit codes, one meaning each, so scripts and monitoring can branch on them.

`health` follows the monitoring convention (0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN);
the other commands reuse the same numbers where the meaning lines up, so "3" always
means "no engine answered" whichever command a script ran.
"""

from __future__ import annotations

OK = 0
FAILED = 1  # the engine refused (invalid state, not found, bad params), or a check failed
USAGE = 2  # bad or missing options (also health CRITICAL)
UNREACHABLE = 3  # no engine answered on the socket (also health UNKNOWN)
ALREADY_RUNNING = 4  # `up`: an engine already owns the socket

HEALTH_CODES = {"OK": 0, "WARNING": 1, "CRITICAL": 2, "UNKNOWN": 3}

# Appended to every command's --help so the meaning is one keystroke away.
