"""Start, find and stop an anvil node, and talk to it in plain JSON-RPC.

anvil runs in its own session so it outlives `arbctl devnet up`; its pid, port and
process start time go into `anvil.json` in the state directory so `devnet down` and
`devnet status` (other processes) can find it, and so a recycled pid is never killed by
mistake. The JSON-RPC helper uses urllib rather than web3 because `status`/`down` must
not pay web3's import cost just to ask for a block number.
"""

from __future__ import annotations

import json
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import psutil

from engine.devnet.errors import DevnetError
from engine.devnet.npm import anvil_binary

CHAIN_ID = 31337
HANDLE_FILE = "anvil.json"
LOG_FILE = "anvil.log"
HOST = "127.0.0.1"


class AnvilError(DevnetError):
    """anvil did not start, answer or stop as expected."""


@dataclass(frozen=True, slots=True)
class AnvilHandle:
    """Enough to find the process again from another process."""

    pid: int
    port: int
    create_time: float  # psutil's process start time: guards against pid reuse
    binary: str
    log: str
    host: str = HOST

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"


def start(
    log_dir: Path,
    port: int | None = None,
    *,
    chain_id: int = CHAIN_ID,
    timeout: float = 30.0,
) -> AnvilHandle:
    """Start anvil on 127.0.0.1 and return once it answers `eth_chainId`.

    Without a port, a free one is picked; the pick can race with another process, so a
    start that dies early is retried on a fresh port.
    """
    if port is not None and not _port_free(port):
        raise AnvilError(f"port {port} on {HOST} is already in use")
    attempts = 1 if port is not None else 3
    last_error: AnvilError | None = None
    for _ in range(attempts):
        try:
            return _start_once(log_dir, port or free_port(), chain_id, timeout)
        except AnvilError as error:
            last_error = error
    assert last_error is not None
    raise last_error


def stop(handle: AnvilHandle, timeout: float = 10.0) -> bool:
    """Stop anvil: SIGTERM, then SIGKILL after `timeout`. False if it was not running."""
    process = _process(handle)
    if process is None:
        return False
    process.send_signal(signal.SIGTERM)
    if not _wait_gone(process, timeout):
        process.kill()
        _wait_gone(process, timeout)
    return True


