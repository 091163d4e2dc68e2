"""Benchmark: CPU µs per EIP-1559 signature, the engine's Signer against eth_account, one run.

The bar (issue 19): signing ≤ 0.3 ms. Three signers sign the same transactions in one
process, interleaved round by round so neighbours on a shared machine slow them alike:
eth_account on eth_keys' pure-Python backend (what the engine used), eth_account on
eth_keys' coincurve backend, and `engine.execution.signer.Signer` (coincurve + a direct
EIP-1559 encoding when coincurve is installed). CPU time (process_time), median of rounds;
each round also checks the three produce the same bytes.

    .venv/bin/python scripts/bench/signing.py [--rounds 15] [--per-round 200] [--json]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import time
from collections.abc import Callable
from typing import Any

from eth_account import Account
from eth_keys import keys
from eth_keys.backends import NativeECCBackend

from engine.execution.signer import Signer

TARGET_US = 300.0
KEY = bytes.fromhex("4c0883a69102937d6231471b5dbb6204fe5129617082792ae468d01a3f362318")
TX = {
    "type": 2,
    "chainId": 31337,
    "nonce": 7,
    "to": "0x5FbDB2315678afecb367f032d93F642f64180aa3",
    "value": 0,
    "gas": 350_000,
    "maxFeePerGas": 30_000_000_000,
    "maxPriorityFeePerGas": 1_000_000_000,
    "data": "0x" + "ab" * 196,  # a 3-hop swap call's size
}


def _eth_account(backend: Any) -> Callable[[dict[str, Any]], str]:
    private = keys.PrivateKey(KEY, backend=backend)
    return lambda tx: "0x" + Account.sign_transaction(tx, private).raw_transaction.hex()


def _signers() -> dict[str, Callable[[dict[str, Any]], str]]:
    found: dict[str, Callable[[dict[str, Any]], str]] = {
        "eth_account (pure Python)": _eth_account(NativeECCBackend())
    }
    try:
        from eth_keys.backends import CoinCurveECCBackend

        found["eth_account (coincurve backend)"] = _eth_account(CoinCurveECCBackend())
    except ImportError:
        pass
    signer = Signer(KEY)
    found[f"engine Signer ({signer.backend})"] = lambda tx: signer.sign(tx).raw
    return found


def _round(sign: Callable[[dict[str, Any]], str], n: int, nonce: int) -> tuple[float, str]:
    tx = {**TX, "nonce": nonce}
    t0 = time.process_time()
    for _ in range(n):
        raw = sign(tx)
    return (time.process_time() - t0) / n * 1e6, raw


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--per-round", type=int, default=200)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    signers = _signers()
    samples: dict[str, list[float]] = {name: [] for name in signers}
    for nonce in range(args.rounds):
        raws = set()
        for name, sign in signers.items():
            us, raw = _round(sign, args.per_round, nonce)
            samples[name].append(us)
            raws.add(raw)
        if len(raws) != 1:
            sys.exit(f"signers disagree at nonce {nonce}")
    medians = {name: round(statistics.median(v), 1) for name, v in samples.items()}
    engine_us = medians[next(n for n in medians if n.startswith("engine"))]
    results = {
        "machine": f"{platform.processor() or platform.machine()}, {os.cpu_count()} CPUs, "
        f"Python {platform.python_version()}",
        "load": os.getloadavg(),
        "rounds": args.rounds,
        "per_round": args.per_round,
        "cpu_us_per_signature": medians,
        "target_us": TARGET_US,
    }
    if args.json:
        print(json.dumps(results, indent=2))
    else:
        load = " ".join(f"{x:.2f}" for x in results["load"])
        print(f"load {load}; {args.rounds} rounds x {args.per_round} signatures")
        for name, us in medians.items():
            print(f"  {us:9.1f} µs CPU  {name}")
        print(f"target ≤ {TARGET_US:.0f} µs: {'met' if engine_us <= TARGET_US else 'MISSED'}")
    return 0 if engine_us <= TARGET_US else 1


if __name__ == "__main__":
    sys.exit(main())
