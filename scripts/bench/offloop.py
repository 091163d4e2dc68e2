"""The loop never waits behind the search: kill and `status` latency on a big, busy market.

    .venv/bin/python scripts/bench/offloop.py --old /path/to/old/checkout    # old vs this tree
    .venv/bin/python scripts/bench/offloop.py --old ../main --repeat 2 --write /tmp/offloop.md
    .venv/bin/python scripts/bench/offloop.py --new /path/to/tree --only new --runs 3  # one tree

A real engine (`arbctl up`, the simulated venue in lockstep) on a 50k-pool market
(`sim.tokens = 5555`, V3 pools on as shipped: 50,003 pools) with busy blocks (`--noise`
swaps per block: ~1,000 pools change, thousands of cycles, and the background searchers
work every pair), searched every block. Clients speak raw JSON-RPC on the Unix socket
(`scripts/bench/control.py`'s client), one request at a time:

- status: `status` round trips, each after a random pause of up to 10 ms;
- kill: `kill` → acknowledgement, with an untimed `resume` and a random pause between
  kills. The state directory (where the kill's halt marker is fsync'd) is on tmpfs, so
  the figure is the engine's share and not the virtual disk's fsync tail (see
  docs/benchmarks.md's control-plane rows for the disk).

Each code tree runs its own engine, one after the other (never both at once: the
machine has two cores), with PYTHONPATH pointing at that tree, and the whole comparison
is repeated `--repeat` times, old and new alternating, because the machine is shared.
World build time and peak RSS are measured in a fresh process per tree (`build_world`
alone), and so is the simulated chain's CPU per block (`SimChain.mine` alone, no engine).
In each engine run the CPU time of its threads is read from /proc: the market worker's
(the thread at the highest nice value: sim mining plus the search) and the loop's, per
block. CPU time is the figure to compare on a busy machine; latencies need a quiet one.

`--probe` also times each kill inside the engine and runs a wake-up probe there (a
thread sleeping 1 ms over and over, `scripts/bench/probe`): how late it wakes, split into
time on the kernel's run queue (no free core) and the rest (waiting for the GIL). The
last lines are a verdict per tree against the issue's targets (PASS / FAIL); no asserts.
With --write the figures are appended as Markdown.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from control import Client, Engine, describe, describe_runs, machine, percentiles_ms

ROOT = Path(__file__).resolve().parents[2]
# V2: 3 dexes × (1 + 2 × 5,555) + 3 token/token pools; V3 (`sim.v3_pools`, on by default):
# a fee-3000 pool per pair and a fee-500 one per native pair: 50,003 pools in all
TOKENS_50K = 5_555
TARGETS_MS = {"status": 2.0, "kill": 5.0}  # p99, issue 11
WORLD_TARGET_S = 2.0
PROBES = {"kill": "ARBCTL_BENCH_KILL_LOG", "wake": "ARBCTL_BENCH_WAKE_LOG"}
STATE_ROOT = Path("/dev/shm")
PROBE_DIR = Path(__file__).resolve().parent / "probe"
PACE_S = 0.010  # at most this long between two timed requests (uniform)
WORLD_PROBE = """
import resource, sys, time
from engine.config import SimSection
from engine.market.sim.world import build_world
started, cpu = time.perf_counter(), time.process_time()
world = build_world(SimSection(tokens=int(sys.argv[1])))
elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(len(world.market.pools), elapsed, cpu, peak)
"""
MINE_PROBE = """
import sys, time
from engine.config import SimSection
from engine.market.sim.chain import SimChain
tokens, noise, blocks = (int(a) for a in sys.argv[1:4])
chain = SimChain(SimSection(tokens=tokens, noise_swaps_per_block=noise))
for _ in range(5):
    chain.mine(0.0)
started, changed = time.process_time(), 0
for _ in range(blocks):
    changed += len(chain.mine(0.0).changed_pools)
