"""Ledger benchmark: trade inserts/s and `pnl` over a million trades, SQLite and PostgreSQL.

    .venv/bin/python scripts/bench/ledger.py                 # full run, prints a table
    .venv/bin/python scripts/bench/ledger.py --write docs/bench-ledger.md
    .venv/bin/python scripts/bench/ledger.py --trades 100000 --backends sqlite   # quick

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
"""

from __future__ import annotations

import argparse
import asyncio
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
  The engine's write-behind (`engine/ledger/writer.py`) batches trades, so the batch
  figures are the ones that apply to a busy engine.
- Inserts include the idempotency check (SQLite: a lookup of the batch's ids; PostgreSQL:
  `ON CONFLICT DO NOTHING RETURNING id`) and the rollup upsert for hours and days.
"""


def markdown(
    results: list[Figures], args: argparse.Namespace, host: str, versions: dict[str, str]
) -> str:
    lines = [
        "# Ledger benchmark",
        "",
        f"- Machine: {host}",
        f"- Python {platform.python_version()}; "
        + "; ".join(f"{k} {v}" for k, v in versions.items()),
        f"- Command: `.venv/bin/python scripts/bench/ledger.py {' '.join(sys.argv[1:])}`".rstrip(),
        f"- Data: {args.trades:,} trades over {args.days:g} days, {args.tokens} start tokens "
        f"(rollup: up to {int(args.days * 24 * args.tokens):,} hourly and "
        f"{int(args.days * args.tokens):,} daily rows)",
        f"- Date: {time.strftime('%Y-%m-%d')}",
        "",
        "| backend | measurement | result |",
        "|---|---|---|",
    ]
    for figures in results:
        lines += [f"| {figures.backend} | {label} | {value} |" for label, value in figures.rows]
    return "\n".join([*lines, "", NOTES])


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
