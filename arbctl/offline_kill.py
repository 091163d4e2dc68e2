"""The offline kill: halt an engine that cannot answer its socket, without its help.

Used in-process by `arbctl kill`'s fallback and by the console's (no subprocess), so the
two cannot drift apart. Order is the invariant: the halt marker is persisted first (with
engine/protocol.py's stdlib writer — an engine that wakes or restarts reads it and stays
halted), then the pid is proven to be this engine (arbctl/process.py `prove_engine`),
and only a proven process is signalled. Stdlib only: `arbctl kill` must stay light.
"""

from __future__ import annotations

import os
import signal
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from arbctl import process
from engine import protocol

CLI_SOURCE = "arbctl-cli-fallback"
CONSOLE_SOURCE = "arbctl-tui-fallback"


@dataclass
class KillReport:
    """What a kill did, step by step: the operator must know exactly what happened."""

    reason: str
    state_dir: Path
    steps: list[dict[str, Any]] = field(default_factory=list)
    acknowledged: bool = False
    marker: Path | None = None
    pid: int | None = None
    engine: dict[str, Any] | None = None
    global_halt: dict[str, Any] | None = None  # `--global`: the flag in Redis

    def step(self, name: str, ok: bool, detail: str) -> bool:
        self.steps.append({"step": name, "ok": ok, "detail": detail})
        return ok

    @property
    def halted(self) -> bool:
        return self.acknowledged or self.marker is not None

    @property
    def persisted(self) -> bool:
        """On disk, so a restarted engine comes back halted: the marker this command wrote,
        or the engine's own write (an engine on a full disk halts in memory and says
        `persisted: false` until it can write)."""
        if self.marker is not None:
            return True
        return self.acknowledged and (self.engine or {}).get("persisted") is not False

    def to_dict(self) -> dict[str, Any]:
        return {
            "halted": self.halted,
            "persisted": self.persisted,
            "acknowledged": self.acknowledged,
            "via": "engine" if self.acknowledged else "fallback",
            "reason": self.reason,
            "state_dir": str(self.state_dir),
            "marker": str(self.marker) if self.marker else None,
            "pid": self.pid,
            "engine": self.engine,
            "global": self.global_halt,
            "steps": self.steps,
        }


def offline_kill(
    report: KillReport,
    socket_path: Path,
    source: str,
    shutdown: bool = False,
    grace: float = 5.0,
    instance: str | None = None,
) -> KillReport:
    """Persist the halt, then SIGTERM+SIGCONT the proven engine and wait `grace` seconds
    (SIGKILL after that with `shutdown`). `instance`: the nonce the engine last reported
    in `status`, when the caller knows it (the console does)."""
    persist_halt(report, source)
    proof = process.prove_engine(report.state_dir, socket_path, instance)
    if isinstance(proof, process.NotProven):
        report.step("find_pid", False, f"no process signalled: {proof.why}")
        return report
    report.pid = proof.pid
    report.step("find_pid", True, f"engine proven: {proof.evidence}")
    for sig in (signal.SIGTERM, signal.SIGCONT):  # a stopped process acts once continued
        problem = process.signal_engine(proof, sig)
        report.step(sig.name.lower(), problem is None, problem or f"sent {sig.name} to {proof.pid}")
    await_exit(proof, report, grace, force=shutdown)
    return report


def persist_halt(report: KillReport, source: str) -> None:
    try:
        protocol.write_halt_marker(report.state_dir, report.reason, os.getuid(), source)
    except OSError as exc:
        report.step("write_marker", False, f"cannot write halt marker: {exc}")
        return
    report.marker = report.state_dir / protocol.HALT_FILE
    report.step("write_marker", True, f"halt persisted in {report.marker}")


def await_exit(proof: process.Proof, report: KillReport, grace: float, force: bool) -> None:
    """Wait for the proven engine to exit; with `force`, SIGKILL it after `grace`."""
    pid, started = proof.pid, time.monotonic()
    if process.wait_for_exit(pid, grace, proof.start_ticks):
        report.step("wait_exit", True, f"pid {pid} exited after {time.monotonic() - started:.1f}s")
        return
    if not force:
        report.step(
            "wait_exit",
            False,
            f"pid {pid} still alive after {grace:.0f}s "
            "(halt is persisted; use --shutdown to SIGKILL)",
        )
        return
    report.step("wait_exit", False, f"pid {pid} still alive after {grace:.0f}s")
    problem = process.signal_engine(proof, signal.SIGKILL)
    report.step("sigkill", problem is None, problem or f"sent SIGKILL to {pid}")
    gone = process.wait_for_exit(pid, 2.0, proof.start_ticks)
    report.step("wait_exit", gone, f"pid {pid} {'exited' if gone else 'is STILL alive'}")
