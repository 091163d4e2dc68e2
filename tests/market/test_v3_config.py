"""`evm.v3_factories` / `evm.v3_pools` / `evm.v3_word_radius`: what the venue reads for
V3 pools, and the one rule that relates them (engine/config.py `_v3`)."""

from __future__ import annotations

from pathlib import Path

import pytest

from engine.config import ConfigError, load

TOKENS = (
    'tokens = [{ address = "0x' + "11" * 20 + '", symbol = "WETH", decimals = 18 },\n'
    '  { address = "0x' + "22" * 20 + '", symbol = "USDC", decimals = 6 }]\n'
)
FACTORY = "0x" + "1f" * 20
POOL = "0x" + "33" * 20


VAULT = "0xBA12222222228d8Ba445958a75a0704d566BF2C8"
LENDER = f'[[providers]]\nname = "vault"\nkind = "liquidity"\nurl = "balancer-v2://{VAULT}"\n'


def write(tmp_path: Path, evm: str, lender: str = LENDER) -> Path:
    path = tmp_path / "arbctl.toml"
    path.write_text(
        '[market]\nvenue = "evm"\nnative = "WETH"\nquote = "USDC"\n'
        f'[evm]\nexecutor = "0x{"ee" * 20}"\n{TOKENS}{evm}'
        '[[providers]]\nname = "node"\nurl = "http://127.0.0.1:8545"\n'
        f"{lender}"
    )
    return path


def test_a_v3_factory_alone_is_a_market_to_trade(tmp_path: Path) -> None:
    config = load(
        write(
            tmp_path,
            f'v3_factories = [{{ name = "uniswap-v3", address = "{FACTORY}", '
            "from_block = 12369621 }]\nv3_word_radius = 4\n",
        )
    )
    (factory,) = config.evm.v3_factories
    assert (factory.name, factory.address, factory.from_block) == ("uniswap-v3", FACTORY, 12369621)
    assert config.evm.v3_word_radius == 4 and config.evm.v3_pools == []


def test_an_explicit_v3_pool_list_alone_is_a_market_to_trade(tmp_path: Path) -> None:
    assert load(write(tmp_path, f'v3_pools = ["{POOL}"]\n')).evm.v3_pools == [POOL]


@pytest.mark.parametrize(
    ("evm", "key", "problem"),
    [
        (
            f'v3_pools = ["{POOL}", "{POOL.upper().replace("0X", "0x")}"]\n',
            "evm.v3_pools",
            "each pool",
        ),
        (f'pairs = ["{POOL}"]\nv3_pools = ["{POOL}"]\n', "evm.v3_pools", "V3 pools only"),
        (
            f'v3_factories = [{{ name = "a", address = "{FACTORY}" }}, '
            f'{{ name = "b", address = "{FACTORY}" }}]\n',
            "evm.v3_factories",
            "each factory",
        ),
        ("v3_word_radius = 65\n" + f'v3_pools = ["{POOL}"]\n', "evm.v3_word_radius", ""),
        ("", "evm.factories", "v3_factories"),
    ],
)
def test_v3_pools_listed_twice_or_as_v2_pairs_are_refused(
    tmp_path: Path, evm: str, key: str, problem: str
) -> None:
    with pytest.raises(ConfigError) as raised:
        load(write(tmp_path, evm))
    assert key in str(raised.value) and problem in str(raised.value)


def test_v3_pools_without_a_liquidity_source_for_their_routes_are_refused(
    tmp_path: Path,
) -> None:
    first_hop = '[[providers]]\nname = "pair"\nkind = "liquidity"\nurl = "pair://first-hop"\n'
    for lender in ("", first_hop):
        with pytest.raises(ConfigError, match="liquidity"):
            load(write(tmp_path, f'v3_pools = ["{POOL}"]\n', lender))
    assert load(write(tmp_path, 'pairs = ["0x' + "44" * 20 + '"]\n', "")).evm.pairs
