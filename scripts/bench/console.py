"""Benchmark the operator console (`arbctl tui`) the way an operator runs it: in a real
terminal (a tmux pane, 80x24) against a real engine on the simulated market.

Measures:
  1. start-up: from launching `arbctl tui` to the first complete dashboard on screen
     (state, trades, providers, sparklines and footer all drawn), median of --runs;
  2. CPU of the console process (one core = 100 %) while the engine publishes
     0 (idle: the sim's own events), 100 and 1,000 extra events/s (`debug.flood` at a
     controlled rate, in 10 slices a second), over --seconds each;
  3. kill latency: from the Enter that confirms `KILL` to the engine's acknowledgement
     (the kill's audit entry timestamp), median of --runs.

    .venv/bin/python scripts/bench/console.py [--seconds 20] [--runs 5] [--topic block]
    .venv/bin/python scripts/bench/console.py --startup-only --old /path/to/old --runs 10

With --old, start-up is measured for the old checkout and this one alternately (one
launch each, --runs times, against the same engine), so both see the same load; each
launch also reports the console's CPU time when the dashboard is first complete (the
figure to compare on a shared machine) and the load average.

Each tree's packages are byte-compiled first (`compileall`), as an installed package is:
with PYTHONDONTWRITEBYTECODE set (as in the agents' shells) every launch would otherwise
compile arbctl, screens and engine from source again (~25 ms of CPU), a cost no
operator pays. `--no-compile` skips that step.

Needs tmux. Starts and stops its own engine (temporary state dir, debug methods on).
Prints a Markdown table for docs/bench-console.md.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import shlex
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from arbctl.client import Client

ROOT = Path(__file__).resolve().parents[2]
ENGINE_TOML = "[engine]\ndebug_methods = true\n[sim]\nblock_ms = {block_ms}\n"
CLK_TCK = os.sysconf("SC_CLK_TCK")
SLICES_PER_S = 10


@dataclass
class Engine:
    """An engine in a temporary directory, driven through the CLI."""

    dir: Path
    block_ms: int

    @property
    def socket(self) -> Path:
        return self.dir / "s"

    def env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("ARBCTL_")}
        env.update(ARBCTL_SOCKET=str(self.socket), ARBCTL_STATE_DIR=str(self.dir / "st"))
        return env

    def cli(self, *args: str) -> str:
        cmd = [sys.executable, "-m", "arbctl", *args]
        return subprocess.run(cmd, env=self.env(), capture_output=True, text=True).stdout

    def start(self) -> None:
        """Start, then wait for booked trades: a dashboard is complete only with some."""
        config = self.dir / "engine.toml"
        config.write_text(ENGINE_TOML.format(block_ms=self.block_ms))
        self.cli("up", "--config", str(config), "--json")
        wait_for(lambda: self.status().get("trades_booked", 0) >= 3, timeout=60)

    def status(self) -> dict[str, Any]:
        try:
            return json.loads(self.cli("status", "--json"))
        except ValueError:
            return {}

    def stop(self) -> None:
        self.cli("down", "--force", "--timeout", "10")


class Tmux:
    """A private tmux server running the console in one 80x24 pane."""

    def __init__(self) -> None:
        self.name = f"arbctl-bench-{uuid.uuid4().hex[:8]}"

    def run(self, *args: str) -> str:
        cmd = ["tmux", "-L", self.name, *args]
        return subprocess.run(cmd, capture_output=True, text=True).stdout

    def start_console(self, engine: Engine, tree: Path | None = None) -> float:
        """Launch `arbctl tui` (from `tree` when given); returns the launch time (monotonic)."""
        env = {"PATH": os.environ["PATH"], "TERM": "tmux-256color", **engine.env()}
        if tree is not None:
            env["PYTHONPATH"] = str(tree)
        argv = [sys.executable, "-m", "arbctl", "tui"]
        command = "exec env " + shlex.join([f"{k}={v}" for k, v in env.items()] + argv)
        launched = time.monotonic()
        # The tree is also the working directory: `python -m` puts the cwd first on sys.path.
        where = str(tree or Path.cwd())
        self.run("new-session", "-d", "-c", where, "-x", "80", "-y", "24", command)
        return launched

    def screen(self) -> str:
        return self.run("capture-pane", "-p")

    def pid(self) -> int:
        return int(self.run("display-message", "-p", "#{pane_pid}").strip())

    def keys(self, *keys: str) -> None:
        self.run("send-keys", *keys)

    def kill(self) -> None:
        self.run("kill-server")


def wait_for(predicate: Callable[[], bool], timeout: float = 30.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.01)
    return False


def dashboard_complete(screen: str) -> bool:
    """State, a trade row, a provider row, a sparkline and the footer are all drawn."""
    return all(
        (
            "RUNNING" in screen,
            any(s in screen for s in ("success", "reverted")),
            "alpha-rpc" in screen,
            any(c in screen for c in "▁▂▃▄▅▆▇█"),
            "q Quit" in screen,
        )
    )


def bench_startup(engine: Engine, runs: int) -> list[float]:
    times = []
    for _ in range(runs):
        tmux = Tmux()
        launched = tmux.start_console(engine)
        ok = wait_for(lambda tmux=tmux: dashboard_complete(tmux.screen()))
        times.append(time.monotonic() - launched if ok else float("nan"))
        tmux.kill()
    return times


@dataclass
class Startup:
    wall_s: float
    cpu_s: float  # the console's CPU time when the dashboard was first complete
    load: float


PACKAGES = ("arbctl", "screens", "engine")


def precompile(tree: Path) -> None:
    """Write the packages' bytecode, as `pip install` does (see the module docstring)."""
    cmd = [sys.executable, "-m", "compileall", "-q", *PACKAGES]
    subprocess.run(cmd, cwd=tree, check=True, stdout=subprocess.DEVNULL)


