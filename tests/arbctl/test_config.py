"""`config validate` names file, key and expected type; `config show` never leaks secrets."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.conftest import EngineHandle

DSN_PASSWORD = "hunter2-db-pass"
API_KEY = "sk4live9apikey0123456789"
SECRET_CONFIG = f"""
[ledger]
dsn = "postgresql://arb:{DSN_PASSWORD}@db.internal:5432/arb"

[[providers]]
name = "alchemy"
url = "https://eth-mainnet.g.alchemy.com/v2/{API_KEY}"

[[providers]]
name = "infura"
url = "https://rpc.example.com/eth?apikey={API_KEY}"
"""


def _write(handle: EngineHandle, name: str, text: str) -> Path:
    path = handle.dir / name
    path.write_text(text)
    return path


def test_valid_file_passes_with_exit_0(no_engine: EngineHandle) -> None:
    path = _write(no_engine, "ok.toml", "[sim]\nblock_ms = 50\n")
    result = no_engine.cli("config", "validate", str(path), "--json")
    assert result.returncode == 0
    assert json.loads(result.stdout)["valid"] is True


def test_wrong_type_names_file_key_and_expected_type(no_engine: EngineHandle) -> None:
    path = _write(no_engine, "bad.toml", '[sim]\nblock_ms = "fast"\n')
    result = no_engine.cli("config", "validate", str(path))
    assert result.returncode == 1
    assert str(path) in result.stderr
    assert "sim.block_ms" in result.stderr
    assert "expected an integer" in result.stderr


def test_unknown_key_is_named_with_the_known_ones(no_engine: EngineHandle) -> None:
    path = _write(no_engine, "typo.toml", "[sim]\nblock_msec = 50\n")
    result = no_engine.cli("config", "validate", str(path), "--json")
    report = json.loads(result.stdout)
    assert result.returncode == 1
    assert (report["valid"], report["file"], report["key"]) == (False, str(path), "sim.block_msec")
    assert "unknown key" in report["problem"]


def test_bad_toml_names_the_file_and_the_line(no_engine: EngineHandle) -> None:
    path = _write(no_engine, "broken.toml", "[sim\nblock_ms = 50\n")
    result = no_engine.cli("config", "validate", str(path))
    assert result.returncode == 1
    assert str(path) in result.stderr
    assert "not valid TOML" in result.stderr and "line 1" in result.stderr


def test_missing_file_is_invalid_not_a_traceback(no_engine: EngineHandle) -> None:
    result = no_engine.cli("config", "validate", str(no_engine.dir / "absent.toml"))
    assert result.returncode == 1
    assert "cannot read file" in result.stderr
    assert "Traceback" not in result.stderr


def test_validate_without_a_file_is_a_usage_error(no_engine: EngineHandle) -> None:
    assert no_engine.cli("config", "validate").returncode == 2


@pytest.mark.parametrize("as_json", [False, True], ids=["human", "json"])
def test_show_file_masks_dsn_password_and_api_keys(no_engine: EngineHandle, as_json: bool) -> None:
    path = _write(no_engine, "secret.toml", SECRET_CONFIG)
    result = no_engine.cli("config", "show", str(path), *(["--json"] if as_json else []))
    assert result.returncode == 0
    assert DSN_PASSWORD not in result.stdout + result.stderr
    assert API_KEY not in result.stdout + result.stderr
    assert "db.internal" in result.stdout  # the rest of the DSN is still shown


def test_show_file_json_has_source_and_sections(no_engine: EngineHandle) -> None:
    path = _write(no_engine, "ok.toml", "[sim]\nblock_ms = 50\n")
    shown = json.loads(no_engine.cli("config", "show", str(path), "--json").stdout)
    assert shown["source"] == str(path)
    assert shown["config"]["sim"]["block_ms"] == 50


@pytest.mark.parametrize("as_json", [False, True], ids=["human", "json"])
def test_show_running_engine_config_masks_secrets(engine_factory, as_json: bool) -> None:
    engine = engine_factory(SECRET_CONFIG)
    result = engine.cli("config", "show", *(["--json"] if as_json else []))
    assert result.returncode == 0
    assert DSN_PASSWORD not in result.stdout + result.stderr
    assert API_KEY not in result.stdout + result.stderr
    assert "alchemy" in result.stdout