print(changed / blocks, (time.process_time() - started) / blocks * 1000)
"""


@dataclass
class TreeEngine(Engine):
    """An engine running the code of one checkout (PYTHONPATH and cwd point at it)."""

    tree: Path = ROOT
    probes: dict[str, str] = field(default_factory=dict)

    def env(self) -> dict[str, str]:
        env = super().env()
        env["PYTHONPATH"] = str(self.tree) + os.environ.get("EXTRA_PATH", "")
        if self.probes:  # scripts/bench/probe/sitecustomize.py, after the tree
            env["PYTHONPATH"] += os.pathsep + str(PROBE_DIR)
            env.update(self.probes)
        return env

    def cli(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "arbctl", *args],
            env=self.env(),
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
            cwd=self.tree,
        )

    def status_value(self, key: str) -> str:
        for line in Path(f"/proc/{self.pid}/status").read_text().splitlines():
            if line.startswith(key + ":"):
                return line.split(":", 1)[1].strip()
        return "?"


def engine_config(tokens: int, noise: int, block_ms: int) -> str:
    return (
        f"[sim]\ntokens = {tokens}\nnoise_swaps_per_block = {noise}\nblock_ms = {block_ms}\n"
        "[engine]\ndebug_methods = true\n"
    )


@contextlib.contextmanager
def engine_on(tree: Path, config: str, probes: dict[str, str]) -> Iterator[TreeEngine]:
    base = Path(tempfile.mkdtemp(prefix="arboffloop", dir="/tmp"))
    state_root = STATE_ROOT if STATE_ROOT.is_dir() else None
    state = Path(tempfile.mkdtemp(prefix="arboffloop", dir=state_root))
    engine = TreeEngine(base, state, tree=tree, probes=probes)
    path = base / "engine.toml"
    path.write_text(config)
    try:
        up = engine.cli("up", "--config", str(path), "--json", "--timeout", "240")
        if up.returncode != 0:
            raise SystemExit(f"arbctl up failed ({tree}):\n{up.stdout}{up.stderr}")
        engine.pid = int(json.loads(up.stdout)["pid"])
        wait_searching(engine)
        yield engine
    finally:
        engine.cli("down", "--force", "--timeout", "20")
        shutil.rmtree(base, ignore_errors=True)
        shutil.rmtree(state, ignore_errors=True)


def wait_searching(engine: TreeEngine, blocks: int = 5) -> None:
    """Running, and past genesis by a few blocks: the market is being searched."""
    deadline = time.monotonic() + 300
    with Client(engine.socket, timeout=600) as client:
        while True:
            status = client.call("status")
            seen = status.get("blocks_seen") or 0
            if status["state"] == "running" and seen >= blocks:
                return
            if time.monotonic() > deadline:
                raise SystemExit(f"engine not searching after 300 s: {status['state']}")
            time.sleep(0.2)


def market(client: Client) -> dict[str, Any]:
    status: dict[str, Any] = client.call("status")
    return status


def measure(
    engine: TreeEngine, requests: int, kills: int, runs: int, wake_log: Path | None
) -> dict[str, Any]:
    status_runs: list[list[float]] = []
    kill_runs: list[list[float]] = []
    wake_from = wake_log.stat().st_size if wake_log else 0  # the probe's lines from here on
    with Client(engine.socket) as client:
        before, started, cpu_before = market(client), time.monotonic(), thread_cpu(engine.pid)
        for _ in range(50):
            client.timed("status")
        for _ in range(runs):
            status_runs.append([paced(client.timed, "status") for _ in range(requests)])
            kill_runs.append([paced(kill_and_resume, client, i) for i in range(kills)])
        after, elapsed = market(client), time.monotonic() - started
        cpu_after = thread_cpu(engine.pid)
    wakes = wake_samples(wake_log, wake_from) if wake_log else []
    blocks = after["blocks_seen"] - before["blocks_seen"]
    per_block = {k: (cpu_after[k] - cpu_before[k]) / max(1, blocks) * 1000 for k in cpu_after}
    return {
        "status": status_runs,
        "kill": kill_runs,
        "blocks_per_s": blocks / elapsed,
        "cpu_ms_per_block": per_block,
        "decision_ms": after.get("decision_ms"),
        "cycles": after.get("cycles"),
        "rss": engine.status_value("VmRSS"),
        "hwm": engine.status_value("VmHWM"),
        "wakes": wakes,
    }


def wake_samples(path: Path, offset: int) -> list[tuple[float, float]]:
    """The wake-up probe's (lateness, run-queue wait) pairs, ms, written after `offset`."""
    with path.open() as log:
        log.seek(offset)
        pairs = [line.split() for line in log.read().splitlines()]
    return [(float(p[0]), float(p[1])) for p in pairs if len(p) == 2]


