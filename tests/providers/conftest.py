"""Provider tests: the devnet of tests/devnet, fault proxies in front of its anvil, and
engine configs that name the proxies as `[[providers]]` p0, p1, p2 (priority order).

The devnet fixtures are imported from tests/devnet/conftest.py (fixtures are per
directory); the proxies run on a loop of their own (tests/providers/proxy.py), so a
test may block on a subprocess while an engine talks through them.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from engine.config import Config, ProviderEntry
from engine.devnet import operator_files
from engine.devnet.world import World
from tests.devnet import conftest as devnet_fixtures
from tests.devnet.test_evm_trading import v2_config
from tests.providers.proxy import FaultProxy, ProxyLoop

# The devnet's session fixtures, shared by name with this directory.
npm_root = devnet_fixtures.npm_root
devnet = devnet_fixtures.devnet
world = devnet_fixtures.world
clean_chain = devnet_fixtures.clean_chain


@pytest.fixture
def proxy_loop() -> Iterator[ProxyLoop]:
    loop = ProxyLoop()
    yield loop
    loop.close()


@pytest.fixture
def proxies(proxy_loop: ProxyLoop, world: World) -> list[FaultProxy]:
    """Three proxies to the same anvil: p0 (preferred), p1, p2."""
    return [proxy_loop.proxy(world.rpc_url) for _ in range(3)]


def provider_entries(proxies: list[FaultProxy]) -> list[ProviderEntry]:
    return [ProviderEntry(f"p{i}", proxy.url, i) for i, proxy in enumerate(proxies)]


def proxied_config(world: World, proxies: list[FaultProxy]) -> Config:
    """The devnet's engine config with the proxies as its RPC providers."""
    config = v2_config(world)
    config.providers = provider_entries(proxies)
    return config


def proxied_toml(world: World, proxies: list[FaultProxy]) -> str:
    """The same, as the TOML an engine process reads."""
    text = operator_files.render_config(world)
    single = f'\n[[providers]]\nname = "anvil"\nurl = "{world.rpc_url}"\npriority = 0\n'
    assert single in text
    entries = "".join(
        f'\n[[providers]]\nname = "{e.name}"\nurl = "{e.url}"\npriority = {e.priority}\n'
        for e in provider_entries(proxies)
    )
    return text.replace(single, entries)
