"""Ledger benchmark: trade inserts/s and `pnl` over a million trades, SQLite and PostgreSQL;
and what committing each trade before it is published costs.

    .venv/bin/python scripts/bench/ledger.py                 # full run, prints a table
    .venv/bin/python scripts/bench/ledger.py --write docs/bench-ledger.md
    .venv/bin/python scripts/bench/ledger.py --trades 100000 --backends sqlite   # quick
    .venv/bin/python scripts/bench/ledger.py --only commit --write docs/bench-commit.md

What it measures, and why that way:
- inserts/s through `record_trades`, the path the engine's write-behind uses, in batches
  of 1 (a quiet engine flushing each trade) and 100 (a burst), on an empty ledger;
- the bulk load of `--trades` trades (batches of 10,000, oldest first, as an engine writes
  them) through the same call, so the rollup is maintained exactly as in production;
- `pnl(since=0)` over the loaded ledger (what `arbctl pnl --period all` asks), median of
  several runs; `pnl` over the last 30 days, whose edges are partial hours; and once, the
  full raw scan the rollup replaces, to show what it saves.
Trades spread over `--days` days across `--tokens` start tokens: the rollup holds about
days × 24 × tokens rows, which is what a long-period `pnl` reads.

`--only commit`: the engine's `LedgerWriter` (engine defaults) booking trades the way the
pipeline does, in the two ways side by side, alternating, on a fresh ledger each run:
- before (write-behind): `add_trade` and publish at once; the row is committed up to a
  write-behind interval later. Measured: the exposure, publish → commit, the window in
  which a crash loses a trade clients saw;
- now (commit before publish): `await book_trade` (group commit), then publish. Measured:
  the added latency, booked → publishable.
Loads: trades arriving evenly at each of `--rates` per second, each booked by its own
task (the pipeline frees the execution slot first, so arrivals do not wait for commits);
trades/s is counted to the last commit, so a rate the writer cannot sustain shows. CPU
is the bench process's (the engine's side, aiosqlite's thread included; not PostgreSQL's
server processes), per trade, and its ratio now / before from the same rounds.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import platform
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import asyncpg

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from engine.ledger.postgres import PostgresLedger
from engine.ledger.records import TradeRecord, TradeStatus
from engine.ledger.sqlite import SqliteLedger
from engine.ledger.writer import LedgerWriter

DEFAULT_DSN = "postgresql://postgres@127.0.0.1:5432/test"
ROUTE = [
    {"pool": "0x" + "11" * 20, "token_in": "0xweth", "token_out": "0xusdc"},
    {"pool": "0x" + "22" * 20, "token_in": "0xusdc", "token_out": "0xweth"},
]
BULK_BATCH = 10_000


@dataclass
class Figures:
    backend: str
    rows: list[tuple[str, str]] = field(default_factory=list)

    def add(self, label: str, value: str) -> None:
        self.rows.append((label, value))
        print(f"  {self.backend:8} {label:48} {value}", flush=True)


# --- data ----------------------------------------------------------------------------------
def trade(i: int, detected_at: float, tokens: int, tag: str) -> TradeRecord:
    """A trade with realistic magnitudes: 18-decimal amounts, gas in wei beyond 2**64 once
    summed, quote values in 6-decimal units, about one in four reverted or failed."""
    status: TradeStatus = ("success", "success", "success", "reverted", "failed")[i % 5]
    ok = status == "success"
    gas_cost = 130_000 * (15 + i % 40) * 10**9
    profit = (i * 7919 % 10**6) * 10**12 if ok else 0
    return TradeRecord(
        id=f"{tag}-{i}",
        opportunity_id=f"opp-{i}",
        venue="sim",
        route=ROUTE,
        token=f"0xtoken{i % tokens}",
        token_symbol=f"TK{i % tokens}",
        amount_in=10 * 10**18 + i,
        amount_out=10 * 10**18 + i + profit if ok else 0,
        status=status,
        revert_reason="" if ok else "INSUFFICIENT_OUTPUT_AMOUNT",
        gas_used=130_000,
        gas_price=(15 + i % 40) * 10**9,
        gas_cost_wei=gas_cost if status != "failed" else 0,
        flash_fee=9 * 10**15 if ok else 0,
        profit_token=profit,
        profit_native=profit - gas_cost,
        profit_quote=(profit - gas_cost) // 10**9 * 3,
        expected_profit=profit + 10**15,
        block_number=19_000_000 + i,
        tx_hash=f"0x{i:064x}",
        detected_at=detected_at,
        submitted_at=detected_at + 0.1,
        mined_at=detected_at + 12.0 if status != "failed" else 0.0,
        gas_cost_quote=gas_cost // 10**9 * 3,
        flash_fee_quote=27_000_000 if ok else 0,
    )


def history(count: int, days: float, tokens: int, end: float) -> Iterator[list[TradeRecord]]:
    """`count` trades evenly spread over `days` days before `end`, in batches, oldest first."""
    start, step = end - days * 86_400, days * 86_400 / count
    for first in range(0, count, BULK_BATCH):
        last = min(first + BULK_BATCH, count)
        yield [trade(i, start + i * step, tokens, "bulk") for i in range(first, last)]


# --- measurements --------------------------------------------------------------------------
async def insert_rate(store: object, batch: int, total: int, figures: Figures) -> None:
    now = time.time() - 86_400
    batches = [
        [trade(n * batch + k, now + n, 4, f"ins{batch}") for k in range(batch)]
        for n in range(total // batch)
    ]
    start = time.perf_counter()
    for rows in batches:
        await store.record_trades(rows)  # type: ignore[attr-defined]
    elapsed = time.perf_counter() - start
    figures.add(
        f"insert, batches of {batch} ({total:,} trades)", f"{total / elapsed:,.0f} trades/s"
    )


async def timed(call: Callable[[], Awaitable[object]], runs: int) -> tuple[float, float]:
    """Median and best wall time in ms."""
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        await call()
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times), min(times)


async def bench_store(
    open_store: Callable[[], Awaitable[object]], figures: Figures, args: argparse.Namespace
) -> None:
    if args.only == "commit":
        await bench_commit(open_store, figures, args)
        return
    store = await open_store()
    try:
        await insert_rate(store, 1, args.single, figures)
        await insert_rate(store, 100, args.batched, figures)
    finally:
        await store.close()  # type: ignore[attr-defined]
    await bench_pnl(open_store, figures, args)


async def bench_pnl(
    open_store: Callable[[], Awaitable[object]], figures: Figures, args: argparse.Namespace
) -> None:
    store = await open_store()
    try:
        end = time.time() - 60
        start = time.perf_counter()
        for rows in history(args.trades, args.days, args.tokens, end):
            await store.record_trades(rows)  # type: ignore[attr-defined]
        elapsed = time.perf_counter() - start
        figures.add(
            f"bulk load {args.trades:,} trades (batches of {BULK_BATCH:,})",
            f"{elapsed:,.1f} s ({args.trades / elapsed:,.0f} trades/s)",
        )
        summary = await store.pnl(0.0)  # type: ignore[attr-defined]
        assert summary.total_trades >= args.trades, summary.total_trades
        median, best = await timed(lambda: store.pnl(0.0), args.runs)  # type: ignore[attr-defined]
        figures.add(f"pnl(since=0) over {summary.total_trades:,} trades", _ms(median, best))
        month = end - 30 * 86_400 + 1234.5  # not on an hour boundary: partial edges
        median, best = await timed(lambda: store.pnl(month, end), args.runs)  # type: ignore[attr-defined]
        figures.add("pnl(last 30 days, partial-hour edges)", _ms(median, best))
        if not args.skip_scan:
            median, _ = await timed(lambda: store.pnl_from_trades(0.0), 1)  # type: ignore[attr-defined]
            figures.add("for comparison: raw scan of all trades, no rollup", f"{median:,.0f} ms")
    finally:
        await store.close()  # type: ignore[attr-defined]


def _ms(median: float, best: float) -> str:
    return f"{median:,.1f} ms median ({best:,.1f} best)"


# --- commit before publish, side by side with write-behind -----------------------------------
MODES = ("write-behind", "commit-first")


class CommitClock:
    """A store that notes when each trade's commit returned (instrumentation only)."""

    def __init__(self, store: object) -> None:
        self.store = store
        self.committed_at: dict[str, float] = {}

    def __getattr__(self, name: str) -> object:
        return getattr(self.store, name)

    async def record_trades(self, trades: list[TradeRecord]) -> None:
        await self.store.record_trades(trades)  # type: ignore[attr-defined]
        now = time.perf_counter()
        for t in trades:
            self.committed_at.setdefault(t.id, now)


