"""Benchmark: wall time of `arbctl status --json` against a live engine, and its ratio to
`python -c pass`.

The bars: ≤ 150 ms median (docs/DESIGN.md) and, on a shared machine where absolute times
drift, ≤ 2.5× the bare interpreter's start (issue 19). This starts a throwaway engine
(`arbctl up`, sim venue), runs the real console script N times, prints median/p90; then
runs `python -c pass` and `arbctl status --json` interleaved N times each (same
interpreter, so both pay the same site start-up) and prints the ratio of wall medians and
of child CPU time (resource.getrusage(RUSAGE_CHILDREN), which neighbours do not inflate);
then checks with `python -X importtime` that the command path imports no web3, textual or
numpy, and shows what it does import. PYTHONPATH is passed through, so a checkout measures
its own code: `PYTHONPATH=$PWD .venv/bin/python scripts/bench/status.py`.

    .venv/bin/python scripts/bench/status.py [--runs 20] [--json]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

HEAVY = ("web3", "textual", "numpy", "rich")
TARGET_MEDIAN_MS = 150.0
TARGET_RATIO = 2.5


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--json", action="store_true", help="print the results as JSON")
    args = parser.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="arbb", dir="/tmp"))
    env = _env(workdir)
    try:
        _up(workdir, env)
        results = {
            "machine": _machine(),
            "command": f"{_arbctl()} status --json",
            "runs": args.runs,
            **_time_runs(args.runs, env),
            **_interleaved(args.runs, env),
            **_imports(env),
        }
    finally:
        subprocess.run([_arbctl(), "down", "--force"], env=env, capture_output=True)
        shutil.rmtree(workdir, ignore_errors=True)
    _report(results, args.json)
    met = results["median_ms"] <= TARGET_MEDIAN_MS and results["ratio_wall"] <= TARGET_RATIO
    return 0 if met and not results["heavy"] else 1


def _arbctl() -> str:
    """The console script next to this interpreter: what an operator actually runs."""
    script = Path(sys.executable).with_name("arbctl")
    return str(script) if script.exists() else "arbctl"


def _env(workdir: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ARBCTL_")}
    env.update(ARBCTL_SOCKET=str(workdir / "engine.sock"), ARBCTL_STATE_DIR=str(workdir / "st"))
    return env


def _up(workdir: Path, env: dict[str, str]) -> None:
    config = workdir / "engine.toml"
    config.write_text("[sim]\nblock_ms = 50\n")
    started = subprocess.run(
        [_arbctl(), "up", "--config", str(config)], env=env, capture_output=True, text=True
    )
    if started.returncode != 0:
        sys.exit(f"arbctl up failed:\n{started.stdout}{started.stderr}")


def _time_runs(runs: int, env: dict[str, str]) -> dict[str, Any]:
    samples = []
    for _ in range(runs):
        t0 = time.perf_counter()
        done = subprocess.run([_arbctl(), "status", "--json"], env=env, capture_output=True)
        samples.append((time.perf_counter() - t0) * 1000)
        if done.returncode != 0:
            sys.exit(f"status failed: {done.stderr.decode()}")
    ordered = sorted(samples)
    return {
        "median_ms": round(statistics.median(ordered), 1),
        "p90_ms": round(ordered[max(0, int(len(ordered) * 0.9) - 1)], 1),
        "min_ms": round(ordered[0], 1),
        "max_ms": round(ordered[-1], 1),
    }


def _interleaved(runs: int, env: dict[str, str]) -> dict[str, Any]:
    """`python -c pass` and `arbctl status --json` alternately: wall and child CPU each."""
    commands = {
        "python": [sys.executable, "-c", "pass"],
        "status": [_arbctl(), "status", "--json"],
    }
    wall: dict[str, list[float]] = {name: [] for name in commands}
    cpu: dict[str, list[float]] = {name: [] for name in commands}
    for _ in range(runs):
        for name, argv in commands.items():
            before = resource.getrusage(resource.RUSAGE_CHILDREN)
            t0 = time.perf_counter()
            subprocess.run(argv, env=env, capture_output=True, check=True)
            wall[name].append((time.perf_counter() - t0) * 1000)
            after = resource.getrusage(resource.RUSAGE_CHILDREN)
            used = after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime
            cpu[name].append(used * 1000)
    med = {f"{kind}_{name}_ms": round(statistics.median(v), 1) for kind, d in
           (("wall", wall), ("cpu", cpu)) for name, v in d.items()}  # fmt: skip
    return {
        **med,
        "ratio_wall": round(med["wall_status_ms"] / med["wall_python_ms"], 2),
        "ratio_cpu": round(sum(cpu["status"]) / sum(cpu["python"]), 2),
    }


def _imports(env: dict[str, str]) -> dict[str, Any]:
    """Which modules `status --json` imports, and the ten most expensive ones."""
    done = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "arbctl", "status", "--json"],
        env=env,
        capture_output=True,
        text=True,
    )
    rows = [_import_row(line) for line in done.stderr.splitlines()]
    rows = [row for row in rows if row is not None]
    names = {name for _, name, _ in rows}
    top_level = [(us, name) for us, name, level in rows if level == 0]
    return {
        "modules": len(names),
        "heavy": sorted(n for n in names if n.split(".")[0] in HEAVY),
        "engine_modules": sorted(n for n in names if n.split(".")[0] == "engine"),
        "top_imports_ms": [
            (name, round(us / 1000, 1)) for us, name in sorted(top_level, reverse=True)[:10]
        ],
    }


def _import_row(line: str) -> tuple[int, str, int] | None:
    """`import time:  self |  cumulative | <2 spaces per nesting level>name`."""
    parts = line.split("|")
    if not line.startswith("import time:") or len(parts) != 3 or "cumulative" in line:
        return None
    field = parts[2][1:]
    level = (len(field) - len(field.lstrip())) // 2
    return int(parts[1].strip()), field.strip(), level


def _machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{cpu}, {os.cpu_count()} CPUs, Python {platform.python_version()}, {platform.system()}"


def _report(results: dict[str, Any], as_json: bool) -> None:
    if as_json:
        print(json.dumps(results, indent=2))
        return
    print(f"machine : {results['machine']}")
    print(f"command : {results['command']}  ({results['runs']} runs)")
    print(
        f"wall    : median {results['median_ms']} ms · p90 {results['p90_ms']} ms · "
        f"min {results['min_ms']} ms · max {results['max_ms']} ms "
        f"(target median ≤ {TARGET_MEDIAN_MS:.0f} ms)"
    )
    print(
        f"vs python -c pass, interleaved: wall median {results['wall_status_ms']} / "
        f"{results['wall_python_ms']} ms = {results['ratio_wall']}×; child CPU median "
        f"{results['cpu_status_ms']} / {results['cpu_python_ms']} ms, total ratio "
        f"{results['ratio_cpu']}× (target ≤ {TARGET_RATIO}×)"
    )
    print(f"load    : {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    print(f"imports : {results['modules']} modules; heavy: {results['heavy'] or 'none'}")
    print(f"engine  : {', '.join(results['engine_modules'])}")
    print("slowest top-level imports (cumulative ms):")
    for name, ms in results["top_imports_ms"]:
        print(f"  {ms:7.1f}  {name}")


if __name__ == "__main__":
    sys.exit(main())
