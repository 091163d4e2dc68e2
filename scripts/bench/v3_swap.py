"""Benchmark the exact Uniswap V3 swap: CPU µs per swap and per initialised tick crossed.

A pool at tick 0 with spacing 60 and an initialised tick every `--gap` spacings (both
sides, `--ticks` in all, liquidity stepping up and down) is swapped in both directions
with exact inputs sized to cross 0, 1, 4, 16 and 64 initialised ticks. Each size is timed
with `time.process_time` over `--repeat` swaps (CPU time, so a busy neighbour does not
inflate it), and the per-tick cost is the slope between the 64-tick and 0-tick sizes;
likewise the quote-only path the search uses (`pool.quote_exact_input`), where it exists.

    .venv/bin/python scripts/bench/v3_swap.py [--repeat 2000] [--gap 3] [--ticks 400]

Prints a Markdown table for docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import os
import platform
import time

from engine.market.v3 import pool as v3pool
from engine.market.v3.tick_math import sqrt_ratio_at_tick
from engine.market.v3.ticks import TickTable

SPACING = 60
LIQUIDITY = 10**22
CROSSINGS = (0, 1, 4, 16, 64)


def build(ticks: int, gap: int) -> v3pool.V3PoolState:
    state = v3pool.state_at_price(sqrt_ratio_at_tick(0) + 1, 3000, SPACING)
    state.ticks = TickTable(SPACING)
    half = ticks // 2
    v3pool.apply_mint(
        state, -half * gap * SPACING - SPACING, half * gap * SPACING + SPACING, LIQUIDITY
    )
    for i in range(1, half):
        v3pool.apply_mint(state, -i * gap * SPACING, i * gap * SPACING, LIQUIDITY // 100)
    return state


def size_for(state: v3pool.V3PoolState, crossings: int, gap: int) -> int:
    """An exact input of token1 that moves the price just past `crossings` initialised ticks."""
    if crossings == 0:
        return 10**12
    target = v3pool.swap(state, False, 10**40, sqrt_ratio_at_tick(crossings * gap * SPACING + 1))
    return target.amount1


def cpu_us(state: v3pool.V3PoolState, amount: int, repeat: int) -> tuple[float, int]:
    start = time.process_time()
    for _ in range(repeat):
        result = v3pool.swap(state, False, amount)
    elapsed = time.process_time() - start
    return elapsed / repeat * 1e6, result.ticks_crossed


def quote_us(state: v3pool.V3PoolState, amount: int, repeat: int) -> float | None:
    """CPU µs per exact-input quote (`pool.quote_exact_input`, what the search's walks call);
    None on a tree without it (an old checkout run for comparison)."""
    quote = getattr(v3pool, "quote_exact_input", None)
    if quote is None:
        return None
    start = time.process_time()
    for _ in range(repeat):
        quote(state, False, amount)
    return (time.process_time() - start) / repeat * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=2000)
    parser.add_argument("--gap", type=int, default=3)
    parser.add_argument("--ticks", type=int, default=400)
    args = parser.parse_args()
    state = build(args.ticks, args.gap)
    print(
        f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores;"
        f" load {os.getloadavg()[0]:.2f}"
    )
    print(
        "| initialised ticks crossed | CPU µs per swap | CPU µs per exact-input quote |"
        "\n|---:|---:|---:|"
    )
    rows = []
    for crossings in CROSSINGS:
        amount = size_for(state, crossings, args.gap)
        micros, crossed = cpu_us(state, amount, args.repeat)
        quoted = quote_us(state, amount, args.repeat)
        rows.append((crossed, micros, quoted))
        print(f"| {crossed} | {micros:.1f} | {'—' if quoted is None else f'{quoted:.1f}'} |")
    span = max(1, rows[-1][0] - rows[0][0])
    slope = (rows[-1][1] - rows[0][1]) / span
    print(
        f"\nper initialised tick crossed: {slope:.2f} µs CPU per swap"
        f" (slope between {rows[0][0]} and {rows[-1][0]})"
    )
    if rows[0][2] is not None and rows[-1][2] is not None:
        print(f"per initialised tick crossed: {(rows[-1][2] - rows[0][2]) / span:.2f} µs per quote")


if __name__ == "__main__":
    main()
