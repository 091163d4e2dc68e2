"""One validator: what `config validate` refuses, the engine refuses at start, by the same key.

Issue 11, finding 7: seven configs passed `validate` and were refused only at start, and
nonsense (`snapshot_interval_s = 0`, `event_ring = 0`) was accepted and run. Each case
below must be refused by `validate` naming its key, and by `engine run` with the same key.
"""

from __future__ import annotations

import json
import subprocess
import sys
import typing
from pathlib import Path

import pytest

from tests.conftest import EngineHandle

KEY_HEX = "0x" + "11" * 32  # a throwaway key: never funded, never a real secret
EXECUTOR = "0x" + "ab" * 20
WETH = "0x" + "01" * 20
USDC = "0x" + "02" * 20
FACTORY = "0x" + "03" * 20


def evm_toml(key_file: str, quote: str = "USDC") -> str:
    return f"""
[market]
venue = "evm"
quote = "{quote}"

[evm]
chain_id = 31337
key_file = "{key_file}"
executor = "{EXECUTOR}"
tokens = [
  {{ address = "{WETH}", symbol = "WETH", decimals = 18 }},
  {{ address = "{USDC}", symbol = "USDC", decimals = 6 }},
]

[[evm.factories]]
name = "uniswap"
address = "{FACTORY}"

[[providers]]
name = "local"
url = "http://127.0.0.1:9/"
"""


def key_file(where: Path, mode: int) -> str:
    path = where / f"key-{mode:o}.hex"
    path.write_text(KEY_HEX + "\n")
    path.chmod(mode)
    return str(path)


# (id, toml (with {dir} for the case's directory), the keys it must be refused by)
CASES: list[tuple[str, str, set[str]]] = [
    ("negative threshold", "[guards]\nmax_failed_trades_per_hour = -1\n",
     {"guards.max_failed_trades_per_hour"}),
    ("negative money", '[guards]\nmax_daily_loss_quote = "-5"\n', {"guards.max_daily_loss_quote"}),
    ("non-numeric money", '[guards]\nmin_net_profit_quote = "ten"\n',
     {"guards.min_net_profit_quote"}),
    ("redis ttl shorter than heartbeat",
     '[redis]\nurl = "redis://127.0.0.1:6379/0"\nheartbeat_s = 2.0\nttl_s = 1.0\n',
     {"redis.ttl_s"}),
    ("postgres without a dsn", '[ledger]\nbackend = "postgres"\n', {"ledger.dsn"}),
    ("negative sim.block_ms", "[sim]\nblock_ms = -5\n", {"sim.block_ms"}),
    ("quote not among evm.tokens", "EVM_QUOTE_USDT", {"market.quote"}),
    ("0644 key file", "EVM_KEY_0644", {"evm.key_file"}),
    ("snapshot_interval_s = 0", "[engine]\nsnapshot_interval_s = 0\n",
     {"engine.snapshot_interval_s"}),
    ("event_ring = 0, client_queue = -1", "[engine]\nevent_ring = 0\nclient_queue = -1\n",
     {"engine.event_ring", "engine.client_queue"}),
    ("top_n = 0", "[strategy]\ntop_n = 0\n", {"strategy.top_n"}),
    ("probability above 1", "[sim]\ngas_spike_probability = 1.5\n",
     {"sim.gas_spike_probability"}),
    ("port above 65535", "[metrics]\nprometheus_port = 70000\n", {"metrics.prometheus_port"}),
    ("alerts evaluated continuously", "[alerts]\nevaluate_interval_s = 0.0\n",
     {"alerts.evaluate_interval_s"}),
    ("unknown guard rule", '[guards]\ndisabled = ["max_gas"]\n', {"guards.disabled[0]"}),
    ("unknown alert rule", '[alerts]\ndisabled = ["cpu"]\n', {"alerts.disabled[0]"}),
    ("gas cap finer than a wei", "[guards]\nmax_gas_price_gwei = 0.0000000001\n",
     {"guards.max_gas_price_gwei"}),
]  # fmt: skip


def write_case(where: Path, text: str) -> Path:
    if text == "EVM_QUOTE_USDT":
        text = evm_toml(key_file(where, 0o600), quote="USDT")
    elif text == "EVM_KEY_0644":
        text = evm_toml(key_file(where, 0o644))
    path = where / "engine.toml"
    path.write_text(text)
    return path