def startup_once(engine: Engine, tree: Path | None) -> Startup:
    tmux = Tmux()
    launched = tmux.start_console(engine, tree)
    pid = 0
    cpu = float("nan")

    def complete() -> bool:
        nonlocal pid, cpu
        if not pid:
            with contextlib.suppress(ValueError):
                pid = tmux.pid()
        if not dashboard_complete(tmux.screen()):
            return False
        with contextlib.suppress(OSError):
            cpu = cpu_seconds(pid) if pid else cpu
        return True

    ok = wait_for(complete)
    wall = time.monotonic() - launched if ok else float("nan")
    tmux.kill()
    return Startup(wall, cpu, os.getloadavg()[0])


def bench_startup_side_by_side(
    engine: Engine, trees: dict[str, Path], runs: int
) -> dict[str, list[Startup]]:
    """One launch per tree per round, alternating, so both see the same machine."""
    results: dict[str, list[Startup]] = {name: [] for name in trees}
    for _ in range(runs):
        for name, tree in trees.items():
            results[name].append(startup_once(engine, tree))
    return results


def describe_startups(runs: list[Startup]) -> str:
    walls = [r.wall_s for r in runs]
    cpus = [r.cpu_s for r in runs]
    loads = [r.load for r in runs]
    return (
        f"wall median {statistics.median(walls) * 1000:.0f} ms "
        f"(min {min(walls) * 1000:.0f}) · CPU at complete median "
        f"{statistics.median(cpus) * 1000:.0f} ms (min {min(cpus) * 1000:.0f}) · "
        f"load {min(loads):.1f}–{max(loads):.1f}"
    )


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK  # utime + stime