def describe_wakes(wakes: list[tuple[float, float]]) -> str:
    """Lateness of a 1 ms sleep in the engine, and its two parts: on the run queue (the
    kernel had no core) and the rest (the GIL was held elsewhere)."""
    parts = {
        "late": [late / 1000 for late, _ in wakes],
        "run queue": [queued / 1000 for _, queued in wakes],
        "GIL": [max(0.0, late - queued) / 1000 for late, queued in wakes],
    }
    return f"{len(wakes):,} wakes; " + "; ".join(
        f"{name} {describe(percentiles_ms(values))}" for name, values in parts.items()
    )


def thread_cpu(pid: int) -> dict[str, float]:
    """CPU seconds so far of the engine's loop thread (the main one), of its market
    worker (threads niced below the main thread) and of every other thread."""
    tick = os.sysconf("SC_CLK_TCK")
    stats = {}
    for task in Path(f"/proc/{pid}/task").iterdir():
        with contextlib.suppress(OSError):  # a thread that just ended
            fields = (task / "stat").read_text().rsplit(")", 1)[1].split()
            stats[int(task.name)] = (int(fields[11]) + int(fields[12])) / tick, int(fields[16])
    main_nice = stats[pid][1] if pid in stats else 0
    cpu = {"loop": 0.0, "worker": 0.0, "other": 0.0}
    for tid, (seconds, nice) in stats.items():
        kind = "loop" if tid == pid else "worker" if nice > main_nice else "other"
        cpu[kind] += seconds
    return cpu


def mining_cpu(tree: Path, tokens: int, noise: int, blocks: int = 40) -> tuple[float, float]:
    """Pools changed per block and CPU ms per block of the simulated chain alone, in a
    fresh process on `tree`."""
    env = {**os.environ, "PYTHONPATH": str(tree)}
    args = [sys.executable, "-c", MINE_PROBE, str(tokens), str(noise), str(blocks)]
    done = subprocess.run(
        args, env=env, cwd=tree, capture_output=True, text=True, timeout=600, check=True
    )
    changed, cpu = done.stdout.split()[-2:]
    return float(changed), float(cpu)


def paced(call: Callable[..., float], *args: Any) -> float:
    """A random pause first (untimed), so requests land at random moments of the block
    cycle, as an operator's do: back to back, fast replies would crowd the samples into
    the loop's idle stretches and hide the time it spends blocked."""
    time.sleep(random.uniform(0.0, PACE_S))
    return call(*args)


def kill_and_resume(client: Client, i: int) -> float:
    elapsed = client.timed("kill", {"reason": f"offloop bench {i}"})
    client.call("resume", {"reason": f"offloop bench {i}"})
    return elapsed


def world_build(tree: Path, tokens: int) -> tuple[int, float, float, int]:
    """Pools, wall and CPU seconds, peak RSS (kB) of `build_world` in a fresh process."""
    env = {**os.environ, "PYTHONPATH": str(tree)}
    out = subprocess.run(
        [sys.executable, "-c", WORLD_PROBE, str(tokens)],
        env=env,
        cwd=tree,
        capture_output=True,
        text=True,
        timeout=600,
        check=True,
    ).stdout.split()
    return int(out[0]), float(out[1]), float(out[2]), int(out[3])