@dataclass
class CommitRun:
    trades: int = 0
    wall_s: float = 0.0
    cpu_s: float = 0.0
    delays_ms: list[float] = field(default_factory=list)  # booked → published
    exposure_ms: list[float] = field(default_factory=list)  # published → committed


async def book_load(store: object, mode: str, rate: float, total: int, tag: str) -> CommitRun:
    """`total` trades arriving evenly at `rate`/s, each booked on its own task."""
    clock = CommitClock(store)
    writer = LedgerWriter(clock)  # type: ignore[arg-type]
    runner = asyncio.create_task(writer.run())
    published: dict[str, float] = {}
    run = CommitRun(trades=total)

    async def book(t: TradeRecord) -> None:
        booked = time.perf_counter()
        if mode == "commit-first":
            await writer.book_trade(t)
        else:
            writer.add_trade(t)
        published[t.id] = time.perf_counter()
        run.delays_ms.append((published[t.id] - booked) * 1000)

    now = time.time() - 3_600
    cpu, start = time.process_time(), time.perf_counter()
    tasks = []
    for i in range(total):
        await asyncio.sleep(max(0.0, start + i / rate - time.perf_counter()))
        tasks.append(asyncio.create_task(book(trade(i, now + i * 1e-3, 4, tag))))
    await asyncio.gather(*tasks)
    while len(clock.committed_at) < total:
        await asyncio.sleep(0.001)
    run.wall_s = max(clock.committed_at.values()) - start
    run.cpu_s = time.process_time() - cpu
    runner.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await runner
    run.exposure_ms = [(clock.committed_at[k] - v) * 1000 for k, v in published.items()]
    return run


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


