"""`arbctl devnet …`: a local anvil chain with Uniswap V2 and V3, lenders and our executor.

The engine config `up` writes trades the V2 pairs and the V3 pools, borrowing from the
devnet's Balancer Vault (then Aave, then the route's first V2 pair).

Only typer and the project's output helpers are imported here; everything from
`engine.devnet` is imported inside the commands, and web3 only by `up` (deploying needs
it; `status`, `trade` and `down` speak plain JSON-RPC).

Progress goes to stderr, results to stdout (`--json`: one document, fields below), and
the operator's private key is never printed: only the path of its 0600 key file.

Exit codes: 0 ok · 1 failed (install, anvil, deploy or a trade) · 3 no devnet running
(`status`, `trade`) · 4 a devnet is already running (`up`).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, NoReturn

import typer

from arbctl import exitcodes, output

if TYPE_CHECKING:
    from engine.devnet.world import World

app = typer.Typer(
    help="Local devnet: anvil + Uniswap V2 (two dexes) and V3 + lenders + the ArbExecutor.",
    no_args_is_help=True,
    add_completion=False,  # completion belongs to the root `arbctl` app
    pretty_exceptions_show_locals=False,  # locals could hold key material
)

DirOpt = Annotated[
    Path | None,
    typer.Option(
        "--dir",
        envvar="ARBCTL_DEVNET_DIR",
        show_default=False,
        help="Devnet state directory (anvil pid/log, world.json, config, key). "
        "Default: $XDG_STATE_HOME/arbctl/devnet.",
    ),
]
JsonOpt = Annotated[bool, typer.Option("--json", help="Machine-readable JSON on stdout.")]
PortOpt = Annotated[
    int | None,
    typer.Option("--port", min=1, max=65535, show_default=False, help="Default: a free port."),
]


@app.command()
def up(port: PortOpt = None, directory: DirOpt = None, as_json: JsonOpt = False) -> None:
    """Install the toolchain if needed, start anvil, deploy the world, write config and key.

    JSON fields: rpc_url, chain_id, pid, port, state_dir, config_file, key_file, operator,
    contracts {executor, weth, tokens, dexes}, pairs, router_bytecode.
    """
    from engine.devnet import lifecycle, paths
    from engine.devnet.errors import DevnetError

    state = paths.ensure_private_dir(paths.state_dir(directory))
    try:
        devnet = lifecycle.up(state, port)
    except lifecycle.AlreadyRunning as running:
        output.fail(
            f"{running}; stop it with `arbctl devnet down` (state dir {state})",
            exitcodes.ALREADY_RUNNING,
            as_json,
            rpc_url=running.handle.url,
            config_file=running.world.config_file if running.world else None,
        )
    except DevnetError as error:
        _fail(error, as_json)
    document = _up_document(devnet.world, devnet.handle.pid, devnet.handle.port, state)
    if as_json:
        output.emit_json(document)
    else:
        _render_up(document)


@app.command()
def down(directory: DirOpt = None, as_json: JsonOpt = False) -> None:
    """Stop the devnet's anvil and delete its world, config and key (the log stays)."""
    from engine.devnet import lifecycle, paths

    state = paths.state_dir(directory)
    stopped = lifecycle.down(state)
    if as_json:
        output.emit_json({"stopped": stopped, "state_dir": str(state)})
    else:
        output.say("devnet stopped" if stopped else f"no devnet was running for {state}")


@app.command()
def status(directory: DirOpt = None, as_json: JsonOpt = False) -> None:
    """Block number, accounts with balances, contract addresses and pool reserves.

    JSON fields: running, rpc_url, chain_id, pid, block, state_dir, config_file, key_file,
    contracts, accounts [{role, address, eth_wei, tokens}], pairs [{dex, address, symbols,
    reserve0, reserve1}]. Amounts are integers in base units.
    """
    from engine.devnet import paths
    from engine.devnet import status as devnet_status
    from engine.devnet.errors import DevnetError

    state = paths.state_dir(directory)
    try:
        document = devnet_status.report(state)
    except devnet_status.NotRunning as error:
        output.fail(str(error), exitcodes.UNREACHABLE, as_json, running=False)
    except DevnetError as error:
        _fail(error, as_json)
    if as_json:
        output.emit_json(document)
    else:
        _render_status(document)