def revision(tree: Path) -> str:
    done = subprocess.run(
        ["git", "-C", str(tree), "log", "-1", "--format=%h %s"],
        capture_output=True,
        text=True,
        check=False,
    )
    return done.stdout.strip()[:72] or "?"


def load() -> str:
    return ", ".join(f"{x:.1f}" for x in os.getloadavg())


def engine_run(tree: Path, config: str, args: argparse.Namespace, interval: str) -> dict[str, Any]:
    """One engine on `tree`: its figures, plus the probes' samples (with --probe)."""
    load_before = load()
    logs = {key: Path(tempfile.mkstemp(prefix=f"arb{key}", dir="/tmp")[1]) for key in PROBES}
    probes = {variable: str(logs[key]) for key, variable in PROBES.items()} if args.probe else {}
    if interval:
        probes["ARBCTL_BENCH_SWITCH_INTERVAL"] = interval
    with engine_on(tree, config, probes) as engine:
        wake_log = logs["wake"] if args.probe else None
        figures = measure(engine, args.requests, args.kills, args.runs, wake_log)
    figures["inside"] = [float(x) / 1000 for x in logs["kill"].read_text().split()]  # s
    for log in logs.values():
        log.unlink()
    figures["load"] = f"{load_before} → {load()}"
    return figures


def engine_rows(name: str, figures: dict[str, Any]) -> list[str]:
    rows = []
    for label, key in (("status", "status"), ("kill → ack", "kill")):
        runs = figures[key]
        count = f"{len(runs)} × {len(runs[0]):,}"
        target = f"p99 ≤ {TARGETS_MS[key]:g} ms"
        rows.append(f"| {name} | {label} ({count}) | {describe_runs(runs)} | {target} |")
    if figures["inside"]:
        rows.append(f"| {name} | kill inside the engine | {describe_runs([figures['inside']])} | |")
    if figures["wakes"]:
        rows.append(f"| {name} | 1 ms sleep in the engine | {describe_wakes(figures['wakes'])} | |")
    cpu = figures["cpu_ms_per_block"]
    context = (
        f"CPU per block: worker {cpu['worker']:.1f} ms, loop {cpu['loop']:.1f} ms, "
        f"other {cpu['other']:.1f} ms; "
        f"{figures['blocks_per_s']:.1f} blocks/s searched, last decision "
        f"{figures['decision_ms']} ms, {figures['cycles']:,} cycles, RSS "
        f"{figures['rss']} (peak {figures['hwm']}), load {figures['load']}"
    )
    rows.append(f"| {name} | engine | {context} | |")
    return rows


Samples = dict[str, dict[str, list[float]]]  # tree -> status / kill -> round trips (s)