async def bench_commit(
    open_store: Callable[[], Awaitable[object]], figures: Figures, args: argparse.Namespace
) -> None:
    for rate in args.rates:
        label, total = f"{rate:,g} trades/s", max(50, int(rate * args.commit_seconds))
        runs: dict[str, list[CommitRun]] = {mode: [] for mode in MODES}
        for round_ in range(args.commit_rounds):
            order = MODES if round_ % 2 == 0 else MODES[::-1]
            for mode in order:
                store = await open_store()
                try:
                    tag = f"c{round_}{mode[0]}{uuid.uuid4().hex[:6]}"
                    runs[mode].append(await book_load(store, mode, rate, total, tag))
                finally:
                    await store.close()  # type: ignore[attr-defined]
        _commit_figures(figures, label, runs)


def _commit_figures(figures: Figures, label: str, runs: dict[str, list[CommitRun]]) -> None:
    before, now = runs["write-behind"], runs["commit-first"]

    def pooled(rs: list[CommitRun], attr: str) -> list[float]:
        return [v for r in rs for v in getattr(r, attr)]

    def cpu_us(rs: list[CommitRun]) -> float:
        return statistics.median(r.cpu_s / r.trades * 1e6 for r in rs)

    def rate(rs: list[CommitRun]) -> float:
        return statistics.median(r.trades / r.wall_s for r in rs)

    exposure, delay = pooled(before, "exposure_ms"), pooled(now, "delays_ms")
    ratio = statistics.median(
        n.cpu_s / b.cpu_s for b, n in zip(before, now, strict=True) if b.cpu_s > 0
    )
    figures.add(
        f"{label}: booked → published, now (p50 / p99 / max)",
        f"{_pct(delay, 0.5):.2f} / {_pct(delay, 0.99):.2f} / {max(delay):.2f} ms",
    )
    figures.add(
        f"{label}: published → committed, before (p50 / p99 / max)",
        f"{_pct(exposure, 0.5):.1f} / {_pct(exposure, 0.99):.1f} / {max(exposure):.1f} ms",
    )
    figures.add(
        f"{label}: CPU per trade, before / now (ratio)",
        f"{cpu_us(before):,.0f} / {cpu_us(now):,.0f} µs ({ratio:.2f}×)",
    )
    figures.add(
        f"{label}: trades/s booked, counted to the last commit, before / now",
        f"{rate(before):,.0f} / {rate(now):,.0f}",
    )


