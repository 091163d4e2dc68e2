"""Gas per executor path on anvil: route kind × lender, from real receipts.

    .venv/bin/python scripts/bench/executor_gas.py [--json]

Starts its own devnet (`arbctl devnet up` in a temporary directory), measures every path
with engine/devnet/gas_paths.py (each from the same snapshot: 1,000 USDC in, the cycle
made profitable by a 5 % donation to its last pool) and prints gasUsed per route kind
(rows) and lender (columns), plus each lender's overhead over the inventory path (the
median over route kinds): the figures `engine/strategy/gas_model.py` takes as priors.
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from engine.devnet import gas_paths, lifecycle, operator_files
from engine.devnet.chain import connect


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--json", action="store_true", help="the measurements as JSON")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="arbctl-gas-") as directory:
        devnet = lifecycle.up(Path(directory), progress=lambda _line: None)
        try:
            world = devnet.world
            key = operator_files.read_key(Path(world.key_file))
            measured = gas_paths.measure_all(connect(world.rpc_url), world, key)
        finally:
            lifecycle.down(Path(directory))
    if args.json:
        print(json.dumps([_row(m) for m in measured], indent=2))
        return 0
    _print_table(measured)
    return 0


def _row(m: gas_paths.Measured) -> dict[str, object]:
    return {"route": m.route, "lender": m.lender, "gas_used": m.gas_used}


def _print_table(measured: list[gas_paths.Measured]) -> None:
    lenders = list(gas_paths.LOANS)
    by = {(m.route, m.lender): m.gas_used for m in measured}
    routes = list(dict.fromkeys(m.route for m in measured))
    print(f"machine: {platform.machine()} {platform.python_version()}; gasUsed per path")
    print(f"{'route':14}" + "".join(f"{lender:>13}" for lender in lenders))
    for route in routes:
        cells = [
            f"{by[(route, lender)]:>13,}" if (route, lender) in by else f"{'—':>13}"
            for lender in lenders
        ]
        print(f"{route:14}" + "".join(cells))
    inventory = _median(
        [by[(r, "inventory")] - by[(r, "first-hop")] for r in routes if (r, "first-hop") in by]
    )
    print("\nlender overhead: over inventory (median over route kinds) and over first-hop")
    print("(that + inventory's median over the V2 routes): gas_model.LENDER_GAS_OVERHEAD")
    for lender in lenders:
        if lender == "first-hop":
            print(f"  {lender:12} {-inventory:>+9,} {0:>+9,}")
            continue
        over = _median(
            [by[(r, lender)] - by[(r, "inventory")] for r in routes if (r, lender) in by]
        )
        print(f"  {lender:12} {over:>+9,} {over + inventory:>+9,}")


def _median(values: list[int]) -> int:
    return int(statistics.median(values))


if __name__ == "__main__":
    raise SystemExit(main())
