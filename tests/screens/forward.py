"""A test double of `ssh -L /tmp/local.sock:/run/arbctl/engine.sock host`.

What the console sees of an SSH-forwarded socket is a Unix socket at a path of its own
that relays bytes, both ways, to the engine's socket; connecting to it reaches the engine,
but SO_PEERCRED names the relay, not the engine, and the engine's `status` names its own
path, not ours. This relay reproduces exactly that, in a thread, with nothing to install
(no sshd on the test machines). One relay thread pair per connection; closed at exit.
"""

from __future__ import annotations

import contextlib
import socket
import socketserver
import threading
from pathlib import Path
from types import TracebackType


def _pipe(source: socket.socket, sink: socket.socket) -> None:
    with contextlib.suppress(OSError):
        while chunk := source.recv(65536):
            sink.sendall(chunk)
    with contextlib.suppress(OSError):
        sink.shutdown(socket.SHUT_WR)


class _Relay(socketserver.BaseRequestHandler):
    server: _Server

    def handle(self) -> None:
        upstream = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            upstream.connect(str(self.server.target))
        except OSError:
            upstream.close()
            return  # like ssh: the local connection is accepted, then closed
        back = threading.Thread(target=_pipe, args=(upstream, self.request), daemon=True)
        back.start()
        _pipe(self.request, upstream)
        back.join()
        upstream.close()


class _Server(socketserver.ThreadingUnixStreamServer):
    daemon_threads = True
    target: Path


class Forward:
    """`with Forward(local, target):` — `local` relays to `target` until the block ends."""

    def __init__(self, local: Path, target: Path) -> None:
        self.local = local
        self._server = _Server(str(local), _Relay)
        self._server.target = target
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def __enter__(self) -> Forward:
        self._thread.start()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._server.shutdown()
        self._server.server_close()
        self.local.unlink(missing_ok=True)