# --- backends --------------------------------------------------------------------------------
async def run_sqlite(args: argparse.Namespace) -> Figures:
    figures = Figures("sqlite")
    with tempfile.TemporaryDirectory(prefix="arbctl-bench-") as tmp:
        counter = iter(range(1_000))

        async def fresh() -> SqliteLedger:
            store = SqliteLedger(Path(tmp) / f"ledger-{next(counter)}.sqlite3")
            await store.open()
            return store

        await bench_store(fresh, figures, args)
    return figures


async def run_postgres(args: argparse.Namespace) -> Figures:
    figures = Figures("postgres")
    schemas: list[str] = []

    async def fresh() -> PostgresLedger:
        schemas.append(f"arbctl_bench_{uuid.uuid4().hex[:10]}")
        store = PostgresLedger(args.dsn, schemas[-1])
        await store.open()
        return store

    try:
        await bench_store(fresh, figures, args)
    finally:
        admin = await asyncpg.connect(args.dsn)
        for schema in schemas:
            await admin.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
        await admin.close()
    return figures


async def server_version(dsn: str) -> str:
    conn = await asyncpg.connect(dsn)
    try:
        return str(await conn.fetchval("SHOW server_version"))
    finally:
        await conn.close()


# --- report ----------------------------------------------------------------------------------
def machine() -> str:
    model = "unknown CPU"
    with open("/proc/cpuinfo") as info:
        for line in info:
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    return (
        f"{os.cpu_count()} cores, {model}, {platform.system()} {platform.release()} "
        f"(load average at start: {load}; the machine is shared)"
    )


NOTES = """\
Reading the figures:
- `pnl` reads whole days and hours from the rollup (`trade_rollup`, maintained in the
  insert transaction) and only the partial hours at the period's edges from `trades`, so
  its cost follows the period's length in days, not the number of trades. The raw scan
  line is what every `pnl` would cost without the rollup.
- Batches of 1 on PostgreSQL are bound by the commit's WAL fsync (`synchronous_commit`
  on, the server default, kept for a ledger). SQLite runs WAL with `synchronous=NORMAL`,
  which does not fsync per commit: durable against a process crash, not an OS crash.
  The engine's writer commits each trade before publishing it, and the trades booked
  during one commit share the next (`engine/ledger/writer.py`), so a busy engine writes
  in batches; `--only commit` measures that path (docs/bench-commit.md).
- Inserts include the idempotency check (SQLite: a lookup of the batch's ids; PostgreSQL:
  `ON CONFLICT DO NOTHING RETURNING id`) and the rollup upsert for hours and days.
"""


