"""The one RPC endpoint an operator tool signs for, checked to serve the configured chain.

`arbctl executor`, `arbctl wallet rotate` and the devnet's deploy send a handful of signed
transactions one after the other over synchronous web3 (the engine's own sends go through
its async `RpcClient` and `ProviderSet` instead). Before anything is signed the endpoint
must answer with the configured chain id: a transaction is signed for one chain, and a
node of another chain must not be handed it. The endpoints tried are `--rpc-url` when
given, else the config's HTTP RPC providers in priority order; the first that answers
with the right chain id is the one used. Every message names endpoints with credentials
masked (`redact_text`), and none ever holds a key: nothing here sees one.
"""

from __future__ import annotations

from collections.abc import Sequence

from web3 import HTTPProvider, Web3

from engine.config import Config, redact_text
from engine.execution.errors import ExecutionError

CONNECT_TIMEOUT_S = 10.0


class NoUsableEndpoint(ExecutionError):
    """No endpoint answered, or none serves the configured chain; each one is named."""


def endpoint_urls(config: Config, rpc_url: str | None) -> list[str]:
    """`rpc_url` if given, else the config's http(s) RPC providers by priority."""
    if rpc_url:
        return [rpc_url]
    providers = sorted(
        (p for p in config.providers if p.kind == "rpc" and p.url.startswith("http")),
        key=lambda p: p.priority,
    )
    return [p.url for p in providers]


def connect(
    urls: Sequence[str], chain_id: int, timeout_s: float = CONNECT_TIMEOUT_S
) -> tuple[Web3, str]:
    """The first endpoint that answers with `chain_id`: (w3, its label with secrets masked)."""
    if not urls:
        raise NoUsableEndpoint("no RPC endpoint: add a [[providers]] entry or pass --rpc-url")
    problems = []
    for url in urls:
        label = redact_text(url)
        w3 = Web3(HTTPProvider(url, request_kwargs={"timeout": timeout_s}))
        try:
            served = int(w3.eth.chain_id)
        except Exception as exc:
            problems.append(f"{label}: {type(exc).__name__}")
            continue
        if served != chain_id:
            problems.append(f"{label} serves chain id {served}, not {chain_id}")
            continue
        return w3, label
    raise NoUsableEndpoint("no usable RPC endpoint: " + "; ".join(problems))


def node_reason(exc: BaseException) -> str:
    """What the node said, for a one-line message: a revert's reason without web3's
    "execution reverted: " prefix, at most 300 characters."""
    message = getattr(exc, "message", None) or str(exc)
    return str(message).removeprefix("execution reverted: ")[:300]