def flood_at(socket: Path, rate: int, topic: str, stop: threading.Event) -> None:
    """`rate` events/s in SLICES_PER_S slices a second, on schedule (no drift)."""
    if rate <= 0:
        stop.wait()
        return
    client = Client(socket, timeout=10)
    per_slice = max(1, rate // SLICES_PER_S)
    params = {"count": per_slice, "chunk": per_slice, "size": 64, "topic": topic}
    next_at = time.monotonic()
    while not stop.is_set():
        client.call("debug.flood", params)
        next_at += 1 / SLICES_PER_S
        stop.wait(max(0.0, next_at - time.monotonic()))


def bench_cpu(engine: Engine, rates: list[int], seconds: float, topic: str) -> dict[int, float]:
    tmux = Tmux()
    tmux.start_console(engine)
    wait_for(lambda: dashboard_complete(tmux.screen()))
    pid = tmux.pid()
    results = {}
    for rate in rates:
        stop = threading.Event()
        driver = threading.Thread(target=flood_at, args=(engine.socket, rate, topic, stop))
        driver.start()
        time.sleep(2.0)  # settle
        cpu0, t0 = cpu_seconds(pid), time.monotonic()
        time.sleep(seconds)
        results[rate] = 100 * (cpu_seconds(pid) - cpu0) / (time.monotonic() - t0)
        stop.set()
        driver.join()
    alive = "q Quit" in tmux.screen()
    tmux.kill()
    if not alive:
        print("warning: the console was not showing its footer at the end", file=sys.stderr)
    return results


def kill_ack_ts(engine: Engine) -> float | None:
    entries = json.loads(engine.cli("audit", "--json", "--limit", "5"))["entries"]
    kills = [e for e in entries if e["action"] == "kill" and e["client"] == "arbctl-tui"]
    return float(kills[0]["ts"]) if kills else None


def bench_kill(engine: Engine, runs: int) -> list[float]:
    latencies = []
    for _ in range(runs):
        tmux = Tmux()
        tmux.start_console(engine)
        wait_for(lambda tmux=tmux: "RUNNING" in tmux.screen())
        tmux.keys("K")
        wait_for(lambda tmux=tmux: "EMERGENCY KILL" in tmux.screen())
        tmux.run("send-keys", "-l", "KILL")
        wait_for(lambda tmux=tmux: "KILL" in tmux.screen().split("Type KILL")[-1])
        pressed = time.time()
        tmux.keys("Enter")
        wait_for(lambda: engine.status().get("state") == "halted")
        acked = kill_ack_ts(engine)
        latencies.append((acked - pressed) if acked else float("nan"))
        tmux.kill()
        engine.cli("resume", "--reason", "benchmark: next kill run")
    return latencies


def machine() -> str:
    cpu = "?"
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            cpu = line.split(":", 1)[1].strip()
            break
    return f"{platform.node()}: {cpu}, {os.cpu_count()} CPUs, Python {platform.python_version()}"


def median_ms(values: list[float]) -> str:
    return (
        f"{statistics.median(values) * 1000:.0f} ms (runs: "
        + ", ".join(f"{v * 1000:.0f}" for v in values)
        + ")"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description="Benchmark `arbctl tui`.")
    parser.add_argument("--seconds", type=float, default=20.0, help="CPU window per rate")
    parser.add_argument("--runs", type=int, default=5, help="start-up and kill repetitions")
    parser.add_argument("--topic", default="block", help="topic of the flood events")
    parser.add_argument("--block-ms", type=int, default=1000, help="sim block interval")
    parser.add_argument(
        "--rates", default="0,100,1000", help="extra events/s to measure CPU at (0: idle)"
    )
    parser.add_argument("--old", type=Path, help="an old checkout: start-up side by side")
    parser.add_argument(
        "--startup-only", action="store_true", help="measure start-up only (no CPU, no kill)"
    )
    parser.add_argument(
        "--no-compile", action="store_true", help="do not byte-compile the trees first"
    )
    args = parser.parse_args()
    if not args.no_compile:
        for tree in (ROOT, args.old):
            if tree is not None:
                precompile(tree)
    if shutil.which("tmux") is None:
        print("tmux is required", file=sys.stderr)
        return 2
    engine = Engine(Path(tempfile.mkdtemp(prefix="arbb", dir="/tmp")), args.block_ms)
    engine.start()
    if args.old is not None or args.startup_only:
        return startup_report(engine, args)
    try:
        startup = bench_startup(engine, args.runs)
        rates = [int(r) for r in args.rates.split(",")]
        cpu = bench_cpu(engine, rates, args.seconds, args.topic)
        kill = bench_kill(engine, args.runs)
    finally:
        engine.stop()
        shutil.rmtree(engine.dir, ignore_errors=True)
    print(f"machine: {machine()}")
    print(f"command: {' '.join(sys.argv)}")
    print()
    print("| measure | result |")
    print("|---|---|")
    print(f"| `arbctl tui` → first complete dashboard (80x24) | {median_ms(startup)} |")
    for rate, percent in cpu.items():
        label = "idle (sim events only)" if rate == 0 else f"+{rate:,} `{args.topic}` events/s"
        print(f"| console CPU, {label} | {percent:.1f} % of one core |")
    print(f"| kill: Enter on `KILL` → engine acknowledged | {median_ms(kill)} |")
    return 0


def startup_report(engine: Engine, args: argparse.Namespace) -> int:
    trees = {"new": ROOT}
    if args.old is not None:
        trees = {"old": args.old.resolve(), **trees}
    try:
        results = bench_startup_side_by_side(engine, trees, args.runs)
    finally:
        engine.stop()
        shutil.rmtree(engine.dir, ignore_errors=True)
    print(f"machine: {machine()}")
    print(f"command: {' '.join(sys.argv)}")
    print(f"bytecode: {'as found' if args.no_compile else 'compiled first'}")
    print()
    print("| code | `arbctl tui` → first complete dashboard (80x24) |")
    print("|---|---|")
    for name, runs in results.items():
        print(f"| {name} (`{trees[name]}`) | {describe_startups(runs)} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
