"""The one RPC endpoint an operator tool (`arbctl executor`, `arbctl wallet rotate`, the
devnet's deploy) signs for: --rpc-url, else the config's HTTP RPC providers by priority,
the first that answers with the configured chain id; endpoints named with credentials
masked. The chain-id check against a real node is exercised by tests/devnet
(test_executor_cli.py) and tests/scripts/runbook (wallet rotate).
"""

from __future__ import annotations

import pytest

from engine.config import Config, ProviderEntry
from engine.execution.operator_rpc import NoUsableEndpoint, connect, endpoint_urls

DEAD = "http://127.0.0.1:9"  # nothing listens on the discard port


def _config(*providers: ProviderEntry) -> Config:
    return Config(providers=list(providers))


def test_the_rpc_url_given_is_the_only_endpoint_tried() -> None:
    config = _config(ProviderEntry("a", "http://a.example", 0))

    assert endpoint_urls(config, "http://given.example") == ["http://given.example"]


def test_without_one_the_http_rpc_providers_are_tried_by_priority() -> None:
    config = _config(
        ProviderEntry("late", "https://late.example", 5),
        ProviderEntry("socket", "wss://socket.example", 0),
        ProviderEntry("vault", "balancer-v2://0x" + "b1" * 20, 0, kind="liquidity"),
        ProviderEntry("early", "http://early.example", -1),
    )

    assert endpoint_urls(config, None) == ["http://early.example", "https://late.example"]


def test_no_endpoint_at_all_says_how_to_name_one() -> None:
    with pytest.raises(NoUsableEndpoint, match=r"add a \[\[providers\]\] entry or pass --rpc-url"):
        connect([], 1)


def test_an_endpoint_that_does_not_answer_is_named_with_its_credentials_masked() -> None:
    secret = "0123456789abcdef0123456789abcdef"

    with pytest.raises(NoUsableEndpoint) as refused:
        connect([f"{DEAD}/v3/{secret}", DEAD], 1, timeout_s=2.0)

    message = str(refused.value)
    assert message.startswith(f"no usable RPC endpoint: {DEAD}/v3/***: ")
    assert f"; {DEAD}: " in message
    assert secret not in message