COMMIT_NOTES = """\
Reading the figures:
- "before" is the write-behind the engine used until issue 11: the trade event went out
  at once and the row was committed up to a write-behind interval (0.2 s) later, so a
  SIGKILL in that window lost trades clients had seen. "now" commits first (group commit:
  the trades booked while one commit runs share the next) and publishes after.
- booked → published is what commit-first adds before a client sees a trade; with the
  pipeline it delays neither the next execution nor the search (the execution's slot is
  freed before the wait).
- CPU per trade is the engine process's (aiosqlite's thread included; PostgreSQL's
  server processes are not counted). Small commits cost more per trade than the
  write-behind's large batches; the ratio is taken run by run from alternating rounds.
- trades/s booked is counted from the first arrival to the last commit: where both keep
  up it is the offered rate; where one falls behind, its row shows by how much.
"""


def markdown(
    results: list[Figures], args: argparse.Namespace, host: str, versions: dict[str, str]
) -> str:
    commit = args.only == "commit"
    if commit:
        title = "# Ledger benchmark: commit before publish"
        data = (
            f"- Load: trades arriving evenly at {', '.join(f'{r:g}' for r in args.rates)}/s "
            f"for {args.commit_seconds:g} s; "
            f"{args.commit_rounds} rounds per mode and load, modes alternating"
        )
    else:
        title = "# Ledger benchmark"
        data = (
            f"- Data: {args.trades:,} trades over {args.days:g} days, {args.tokens} start "
            f"tokens (rollup: up to {int(args.days * 24 * args.tokens):,} hourly and "
            f"{int(args.days * args.tokens):,} daily rows)"
        )
    lines = [
        title,
        "",
        f"- Machine: {host}",
        f"- Python {platform.python_version()}; "
        + "; ".join(f"{k} {v}" for k, v in versions.items()),
        f"- Command: `.venv/bin/python scripts/bench/ledger.py {' '.join(sys.argv[1:])}`".rstrip(),
        data,
        f"- Date: {time.strftime('%Y-%m-%d')}",
        "",
        "| backend | measurement | result |",
        "|---|---|---|",
    ]
    for figures in results:
        lines += [f"| {figures.backend} | {label} | {value} |" for label, value in figures.rows]
    return "\n".join([*lines, "", COMMIT_NOTES if commit else NOTES])


def _floats(text: str) -> list[float]:
    return [float(x) for x in text.split(",") if x]


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--backends", default="sqlite,postgres")
    parser.add_argument("--dsn", default=os.environ.get("ARBCTL_BENCH_PG_DSN", DEFAULT_DSN))
    parser.add_argument("--trades", type=int, default=1_000_000)
    parser.add_argument("--days", type=float, default=365)
    parser.add_argument("--tokens", type=int, default=4)
    parser.add_argument("--single", type=int, default=2_000, help="trades inserted one by one")
    parser.add_argument("--batched", type=int, default=20_000, help="trades in batches of 100")
    parser.add_argument("--runs", type=int, default=7, help="runs per pnl timing")
    parser.add_argument("--skip-scan", action="store_true", help="skip the raw-scan comparison")
    parser.add_argument("--write", type=Path, help="also write the table as markdown here")
    parser.add_argument("--only", choices=["commit"], help="only commit-before-publish")
    parser.add_argument("--rates", type=_floats, default=[40.0, 400.0, 4000.0], help="trades/s")
    parser.add_argument("--commit-seconds", type=float, default=4.0, help="per run and rate")
    parser.add_argument("--commit-rounds", type=int, default=3, help="runs per mode and load")
    return parser.parse_args()


async def main() -> None:
    args = parse_args()
    backends = args.backends.split(",")
    host = machine()
    print(f"machine: {host}")
    results, versions = [], {}
    if "sqlite" in backends:
        import sqlite3

        versions["SQLite"] = sqlite3.sqlite_version
        results.append(await run_sqlite(args))
    if "postgres" in backends:
        versions["PostgreSQL"] = await server_version(args.dsn)
        results.append(await run_postgres(args))
    report = markdown(results, args, host, versions)
    print()
    print(report)
    if args.write:
        args.write.write_text(report)
        print(f"written to {args.write}")


if __name__ == "__main__":
    asyncio.run(main())
