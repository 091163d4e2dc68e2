"""Submission routes in the config's one validator, and the relay reputation key.

The routes' behaviour on a chain (private sends, bundles, the kill) is in
tests/devnet/test_evm_routes.py; here: what `load` refuses (each by its key), how the
engine chooses routes per chain, and the separation of the reputation key from the
trading key (its own 0600 file, never the same key, never shown).
"""

from __future__ import annotations

import os
import pickle
from pathlib import Path

import pytest
from eth_account import Account
from eth_account.messages import encode_defunct
from eth_hash.auto import keccak

from engine.config import ConfigError, RouteEntry, chain_routes, load, redacted
from engine.execution.reputation import ReputationSigner, load_reputation_signer
from engine.execution.signer import KeyLoadError
from engine.market.evm.bundles import SIGNATURE_HEADER, SignedTransport
from engine.market.evm.endpoint_health import ProviderHealth
from engine.market.evm.endpoints import Provider, ProviderSet
from engine.market.evm.routes import SubmissionRoutes
from engine.market.evm.rpc import Endpoint, RpcClient

TRADING_KEY = bytes.fromhex("11" * 32)
REPUTATION_KEY = bytes.fromhex("22" * 32)
RPC_URL = "http://127.0.0.1:8545"

EVM = f"""
[market]
venue = "evm"
native = "WETH"
quote = "USDC"

[evm]
chain_id = 31337
executor = "0x{"ab" * 20}"
tokens = [
  {{ address = "0x{"01" * 20}", symbol = "WETH", decimals = 18 }},
  {{ address = "0x{"02" * 20}", symbol = "USDC", decimals = 6 }},
]
factories = [{{ name = "uniswap", address = "0x{"03" * 20}" }}]
{{evm_extra}}

[[providers]]
name = "anvil"
url = "{RPC_URL}"
"""


def key_file(directory: Path, name: str, key: bytes, mode: int = 0o600) -> Path:
    path = directory / name
    path.write_text("0x" + key.hex() + "\n")
    os.chmod(path, mode)
    return path


def config_file(directory: Path, routes: str, evm_extra: str = "") -> Path:
    path = directory / "config.toml"
    path.write_text(EVM.replace("{evm_extra}", evm_extra) + routes)
    return path


def refused_keys(path: Path) -> set[str]:
    with pytest.raises(ConfigError) as refused:
        load(path)
    return {error.key for error in refused.value.errors}


def bundle_route(url: str = "https://relay.example/") -> str:
    return f'\n[[routes]]\nname = "relay"\nkind = "bundle"\nurl = "{url}"\n'


# --- the validator ------------------------------------------------------------------------
def test_a_private_route_to_a_public_rpc_endpoint_is_refused(tmp_path: Path) -> None:
    routes = f'\n[[routes]]\nname = "p"\nkind = "private"\nurl = "{RPC_URL}/"\n'
    assert refused_keys(config_file(tmp_path, routes)) == {"routes[0].url"}


def test_a_public_route_takes_no_url_and_the_others_need_one(tmp_path: Path) -> None:
    routes = (
        f'\n[[routes]]\nname = "pub"\nkind = "public"\nurl = "{RPC_URL}"\n'
        '\n[[routes]]\nname = "priv"\nkind = "private"\n'
    )
    assert refused_keys(config_file(tmp_path, routes)) == {"routes[0].url", "routes[1].url"}


def test_bundle_settings_on_a_private_route_are_refused(tmp_path: Path) -> None:
    routes = (
        '\n[[routes]]\nname = "p"\nkind = "private"\nurl = "https://protect.example"\n'
        'builders = ["b"]\n'
    )
    assert refused_keys(config_file(tmp_path, routes)) == {"routes[0].kind"}


def test_a_route_named_like_a_provider_is_refused(tmp_path: Path) -> None:
    routes = '\n[[routes]]\nname = "anvil"\nkind = "public"\n'
    assert refused_keys(config_file(tmp_path, routes)) == {"routes"}


def test_a_bundle_route_needs_a_reputation_key_file(tmp_path: Path) -> None:
    assert refused_keys(config_file(tmp_path, bundle_route())) == {"evm.reputation_key_file"}


def test_a_reputation_key_file_readable_by_others_is_refused(tmp_path: Path) -> None:
    loose = key_file(tmp_path, "reputation", REPUTATION_KEY, 0o644)
    path = config_file(tmp_path, bundle_route(), f'reputation_key_file = "{loose}"')

    with pytest.raises(ConfigError) as refused:
        load(path)

    assert refused.value.key == "evm.reputation_key_file"
    assert "0600" in str(refused.value) and REPUTATION_KEY.hex() not in str(refused.value)


def test_the_trading_key_file_as_reputation_key_file_is_refused(tmp_path: Path) -> None:
    trading = key_file(tmp_path, "trading", TRADING_KEY)
    extra = f'key_file = "{trading}"\nreputation_key_file = "{trading}"'
    assert refused_keys(config_file(tmp_path, bundle_route(), extra)) == {"evm.reputation_key_file"}


