"""Benchmark and liveliness report of the simulated market.

    .venv/bin/python scripts/bench/sim.py [--blocks 2000] [--seed 7] [--block-ms 1]

Two figures, printed as a table:
- mining: blocks/s of the synchronous chain alone (noise, gas, mempool), i.e. how much
  faster than real time a replay can run;
- engine loop: the venue with its providers, the search and the paper executor in
  lockstep at `--block-ms`, as the daemon runs them — blocks/s, and what the market
  gives the engine (opportunities and trades per 100 blocks, success rate, revert
  reasons, net profit in the quote token). The second part is what "lively" means:
  run it after changing noise or competitor defaults.
"""

from __future__ import annotations

import argparse
import asyncio
import platform
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from engine.bus import EventBus
from engine.config import SimSection, StrategySection
from engine.execution.gate import SendGate
from engine.execution.paper import PaperExecutor
from engine.ledger.records import TradeRecord
from engine.lifecycle import Lifecycle
from engine.market.sim import SimVenue
from engine.market.sim.chain import SimChain
from engine.strategy.search import ArbitrageSearch, SearchConfig


def bench_mining(sim: SimSection, blocks: int) -> float:
    chain = SimChain(sim)
    started = time.perf_counter()
    for _ in range(blocks):
        chain.mine(now=0.0)
    return blocks / (time.perf_counter() - started)


def build_search(venue: SimVenue, strategy: StrategySection) -> ArbitrageSearch:
    by_symbol = {t.symbol: a for a, t in venue.market.tokens.items()}
    config = SearchConfig(
        base_tokens=tuple(by_symbol[s] for s in strategy.base_tokens),
        max_hops=strategy.max_hops,
        gas_units={2: strategy.gas_units_2hop, 3: strategy.gas_units_3hop},
        flash_fee_bps=strategy.flash_fee_bps,
        top_n=strategy.top_n,
    )
    return ArbitrageSearch(venue.market, config)


async def bench_engine_loop(sim: SimSection, blocks: int) -> tuple[float, int, list[TradeRecord]]:
    venue = SimVenue(sim)
    search = build_search(venue, StrategySection())
    with tempfile.TemporaryDirectory() as state_dir:
        lifecycle = Lifecycle(Path(state_dir), EventBus())
        lifecycle.started()
        executor = PaperExecutor(SendGate(lifecycle, venue), venue, session="bench")
        trades: list[TradeRecord] = []
        opportunities = 0
        await venue.start()
        started = time.perf_counter()
        async for update in venue.blocks():
            found = search.on_block(update.block, update.changed_pools, venue.gas_price())
            opportunities += len(found)
            busy: set[str] = set()
            sends = []
            for opportunity in found:
                pools = {hop.pool for hop in opportunity.route}
                if not pools & busy:
                    busy |= pools
                    sends.append(executor.execute(opportunity))
            trades += await asyncio.gather(*sends)
            if update.block.number >= blocks:
                break
        elapsed = time.perf_counter() - started
        await venue.stop()
    return blocks / elapsed, opportunities, trades


def report(args: argparse.Namespace) -> None:
    sim = SimSection(seed=args.seed, block_ms=args.block_ms)
    mining = bench_mining(sim, args.blocks)
    rate, opportunities, trades = asyncio.run(bench_engine_loop(sim, args.blocks))
    per_100 = 100 / args.blocks
    statuses = Counter(t.status for t in trades)
    reasons = Counter(t.revert_reason for t in trades if t.revert_reason)
    net_quote = sum(t.profit_quote for t in trades)
    python = sys.version.split()[0]
    print(f"machine: {platform.machine()} {platform.processor() or ''} python {python}")
    print(f"seed {args.seed}, {args.blocks} blocks, block_ms {args.block_ms}")
    print(f"{'mining (chain only)':<34}{mining:>12,.0f} blocks/s")
    print(f"{'engine loop (lockstep)':<34}{rate:>12,.0f} blocks/s")
    print(f"{'opportunities / 100 blocks':<34}{opportunities * per_100:>12.1f}")
    print(f"{'trades / 100 blocks':<34}{len(trades) * per_100:>12.1f}")
    success = statuses["success"] / len(trades) if trades else 0.0
    print(f"{'success rate':<34}{success:>12.1%}")
    for reason, count in reasons.most_common():
        print(f"  reverted: {reason:<40}{count:>6}")
    print(f"{'net profit (quote units)':<34}{net_quote:>12,}")
    profits = sorted(t.profit_quote for t in trades)
    if profits:
        median = profits[len(profits) // 2]
        print(f"{'median trade (quote units)':<34}{median:>12,}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--blocks", type=int, default=2000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--block-ms", type=int, default=1)
    report(parser.parse_args())


if __name__ == "__main__":
    main()
