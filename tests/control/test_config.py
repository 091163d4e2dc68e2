"""Config loading: errors name the file, the key and the expected type; secrets never show."""

from __future__ import annotations

import json

import pytest

from engine.config import ConfigError, load, redacted


def write(tmp_path, text: str):
    path = tmp_path / "engine.toml"
    path.write_text(text)
    return path


def test_no_file_gives_the_embedded_defaults():
    config = load(None)
    assert config.market.venue == "sim" and config.ledger.backend == "sqlite"


def test_a_wrong_type_names_file_key_and_expected_type(tmp_path):
    path = write(tmp_path, '[sim]\nblock_ms = "fast"\n')
    with pytest.raises(ConfigError) as err:
        load(path)
    assert str(path) in str(err.value)
    assert "sim.block_ms" in str(err.value) and "expected an integer" in str(err.value)


def test_an_unknown_key_is_an_error_not_silently_ignored(tmp_path):
    with pytest.raises(ConfigError, match=r"sim\.seeed: unknown key"):
        load(write(tmp_path, "[sim]\nseeed = 3\n"))


def test_invalid_toml_is_reported_with_the_file(tmp_path):
    path = write(tmp_path, "[sim\n")
    with pytest.raises(ConfigError, match="not valid TOML"):
        load(path)


def test_a_value_outside_a_choice_lists_the_choices(tmp_path):
    with pytest.raises(
        ConfigError, match=r"ledger\.backend: expected one of 'sqlite' \| 'postgres'"
    ):
        load(write(tmp_path, '[ledger]\nbackend = "mysql"\n'))


def test_a_boolean_is_not_accepted_as_an_integer(tmp_path):
    with pytest.raises(ConfigError, match="expected an integer, got a boolean"):
        load(write(tmp_path, "[sim]\nseed = true\n"))


def test_array_items_are_checked_with_their_index(tmp_path):
    with pytest.raises(ConfigError, match=r"sim\.dex_fees_bps\[1\]"):
        load(write(tmp_path, '[sim]\ndex_fees_bps = [30, "x"]\n'))


def test_a_missing_required_key_in_a_table_is_named(tmp_path):
    text = '[[providers]]\nname = "a"\n'
    with pytest.raises(ConfigError, match=r"providers\[0\]\.url: required key is missing"):
        load(write(tmp_path, text))


def test_a_missing_file_is_a_config_error(tmp_path):
    with pytest.raises(ConfigError, match="cannot read file"):
        load(tmp_path / "nope.toml")


def test_redacted_config_hides_dsn_passwords_and_url_api_keys(tmp_path):
    text = (
        '[ledger]\nbackend = "postgres"\ndsn = "postgresql://arb:s3cretpass@db:5432/arb"\n'
        '[[providers]]\nname = "alchemy"\nurl = "https://eth.example/v2/AbCdEf0123456789xyz"\n'
    )
    shown = json.dumps(redacted(load(write(tmp_path, text))))
    assert "s3cretpass" not in shown and "AbCdEf0123456789xyz" not in shown
    assert "postgresql://arb:***@db:5432/arb" in shown


def test_sim_v3_pools_is_on_by_default_and_must_be_a_boolean(tmp_path):
    assert load(None).sim.v3_pools is True
    assert load(write(tmp_path, "[sim]\nv3_pools = false\n")).sim.v3_pools is False
    with pytest.raises(ConfigError, match=r"sim\.v3_pools"):
        load(write(tmp_path, '[sim]\nv3_pools = "yes"\n'))
