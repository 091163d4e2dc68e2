"""A liquidity source's URL names the contract path; the configuration refuses the rest."""

from __future__ import annotations

from pathlib import Path

import pytest

from engine.config import ConfigError, load
from engine.execution.evm import execute_calldata
from engine.lenders.loans import lender_kind, loan_of
from engine.market.evm import abi
from engine.market.venue import FIRST_HOP, ArbOrder, Loan, SwapHop

VAULT = "0xBA12222222228d8Ba445958a75a0704d566BF2C8"


def test_each_scheme_is_a_contract_path() -> None:
    assert loan_of("pair://first-hop") == FIRST_HOP
    assert loan_of("inventory://") == Loan("inventory")
    assert loan_of(f"balancer-v2://{VAULT.lower()}?fee_bps=0") == Loan("balancer-v2", VAULT)
    assert loan_of(f"aave-v3://{VAULT}?fee_bps=5").kind == "aave-v3"


def _config(tmp_path: Path, venue: str, url: str) -> Path:
    path = tmp_path / "arbctl.toml"
    path.write_text(
        f'[market]\nvenue = "{venue}"\n'
        f'[[providers]]\nname = "lender"\nkind = "liquidity"\nurl = "{url}"\n'
    )
    return path


def test_an_unknown_lender_scheme_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="lender scheme"):
        load(_config(tmp_path, "sim", "flash://somewhere"))


def test_on_a_chain_a_lender_must_be_named_by_its_address(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="contract address"):
        load(_config(tmp_path, "evm", "aave-v3://pool?fee_bps=5"))


def test_a_lender_order_is_run_with_the_fee_left_to_the_contract() -> None:
    hops = (
        SwapHop("0x" + "11" * 20, "0x" + "aa" * 20, "0x" + "bb" * 20, 0),
        SwapHop("0x" + "22" * 20, "0x" + "bb" * 20, "0x" + "aa" * 20, 0),
    )
    order = ArbOrder(
        "o", "0x" + "aa" * 20, 10**6, hops, 500, 300, 0, 0, loan=Loan("balancer-v2", VAULT)
    )
    data = execute_calldata(order, {"0x" + "22" * 20: 25})
    decoded = abi.decode_run(data)
    assert decoded is not None
    pools, _token, amount, floor = decoded
    assert [p.lower() for p in pools] == ["0x" + "11" * 20, "0x" + "22" * 20]
    assert (amount, floor) == (10**6, 200)  # min_profit 500 includes a 300 fee estimate
    legacy = execute_calldata(ArbOrder("o", order.token, 10**6, hops, 500, 300, 0, 0))
    assert legacy.startswith(abi.EXECUTE_SELECTOR)


def test_a_lender_named_without_an_address_still_has_a_kind_for_the_gas_model() -> None:
    """The simulated market names lenders (`aave-v3://pool`); the gas model asks the active
    lender's kind every block, and that question must never stop the pipeline."""
    assert lender_kind("aave-v3://pool?fee_bps=9") == "aave-v3"
    assert lender_kind("pair://first-hop") == "first-hop"
    assert lender_kind("nonsense://x") == "first-hop"