@pytest.mark.parametrize(("text", "keys"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_validate_refuses_the_config_naming_its_key(
    no_engine: EngineHandle, text: str, keys: set[str]
) -> None:
    path = write_case(no_engine.dir, text)
    result = no_engine.cli("config", "validate", str(path), "--json")
    report = json.loads(result.stdout)
    assert result.returncode == 1, result.stdout
    assert report["valid"] is False
    assert {e["key"] for e in report["errors"]} == keys
    assert all(e["file"] == str(path) for e in report["errors"])
    human = no_engine.cli("config", "validate", str(path))
    assert human.returncode == 1
    assert all(key in human.stderr for key in keys)


@pytest.mark.parametrize(("text", "keys"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_the_engine_refuses_the_same_config_with_the_same_key(
    no_engine: EngineHandle, text: str, keys: set[str]
) -> None:
    path = write_case(no_engine.dir, text)
    argv = [sys.executable, "-m", "arbctl", "engine", "run", "--config", str(path)]
    argv += ["--socket", str(no_engine.socket), "--state-dir", str(no_engine.state_dir)]
    result = subprocess.run(
        argv, env=no_engine.env(), capture_output=True, text=True, timeout=60, check=False
    )
    assert result.returncode == 2, result.stderr[-2000:]
    assert all(key in result.stderr for key in keys)
    report = json.loads((no_engine.state_dir / "engine.config-error.json").read_text())
    assert {e["key"] for e in report["errors"]} == keys


def test_validate_lists_every_error_of_a_file_at_once(no_engine: EngineHandle) -> None:
    text = (
        '[engine]\nsnapshot_interval_s = 0\nlog_level = "LOUD"\n'
        '[sim]\nblock_ms = "fast"\nblock_msec = 3\n'
        '[guards]\nmin_net_profit_quote = "ten"\n'
        '[ledger]\nbackend = "postgres"\n'
    )
    path = no_engine.dir / "many.toml"
    path.write_text(text)
    keys = {
        "engine.snapshot_interval_s",
        "engine.log_level",
        "sim.block_ms",
        "sim.block_msec",
        "guards.min_net_profit_quote",
        "ledger.dsn",
    }
    report = json.loads(no_engine.cli("config", "validate", str(path), "--json").stdout)
    assert {e["key"] for e in report["errors"]} == keys
    for error in report["errors"]:
        assert set(error) >= {"file", "key", "expected", "got", "problem", "message"}
    first = report["errors"][0]
    assert (report["file"], report["key"], report["problem"]) == (
        str(path),
        first["key"],
        first["problem"],
    )
    human = no_engine.cli("config", "validate", str(path))
    assert human.returncode == 1
    assert all(key in human.stderr for key in keys)
    assert "6 errors" in human.stderr


def test_an_error_says_what_was_expected_and_what_was_given(no_engine: EngineHandle) -> None:
    path = no_engine.dir / "ring.toml"
    path.write_text("[engine]\nevent_ring = 0\n")
    (error,) = json.loads(no_engine.cli("config", "validate", str(path), "--json").stdout)["errors"]
    assert error["got"] == "0"
    assert "integer" in error["expected"] and ">=" in error["expected"]
    assert error["problem"] == f"expected {error['expected']}, got 0"


def test_a_refused_url_is_named_without_its_secret(no_engine: EngineHandle) -> None:
    secret = "sk4live9apikey0123456789"
    path = no_engine.dir / "url.toml"
    path.write_text(f'[[providers]]\nname = "a"\nurl = "eth.example.com/v2/{secret}"\n')
    result = no_engine.cli("config", "validate", str(path), "--json")
    (error,) = json.loads(result.stdout)["errors"]
    assert result.returncode == 1
    assert error["key"] == "providers[0].url"
    assert secret not in result.stdout + result.stderr


def test_every_numeric_setting_has_a_sane_range() -> None:
    import dataclasses

    from engine import config

    unranged = []
    sections = [type(getattr(config.Config(), f.name)) for f in dataclasses.fields(config.Config)]
    tables = [config.TokenEntry, config.FactoryEntry, config.ProviderEntry]
    for cls in [c for c in sections if dataclasses.is_dataclass(c)] + tables:
        for name, hint in typing.get_type_hints(cls, include_extras=True).items():
            item = typing.get_args(hint)[0] if typing.get_origin(hint) is list else hint
            if item in (int, float):
                unranged.append(f"{cls.__name__}.{name}")
    assert unranged == []


def test_the_rule_names_the_validator_knows_are_the_engines() -> None:
    from engine.config import AlertsSection, GuardRuleName
    from engine.guards.rules import RULE_NAMES as GUARD_RULES
    from engine.telemetry.alerts.rules import RULE_NAMES as ALERT_RULES
    from engine.telemetry.alerts.rules import default_rules

    assert set(typing.get_args(GuardRuleName)) == set(GUARD_RULES)
    built = [rule.name for rule in default_rules(AlertsSection(), 1, str)]
    assert sorted(built) == sorted(ALERT_RULES) and len(set(built)) == len(built)


def test_the_defaults_and_the_demo_config_are_valid(no_engine: EngineHandle) -> None:
    path = no_engine.dir / "empty.toml"
    path.write_text("")
    demo = Path(__file__).parents[2] / "scripts" / "demo.toml"
    for config in (path, demo):
        result = no_engine.cli("config", "validate", str(config))
        assert result.returncode == 0, result.stderr