def _wait_gone(process: psutil.Process, timeout: float) -> bool:
    """Wait for exit; a zombie counts as gone (its parent, maybe init, reaps it later)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if process.status() == psutil.STATUS_ZOMBIE:
                process.wait(0)  # reaps it if it is our own child; harmless otherwise
                return True
        except (psutil.NoSuchProcess, psutil.TimeoutExpired):
            return True
        time.sleep(0.01)
    return False


def is_running(handle: AnvilHandle) -> bool:
    return _process(handle) is not None


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((HOST, 0))
        return int(probe.getsockname()[1])


def _port_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((HOST, port))
        except OSError:
            return False
    return True


def write_handle(directory: Path, handle: AnvilHandle) -> Path:
    path = directory / HANDLE_FILE
    temporary = path.with_suffix(".tmp")
    temporary.write_text(json.dumps(asdict(handle), indent=2) + "\n")
    temporary.replace(path)
    return path


def read_handle(directory: Path) -> AnvilHandle | None:
    try:
        raw = json.loads((directory / HANDLE_FILE).read_text())
        return AnvilHandle(**raw)
    except (OSError, ValueError, TypeError):
        return None


def remove_handle(directory: Path) -> None:
    (directory / HANDLE_FILE).unlink(missing_ok=True)


def rpc(url: str, method: str, params: list[Any] | None = None, timeout: float = 10.0) -> Any:
    """One JSON-RPC call; raises AnvilError with the node's message on an error reply."""
    body = json.dumps({"jsonrpc": "2.0", "id": 1, "method": method, "params": params or []})
    request = urllib.request.Request(
        url, data=body.encode(), headers={"Content-Type": "application/json"}
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            reply = json.loads(response.read())
    except (OSError, ValueError) as error:
        raise AnvilError(f"{method} to {url} failed: {error}") from error
    if "error" in reply:
        raise AnvilError(f"{method} to {url} failed: {reply['error'].get('message')}")
    return reply.get("result")


def rpc_batch(url: str, calls: list[tuple[str, list[Any]]], timeout: float = 10.0) -> list[Any]:
    """Many JSON-RPC calls in one HTTP request; results in call order."""
    body = [
        {"jsonrpc": "2.0", "id": index, "method": method, "params": params}
        for index, (method, params) in enumerate(calls)
    ]
    request = urllib.request.Request(
        url, data=json.dumps(body).encode(), headers={"Content-Type": "application/json"}
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            replies = json.loads(response.read())
    except (OSError, ValueError) as error:
        raise AnvilError(f"batch of {len(calls)} calls to {url} failed: {error}") from error
    by_id = {reply.get("id"): reply for reply in replies}
    results = []
    for index, (method, _) in enumerate(calls):
        reply = by_id.get(index, {"error": {"message": "no reply"}})
        if "error" in reply:
            raise AnvilError(f"{method} to {url} failed: {reply['error'].get('message')}")
        results.append(reply.get("result"))
    return results


def set_automine(url: str, enabled: bool) -> None:
    """Off lets a test queue several transactions into one block; on mines each at once."""
    rpc(url, "evm_setAutomine", [enabled])


def mine(url: str, blocks: int = 1) -> None:
    """Mine now, including whatever automine-off left pending."""
    if blocks == 1:
        rpc(url, "evm_mine")
    else:
        rpc(url, "anvil_mine", [hex(blocks)])


def snapshot(url: str) -> str:
    return str(rpc(url, "evm_snapshot"))


def revert(url: str, snapshot_id: str) -> bool:
    return bool(rpc(url, "evm_revert", [snapshot_id]))


def _start_once(log_dir: Path, port: int, chain_id: int, timeout: float) -> AnvilHandle:
    binary = anvil_binary()
    log_path = log_dir / LOG_FILE
    command = [str(binary), "--host", HOST, "--port", str(port), "--chain-id", str(chain_id)]
    with log_path.open("wb") as log:  # one log per chain: a new start truncates
        process = subprocess.Popen(
            command,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # survives the CLI and its terminal's Ctrl-C
        )
    handle = AnvilHandle(
        pid=process.pid,
        port=port,
        create_time=psutil.Process(process.pid).create_time(),
        binary=str(binary),
        log=str(log_path),
    )
    try:
        _wait_ready(handle, process, chain_id, timeout)
    except AnvilError:
        _reap(process)
        raise
    return handle


def _wait_ready(
    handle: AnvilHandle, process: subprocess.Popen[bytes], chain_id: int, timeout: float
) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AnvilError(
                f"anvil exited with code {process.returncode} on port {handle.port}; "
                f"see {handle.log}:\n{_tail(Path(handle.log))}"
            )
        if not _listens(process.pid, handle.port):  # else a node already there would answer
            time.sleep(0.05)
            continue
        try:
            answered = int(rpc(handle.url, "eth_chainId", timeout=1.0), 16)
        except AnvilError:
            time.sleep(0.05)
            continue
        if answered != chain_id:
            raise AnvilError(f"{handle.url} answered chain id {answered}, expected {chain_id}")
        return
    raise AnvilError(f"anvil did not answer on {handle.url} within {timeout:.0f} s")


def _listens(pid: int, port: int) -> bool:
    try:
        connections = psutil.Process(pid).net_connections(kind="tcp")
    except psutil.Error:
        return False
    return any(c.status == psutil.CONN_LISTEN and c.laddr.port == port for c in connections)


def _reap(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.kill()
    process.wait()


def _process(handle: AnvilHandle) -> psutil.Process | None:
    """The live process behind `handle`, or None if it is gone or the pid was reused."""
    try:
        process = psutil.Process(handle.pid)
        same = abs(process.create_time() - handle.create_time) < 0.01
        alive = process.status() != psutil.STATUS_ZOMBIE
    except psutil.Error:
        return None
    return process if same and alive else None


def _tail(path: Path, lines: int = 15) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"
