"""Every rule the builders used to repeat is the validator's: `load` refuses it by its key.

Issue 11 made `engine.config.load` the one validator; the builders' own checks (the Redis
part, the guards' thresholds, the simulated world, the ledger factory, the alerts and
metrics services, the guards' rule names) never fired after it and were removed. Each
case they used to refuse is here, against the validator, so none is lost: the builders
now only convert (whole tokens to base units, gwei to wei), which cannot fail on a
config `load` accepted.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from engine.config import ConfigError, load
from engine.guards.thresholds import build_thresholds

REDIS = '[redis]\nurl = "redis://127.0.0.1:6379/0"\n'

# (id, toml, the keys `load` must name)
CASES: list[tuple[str, str, set[str]]] = [
    # engine/fleet/part.py's _validate
    ("redis namespace empty", REDIS + 'namespace = ""\n', {"redis.namespace"}),
    ("redis namespace with a space", REDIS + 'namespace = "a b"\n', {"redis.namespace"}),
    ("redis heartbeat_s = 0", REDIS + "heartbeat_s = 0\n", {"redis.heartbeat_s"}),
    ("redis halt_check_s = 0", REDIS + "halt_check_s = 0\n", {"redis.halt_check_s"}),
    ("redis timeout_s = 0", REDIS + "timeout_s = 0\n", {"redis.timeout_s"}),
    ("redis backoff_max_s < 0", REDIS + "backoff_max_s = -1\n", {"redis.backoff_max_s"}),
    ("redis ttl shorter than heartbeat", REDIS + "heartbeat_s = 2.0\nttl_s = 1.0\n",
     {"redis.ttl_s"}),
    ("redis ttl equal to heartbeat", REDIS + "heartbeat_s = 2.0\nttl_s = 2.0\n",
     {"redis.ttl_s"}),
    # engine/guards/thresholds.py's checker (was tests/guards/test_thresholds.py)
    ("guards money not a number", '[guards]\nmax_hourly_loss_quote = "lots"\n',
     {"guards.max_hourly_loss_quote"}),
    ("guards money negative", '[guards]\nmax_notional_quote = "-1"\n',
     {"guards.max_notional_quote"}),
    ("guards money finer than the token", '[guards]\nmin_net_profit_quote = "0.0000001"\n',
     {"guards.min_net_profit_quote"}),
    ("guards gwei negative", "[guards]\nmax_gas_price_gwei = -1.0\n",
     {"guards.max_gas_price_gwei"}),
    ("guards gwei finer than a wei", "[guards]\nmax_gas_price_gwei = 0.0000000001\n",
     {"guards.max_gas_price_gwei"}),
    ("guards counts below 0",
     "[guards]\ngas_headroom_pct = -1\nmax_price_impact_bps = -1\nmax_head_lag_blocks = -1\n"
     "max_failed_trades_per_hour = -1\n",
     {"guards.gas_headroom_pct", "guards.max_price_impact_bps", "guards.max_head_lag_blocks",
      "guards.max_failed_trades_per_hour"}),
    ("guards counts below 1",
     "[guards]\nsuccess_rate_window = 0\nsuccess_rate_min_trades = 0\n"
     "consecutive_failures_limit = 0\nbreaker_probe_trades = 0\n",
     {"guards.success_rate_window", "guards.success_rate_min_trades",
      "guards.consecutive_failures_limit", "guards.breaker_probe_trades"}),
    ("guards seconds negative",
     "[guards]\nmax_head_age_s = -1\nmax_rpc_latency_ms = -1\nbreaker_wait_s = -1\n"
     "breaker_probe_timeout_s = -1\nrepeat_window_s = -1\n",
     {"guards.max_head_age_s", "guards.max_rpc_latency_ms", "guards.breaker_wait_s",
      "guards.breaker_probe_timeout_s", "guards.repeat_window_s"}),
    ("guards percent above 100", "[guards]\nmin_success_rate_pct = 101\n",
     {"guards.min_success_rate_pct"}),
    ("guards percent below 0", "[guards]\nmin_success_rate_pct = -1\n",
     {"guards.min_success_rate_pct"}),
    # engine/guards/approver.py's rule names (was tests/guards/test_thresholds.py)
    ("guards unknown rule", '[guards]\ndisabled = ["max_gas"]\n', {"guards.disabled[0]"}),
    # engine/market/sim/world.py's _validate and _whole (was tests/market/sim/test_world.py)
    ("sim one fee for three dexes", "[sim]\ndex_fees_bps = [30]\n", {"sim.dex_fees_bps"}),
    ("sim no dex", "[sim]\ndexes = []\ndex_fees_bps = []\n", {"sim.dex_fees_bps"}),
    ("sim tokens < 0", "[sim]\ntokens = -1\n", {"sim.tokens"}),
    ("sim more providers than their settings", "[sim]\nproviders = 4\n",
     {"sim.provider_latency_ms", "sim.provider_error_rate", "sim.provider_stall_probability"}),
    ("sim no provider", "[sim]\nproviders = 0\n", {"sim.providers"}),
    ("sim block_ms = 0", "[sim]\nblock_ms = 0\n", {"sim.block_ms"}),
    ("sim wallet finer than a wei", '[sim]\nwallet_weth = "1.0000000000000000001"\n',
     {"sim.wallet_weth"}),
    ("sim wallet not a number", '[sim]\nwallet_usdc = "lots"\n', {"sim.wallet_usdc"}),
    ("sim wallet negative", '[sim]\nwallet_usdc = "-5"\n', {"sim.wallet_usdc"}),
    # issue 18: the drop deadline and the reorg watch depth are bounded
    ("evm drop_after_s = 0", "[evm]\ndrop_after_s = 0\n", {"evm.drop_after_s"}),
    ("evm drop_after_s over an hour", "[evm]\ndrop_after_s = 3601\n", {"evm.drop_after_s"}),
    ("evm confirmation_depth = 0", "[evm]\nconfirmation_depth = 0\n", {"evm.confirmation_depth"}),
    # engine/ledger/factory.py (was tests/ledger/test_factory.py)
    ("postgres without a dsn", '[ledger]\nbackend = "postgres"\n', {"ledger.dsn"}),
    # engine/telemetry/alerts (was tests/telemetry/test_alerts.py)
    ("alerts unknown rule", '[alerts]\ndisabled = ["no_such_rule"]\n', {"alerts.disabled[0]"}),
    ("alerts money finer than the token", '[alerts]\nmax_hourly_loss_quote = "0.0000001"\n',
     {"alerts.max_hourly_loss_quote"}),
    # engine/telemetry/metrics.py (was tests/telemetry/test_metrics.py)
    ("metrics profit floor finer than the token", '[metrics]\nprofit_floor_quote = "0.0000001"\n',
     {"metrics.profit_floor_quote"}),
    ("metrics profit floor not a number", '[metrics]\nprofit_floor_quote = "abc"\n',
     {"metrics.profit_floor_quote"}),
    # engine/lenders/sources.py's fee check
    ("liquidity fee_bps not a number",
     '[[providers]]\nname = "rpc"\nurl = "http://127.0.0.1:8545"\n'
     '[[providers]]\nname = "aave"\nkind = "liquidity"\nurl = "aave-v3://pool?fee_bps=lots"\n',
     {"providers[1].url"}),
    ("liquidity fee_bps 10000 or more",
     '[[providers]]\nname = "rpc"\nurl = "http://127.0.0.1:8545"\n'
     '[[providers]]\nname = "aave"\nkind = "liquidity"\nurl = "aave-v3://pool?fee_bps=10000"\n',
     {"providers[1].url"}),
]  # fmt: skip


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "engine.toml"
    path.write_text(text)
    return path


@pytest.mark.parametrize(("text", "keys"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_the_validator_refuses_what_a_builder_used_to_refuse(
    tmp_path: Path, text: str, keys: set[str]
) -> None:
    path = write(tmp_path, text)
    with pytest.raises(ConfigError) as caught:
        load(path)
    assert {error.key for error in caught.value.errors} == keys
    assert all(error.source == str(path) for error in caught.value.errors)


def test_every_alert_rule_the_engine_knows_may_be_disabled(tmp_path: Path) -> None:
    from engine.telemetry.alerts.rules import RULE_NAMES

    names = ", ".join(f'"{name}"' for name in RULE_NAMES)
    config = load(write(tmp_path, f"[alerts]\ndisabled = [{names}]\n"))
    assert config.alerts.disabled == list(RULE_NAMES)


def test_a_gas_price_cap_the_validator_accepts_converts_to_whole_wei(tmp_path: Path) -> None:
    config = load(write(tmp_path, "[guards]\nmax_gas_price_gwei = 0.000000001\n"))
    assert build_thresholds(config.guards, "USDC", 6).max_gas_price == 1
