"""systemd's notify protocol (READY=1, STATUS=…, WATCHDOG=1), without a dependency.

It is one datagram to the socket named by NOTIFY_SOCKET ('@' means the abstract
namespace). Failures are logged once and otherwise ignored: supervision must never
be the thing that stops the engine.
"""

from __future__ import annotations

import logging
import os
import socket

log = logging.getLogger("arbctl.sdnotify")


class Notifier:
    def __init__(self, address: str | None = None) -> None:
        address = address if address is not None else os.environ.get("NOTIFY_SOCKET", "")
        if address.startswith("@"):
            address = "\0" + address[1:]
        self._address = address
        self._warned = False

    @property
    def enabled(self) -> bool:
        return bool(self._address)

    def watchdog_interval(self) -> float | None:
        """Half of WATCHDOG_USEC, as systemd recommends; None when no watchdog is asked."""
        usec = os.environ.get("WATCHDOG_USEC")
        pid = os.environ.get("WATCHDOG_PID")
        if not usec or (pid and pid != str(os.getpid())):
            return None
        try:
            return int(usec) / 2_000_000
        except ValueError:
            return None

    def notify(self, **fields: str) -> None:
        if not self._address:
            return
        payload = "\n".join(f"{k.upper()}={v}" for k, v in fields.items()).encode()
        try:
            with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
                sock.sendto(payload, self._address)
        except OSError as exc:
            if not self._warned:
                log.warning("sd_notify to %r failed: %s", self._address, exc)
                self._warned = True

    def ready(self, status: str) -> None:
        self.notify(ready="1", status=status, mainpid=str(os.getpid()))

    def status(self, status: str) -> None:
        self.notify(status=status)

    def watchdog(self) -> None:
        self.notify(watchdog="1")

    def stopping(self) -> None:
        self.notify(stopping="1")