def test_routes_are_chosen_per_chain_and_only_this_chains_need_their_keys(tmp_path: Path) -> None:
    routes = (
        '\n[[routes]]\nname = "mainnet-relay"\nkind = "bundle"\nurl = "https://relay.example"\n'
        "chain_ids = [1]\n"
        '\n[[routes]]\nname = "devnet-protect"\nkind = "private"\n'
        'url = "https://protect.example"\nchain_ids = [31337]\n'
    )
    config = load(config_file(tmp_path, routes))  # no reputation key: no bundle route here

    assert [r.name for r in chain_routes(config)] == ["devnet-protect"]


def test_config_show_names_the_key_file_and_masks_a_relay_credential(tmp_path: Path) -> None:
    reputation = key_file(tmp_path, "reputation", REPUTATION_KEY)
    url = "https://relay.example/?apikey=SECRETSECRET123"
    routes = bundle_route(url) + 'relays = ["https://other.example/?token=OTHERSECRET456"]\n'
    config = load(config_file(tmp_path, routes, f'reputation_key_file = "{reputation}"'))

    shown = str(redacted(config))

    assert str(reputation) in shown and "other.example" in shown
    assert REPUTATION_KEY.hex() not in shown
    assert "SECRETSECRET123" not in shown and "OTHERSECRET456" not in shown


# --- the routes, as built ------------------------------------------------------------------
def providers() -> ProviderSet:
    health = ProviderHealth("anvil", 0)
    client = RpcClient(Endpoint("anvil", RPC_URL), health)
    return ProviderSet([Provider(Endpoint("anvil", RPC_URL), 0, client, health)])


def test_without_routes_the_chain_sends_publicly_as_the_devnet_does() -> None:
    routes = SubmissionRoutes.build([], providers(), None, 1.0)

    assert [(r.name, r.kind) for r in routes.routes] == [("public", "public")]
    assert routes.status()["route_kind"] == "public"
    assert [s.route_kind for s in routes.health()] == ["public"]


# --- the reputation key ----------------------------------------------------------------------
def test_the_relay_header_is_the_reputation_address_and_its_personal_sign_of_the_body_hash() -> (
    None
):
    signer = ReputationSigner(REPUTATION_KEY)
    body = b'{"jsonrpc":"2.0","id":1,"method":"eth_sendBundle","params":[]}'

    address, signature = signer.header(body).split(":")

    text = "0x" + keccak(body).hex()
    expected = Account.sign_message(encode_defunct(text=text), REPUTATION_KEY)
    assert address == Account.from_key(REPUTATION_KEY).address
    assert bytes.fromhex(signature[2:]) == bytes(expected.signature)
    transport = SignedTransport(Endpoint("relay", "https://relay.example"), signer)
    assert transport.headers(body) == {SIGNATURE_HEADER: signer.header(body)}


def test_the_reputation_key_must_not_be_the_trading_key(tmp_path: Path) -> None:
    path = key_file(tmp_path, "reputation", TRADING_KEY)
    config = load(config_file(tmp_path, bundle_route(), f'reputation_key_file = "{path}"'))
    trading = Account.from_key(TRADING_KEY).address

    with pytest.raises(KeyLoadError, match="holds the trading key") as refused:
        load_reputation_signer(config.evm, trading)

    assert TRADING_KEY.hex() not in str(refused.value)


def test_a_reputation_key_file_opened_to_others_after_validation_is_refused(tmp_path: Path) -> None:
    path = key_file(tmp_path, "reputation", REPUTATION_KEY)
    config = load(config_file(tmp_path, bundle_route(), f'reputation_key_file = "{path}"'))
    os.chmod(path, 0o640)

    with pytest.raises(KeyLoadError, match="0600"):
        load_reputation_signer(config.evm, Account.from_key(TRADING_KEY).address)


def test_the_reputation_signer_shows_its_address_and_never_its_key() -> None:
    signer = ReputationSigner(REPUTATION_KEY)

    assert REPUTATION_KEY.hex() not in repr(signer) + str(signer)
    assert signer.address in repr(signer)
    with pytest.raises(TypeError):
        pickle.dumps(signer)


def test_a_transaction_not_out_on_a_private_route_is_looked_up_on_the_rpc_endpoint() -> None:
    rpcs = providers()
    entries = [
        RouteEntry("protect", "private", "https://protect.example", priority=0),
        RouteEntry("mempool", "public", priority=1),
    ]
    routes = SubmissionRoutes.build(entries, rpcs, None, 1.0)

    assert routes.active.name == "protect"
    assert routes.lookup("0x" + "00" * 32) is rpcs.active.client


def test_status_lists_each_pending_bundle_with_its_uuid_and_target() -> None:
    from arbctl.commands.status import _submission

    bundle = {"hash": "0xab", "route": "relay", "kind": "bundle", "uuid": "u-1", "target": 12}
    bundle |= {"first_block": 11, "last_block": 13, "cancelled": False}
    cancelled = {**bundle, "uuid": "u-2", "cancelled": True}
    private = {"hash": "0xcd", "route": "protect", "kind": "private"}
    rows = _submission(
        {
            "route": "relay",
            "route_kind": "bundle",
            "pending_bundles": [bundle, cancelled],
            "pending_private": [private],
        }
    )

    assert rows[0] == ("route", "relay (bundle) · 2 pending bundles · 1 pending private txs")
    assert "u-1 target 12 (blocks 11..13)" in rows[1][1]
    assert "u-2 cancelled" in rows[2][1]
    assert rows[3] == ("  private", "0xcd via protect")
    assert _submission(None) == []  # the simulated market has no routes