def verdicts(worlds: dict[str, list[float]], pooled: Samples) -> list[str]:
    """PASS / FAIL per tree: the pooled p99 of every run against the issue's targets, and
    the slowest world build against its bound."""
    lines = []
    for name, samples in pooled.items():
        parts = []
        for key, target in TARGETS_MS.items():
            p99 = percentiles_ms(samples[key])["p99"]
            parts.append(f"{key} p99 {p99:.2f} ms {'≤' if p99 <= target else '>'} {target:g}")
        slowest = max(worlds.get(name.split()[0], [0.0]))
        parts.append(f"world {slowest:.2f} s {'≤' if slowest <= WORLD_TARGET_S else '>'} 2")
        ok = all("≤" in part for part in parts)
        lines.append(f"**{'PASS' if ok else 'FAIL'}** {name}: " + "; ".join(parts))
    return [*lines, f"(load average at the end: {load()})"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--old", type=Path, help="checkout of the old code (unless --only new)")
    parser.add_argument("--new", type=Path, default=ROOT, help="checkout of the new code")
    parser.add_argument("--tokens", type=int, default=TOKENS_50K)
    parser.add_argument("--noise", type=int, default=1_000, help="noise swaps per block")
    parser.add_argument("--block-ms", type=int, default=100)
    parser.add_argument("--requests", type=int, default=500, help="status calls per run")
    parser.add_argument("--kills", type=int, default=200, help="kills per run")
    parser.add_argument("--runs", type=int, default=2, help="runs per engine")
    parser.add_argument("--repeat", type=int, default=1, help="old/new engine pairs")
    parser.add_argument("--only", default="old,new", help="which trees: old,new")
    parser.add_argument("--write", type=Path, help="append the figures as Markdown here")
    parser.add_argument(
        "--probe",
        action="store_true",
        help="also time each kill inside the engine and split a 1 ms sleep's lateness there "
        "into run-queue wait and GIL wait (scripts/bench/probe)",
    )
    parser.add_argument(
        "--switch-interval",
        default="",
        help="comma-separated GIL switch intervals (s) to run each tree with, alternating",
    )
    args = parser.parse_args()
    only = args.only.split(",")
    if "old" in only and args.old is None:
        parser.error("--old is required unless --only new")
    trees = {"old": args.old, "new": args.new}
    trees = {name: tree.resolve() for name, tree in trees.items() if name in only}
    about = machine()
    lines = [f"- Machine: {about}"]
    lines += [f"- {name}: `{tree}` at {revision(tree)}" for name, tree in trees.items()]
    for line in lines:
        print(line, flush=True)
    rows: list[str] = []
    worlds: dict[str, list[float]] = {}
    for name, tree in trees.items():
        for _ in range(args.repeat):
            pools, seconds, cpu_s, peak_kb = world_build(tree, args.tokens)
            worlds.setdefault(name, []).append(seconds)
            result = f"{seconds:.2f} s (CPU {cpu_s:.2f} s) · peak RSS {peak_kb / 1024:,.0f} MB"
            row = f"| {name} | world build, {pools:,} pools | {result} | ≤ 2 s |"
            rows.append(row)
            print(row, flush=True)
    for _ in range(args.repeat):
        for name, tree in trees.items():  # alternating: side by side on the same machine
            changed, cpu = mining_cpu(tree, args.tokens, args.noise)
            label = f"sim mining alone, CPU per block (noise {args.noise})"
            row = f"| {name} | {label} | {cpu:.1f} ms · {changed:,.0f} pools changed | |"
            rows.append(row)
            print(row, flush=True)
    config = engine_config(args.tokens, args.noise, args.block_ms)
    intervals = [i for i in args.switch_interval.split(",") if i] or [""]
    runs = [(n, t, i) for n, t in trees.items() for i in intervals]
    pooled: Samples = {}
    for repeat in range(args.repeat):
        for tree_name, tree, interval in runs:
            name = tree_name + (f" sw={interval}" if interval else "")
            figures = engine_run(tree, config, args, interval)
            for key in TARGETS_MS:
                samples = pooled.setdefault(name, {}).setdefault(key, [])
                samples += [x for run in figures[key] for x in run]
            for row in engine_rows(f"{name} #{repeat + 1}", figures):
                rows.append(row)
                print(row, flush=True)
    verdict = verdicts(worlds, pooled)
    print("", *verdict, sep="\n", flush=True)
    if args.write:
        command = "python " + " ".join([os.path.relpath(__file__, ROOT), *sys.argv[1:]])
        text = [
            *lines,
            f"- Command: `{command}`",
            f"- Engine config: `{config.strip().replace(chr(10), '; ')}`",
            f"- Date: {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}",
            "",
            "| code | measurement | result | target |",
            "|---|---|---|---|",
            *rows,
            "",
            *verdict,
            "",
        ]
        with args.write.open("a") as out:
            out.write("\n".join(text))


if __name__ == "__main__":
    main()
