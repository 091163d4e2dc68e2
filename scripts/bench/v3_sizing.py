"""Benchmark sizing a route with V3 hops: CPU ms per `Guards.size` call.

The markets of tests/guards/test_v3_sizing.py (a small V3 pool beside the sim's WETH/USDC
V2 pair, or two V3 pools; random tick layouts), each opportunity at its brute-force
optimum and the price-impact limit set at half its impact, so every call resizes: the
boundary's binary search (the rule read on the exact swaps) and the exact optimum within
it (`v3_hops.walk`, memo cleared before each call); beside them, in the same run, the
V2 route of tests/guards/test_sizing.py at 40 bps (`exact.walk`). CPU time
(`time.process_time`), so a busy neighbour does not inflate it.

    PYTHONPATH=$PWD .venv/bin/python scripts/bench/v3_sizing.py [--seeds 12] [--repeat 20]
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import tempfile
import time
from pathlib import Path

from engine.guards.rules import price_impact_bps
from engine.ledger.sqlite import SqliteLedger
from engine.strategy import v3_hops
from tests.guards.build import Clock
from tests.guards.conftest import QUIET_TRADE_RULES
from tests.guards.test_sizing import Market as V2Market
from tests.guards.test_v3_sizing import Mixed


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seeds", type=int, default=12)
    parser.add_argument("--repeat", type=int, default=20)
    args = parser.parse_args()
    store = SqliteLedger(Path(tempfile.mkdtemp()) / "bench.db")  # never opened: not written
    print(f"{platform.processor() or platform.machine()}, load {os.getloadavg()[0]:.2f}")
    print("| route | cases | ms CPU per size call, p50 | max |")
    print("|---|---|---|---|")
    for shape in ("v3+v2", "v3+v3"):
        times = []
        for seed in range(args.seeds):
            probe = Mixed(store, seed, shape)
            best = probe.optimum()
            limit = price_impact_bps(best, probe.venue.market.pools) // 2
            disabled = ["max_head_age", "max_notional", *QUIET_TRADE_RULES]
            market = Mixed(store, seed, shape, disabled=disabled, max_price_impact_bps=limit)
            for _ in range(args.repeat):
                v3_hops._WALKS.clear()
                started = time.process_time()
                sized = market.guards.size(best)
                times.append((time.process_time() - started) * 1000)
                assert sized.amount_in < best.amount_in
        print(f"| {shape} | {args.seeds} | {statistics.median(times):.2f} | {max(times):.2f} |")
    v2 = V2Market(store, Clock(), max_price_impact_bps=40, min_net_profit_quote="1")
    best = v2.optimum()
    times = []
    for _ in range(args.repeat * args.seeds):
        started = time.process_time()
        assert v2.guards.size(best).amount_in < best.amount_in
        times.append((time.process_time() - started) * 1000)
    print(f"| v2+v2 (the sim's pools) | 1 | {statistics.median(times):.2f} | {max(times):.2f} |")


if __name__ == "__main__":
    main()