@app.command()
def trade(
    rate: Annotated[float, typer.Option("--rate", min=0.01, help="Swaps per second.")] = 5.0,
    seconds: Annotated[float, typer.Option("--seconds", min=0.1, help="How long.")] = 10.0,
    seed: Annotated[int | None, typer.Option("--seed", help="Repeatable randomness.")] = None,
    directory: DirOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Random swaps on V2 pairs and V3 pools to move prices apart (at most rate × seconds).

    JSON fields: trades, failed, seconds, by_dex, first_block, last_block.
    """
    from engine.devnet import paths
    from engine.devnet import status as devnet_status
    from engine.devnet.errors import DevnetError

    state = paths.state_dir(directory)
    try:
        _, world = devnet_status.running(state)
        from engine.devnet import noise

        result = noise.run(world, rate, seconds, seed=seed)
    except devnet_status.NotRunning as error:
        output.fail(str(error), exitcodes.UNREACHABLE, as_json)
    except DevnetError as error:
        _fail(error, as_json)
    document = {
        "trades": result.trades,
        "failed": result.failed,
        "seconds": round(result.seconds, 3),
        "by_dex": result.by_dex,
        "first_block": result.first_block,
        "last_block": result.last_block,
    }
    if as_json:
        output.emit_json(document)
    else:
        output.say(
            f"{result.trades} swaps ({result.failed} failed) in {result.seconds:.1f} s, "
            f"blocks {result.first_block}→{result.last_block}: {result.by_dex}"
        )


def _fail(error: Exception, as_json: bool) -> NoReturn:
    """One line naming the failure; our errors never carry key material."""
    output.fail(f"{type(error).__name__}: {error}", exitcodes.FAILED, as_json)


def _up_document(world: World, pid: int, port: int, state: Path) -> dict[str, Any]:
    from engine.devnet.status import contracts

    return {
        "rpc_url": world.rpc_url,
        "chain_id": world.chain_id,
        "pid": pid,
        "port": port,
        "state_dir": str(state),
        "config_file": world.config_file,
        "key_file": world.key_file,
        "operator": world.operator,
        "contracts": contracts(world),
        "pairs": [
            {"dex": p.dex, "address": p.address, "symbols": list(p.symbols)} for p in world.pairs
        ],
        "router_bytecode": world.router_bytecode,
    }


def _render_up(doc: dict[str, Any]) -> None:
    output.say(f"[bold green]devnet up[/] on {doc['rpc_url']} (chain {doc['chain_id']})")
    output.print_fields(
        [
            ("config", doc["config_file"]),
            ("operator", doc["operator"]),
            ("key file", f"{doc['key_file']} (0600)"),
            ("anvil", f"pid {doc['pid']} · state {doc['state_dir']}"),
        ]
    )
    _render_contracts(doc["contracts"])


def _render_contracts(contracts: dict[str, Any]) -> None:
    """Addresses as key/value lines: tables would truncate them on an 80-column terminal."""
    rows = [("executor", contracts["executor"])]
    rows += [
        (symbol, f"{t['address']} ({t['decimals']} dp)")
        for symbol, t in contracts["tokens"].items()
    ]
    for name, dex in contracts["dexes"].items():
        rows += [(f"{name} factory", dex["factory"]), (f"{name} router", dex["router"])]
    output.print_fields(rows, title="contracts")


def _render_status(doc: dict[str, Any]) -> None:
    output.say(f"[bold green]devnet running[/] on {doc['rpc_url']} · block {doc['block']}")
    output.print_fields(
        [
            ("config", doc["config_file"]),
            ("anvil", f"pid {doc['pid']} · state {doc['state_dir']}"),
        ]
    )
    _render_contracts(doc["contracts"])
    output.print_fields([(a["role"], a["address"]) for a in doc["accounts"]], title="accounts")
    decimals = {s: t["decimals"] for s, t in doc["contracts"]["tokens"].items()}
    output.print_table(
        ["role", "ETH", *decimals],
        [
            (
                a["role"],
                _display(a["eth_wei"], 18),
                *(_display(a["tokens"][s], d) for s, d in decimals.items()),
            )
            for a in doc["accounts"]
        ],
        title="balances",
    )
    output.print_table(
        ["dex", "pair", "reserve0", "reserve1"],
        [
            (
                p["dex"],
                "/".join(p["symbols"]),
                _display(p["reserve0"], decimals[p["symbols"][0]]),
                _display(p["reserve1"], decimals[p["symbols"][1]]),
            )
            for p in doc["pairs"]
        ],
        title="pairs",
    )


def _display(amount: int, decimals: int) -> str:
    """Whole units for humans only, 2 decimals or a M/G suffix (JSON keeps exact integers)."""
    whole, fraction = divmod(amount, 10**decimals)
    for suffix, size in (("G", 10**9), ("M", 10**6)):
        if whole >= size:
            return f"{whole // size:,}.{whole % size * 100 // size:02d}{suffix}"
    return f"{whole:,}.{fraction * 100 // 10**decimals:02d}"


if __name__ == "__main__":
    app()
