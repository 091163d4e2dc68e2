"""Engine configuration: one TOML file, typed sections, validation that names the culprit.

Operators edit this file at 3 a.m.; a typo must produce "file, key, expected type" and
never a traceback or a silently ignored setting, so unknown keys are errors too.
Stdlib-only so `arbctl config validate` stays cheap.
"""

from __future__ import annotations

import dataclasses
import re
import tomllib
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal


class ConfigError(Exception):
    """A config problem, phrased for the operator: where, which key, what was expected."""

    def __init__(self, source: str, key: str, problem: str) -> None:
        self.source = source
        self.key = key
        self.problem = problem
        where = f"{source}: {key}: " if key else f"{source}: "
        super().__init__(where + problem)


@dataclass(slots=True)
class EngineSection:
    state_dir: str = ""  # default: $XDG_STATE_HOME/arbctl
    socket: str = ""  # default: $XDG_RUNTIME_DIR/arbctl/engine.sock
    heartbeat_ms: int = 1000
    event_ring: int = 20_000  # events kept for since_seq resume
    client_queue: int = 4_096  # events buffered per subscriber before it is told it lagged
    snapshot_interval_s: int = 60
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    log_max_bytes: int = 10 * 1024 * 1024
    log_backups: int = 5
    # Enables `debug.flood` on the socket (publishes synthetic events) for benchmarks and
    # stress tests. Never enable it on a production engine.
    debug_methods: bool = False


@dataclass(slots=True)
class LedgerSection:
    backend: Literal["sqlite", "postgres"] = "sqlite"
    path: str = ""  # sqlite file; default <state_dir>/ledger.sqlite3
    dsn: str = ""  # postgres DSN (secret: its password is redacted by `config show`)
    schema: str = "public"


@dataclass(slots=True)
class MarketSection:
    venue: Literal["sim", "evm"] = "sim"
    native: str = "WETH"  # symbol of the wrapped native token: gas is paid in it
    quote: str = "USDC"  # symbol of the quote currency for P&L


@dataclass(slots=True)
class SimSection:
    """The built-in simulated market: deterministic from `seed`."""

    seed: int = 7
    block_ms: int = 1000
    tokens: int = 6  # besides WETH and USDC
    dexes: list[str] = field(default_factory=lambda: ["uniswap", "sushiswap", "pancake"])
    dex_fees_bps: list[int] = field(default_factory=lambda: [30, 30, 25])
    noise_swaps_per_block: int = 6
    noise_tail_alpha: float = 1.5  # Pareto tail index of noise swap sizes
    gas_base_gwei: float = 20.0
    gas_spike_probability: float = 0.03
    competitor_probability: float = 0.15  # chance a rival searcher takes our opportunity
    providers: int = 3
    provider_latency_ms: list[float] = field(default_factory=lambda: [40.0, 90.0, 160.0])
    provider_error_rate: list[float] = field(default_factory=lambda: [0.01, 0.03, 0.08])
    provider_stall_probability: list[float] = field(default_factory=lambda: [0.0, 0.01, 0.03])
    wallet_weth: str = "100"  # starting balances, whole tokens (decimal strings: exact)
    wallet_usdc: str = "250000"
    # true: a block is mined only once the engine has taken the previous one in (it waits
    # for the next block or a receipt), so a seed replays the same trades; false: blocks
    # come every block_ms whatever the engine does (realistic timing, not reproducible).
    lockstep: bool = True


@dataclass(slots=True)
class TokenEntry:
    address: str
    symbol: str
    decimals: int


@dataclass(slots=True)
class FactoryEntry:
    name: str
    address: str
    router: str = ""
    fee_bps: int = 30


@dataclass(slots=True)
class EvmSection:
    chain_id: int = 1
    key_file: str = ""  # hex private key in a 0600 file
    key_env: str = "ARBCTL_PRIVATE_KEY"  # or the key in this environment variable
    executor: str = ""
    tokens: list[TokenEntry] = field(default_factory=list)
    factories: list[FactoryEntry] = field(default_factory=list)
    pairs: list[str] = field(default_factory=list)  # explicit list; default: factories' allPairs
    poll_interval_ms: int = 500
    max_priority_fee_gwei: float = 2.0


@dataclass(slots=True)
class ProviderEntry:
    name: str
    url: str  # secret: API keys in the path/query are redacted by `config show`
    priority: int = 0
    kind: Literal["rpc", "liquidity"] = "rpc"


@dataclass(slots=True)
class StrategySection:
    base_tokens: list[str] = field(default_factory=lambda: ["WETH", "USDC"])
    max_hops: int = 3
    gas_units_2hop: int = 130_000
    gas_units_3hop: int = 180_000
    flash_fee_bps: int = 0
    top_n: int = 5


@dataclass(slots=True)
class GuardsSection:
    """Risk guards and the trading circuit breaker (docs/guards.md has the full table).

    Defaults are the operations runbook's alert thresholds where it gives one. Money is a
    decimal string of whole quote tokens (USDC by default), converted exactly to base
    units with the quote token's decimals — never through a float.
    """

    # --- per opportunity: the opportunity is blocked --------------------------------
    min_net_profit_quote: str = "1"  # net profit after gas and flash fee, below: blocked
    max_gas_price_gwei: float = 150.0  # runbook: "> 150 gwei: pause trading if unprofitable"
    gas_headroom_pct: int = 100  # above the cap, net profit must survive gas this much dearer
    max_notional_quote: str = "100000"  # input size per trade, valued in quote at mid price
    max_price_impact_bps: int = 500  # output lost to the trade's own size (Uniswap warns at 5 %)
    max_head_age_s: float = 30.0  # stale market data: head block older than this
    max_head_lag_blocks: int = 2  # stale market data: active provider behind the best
    max_rpc_latency_ms: float = 2000.0  # runbook: response time > 2000 ms
    # --- per booked trade: the circuit breaker opens ----------------------------------
    max_failed_trades_per_hour: int = 10  # runbook: failed trades > 10/hour
    min_success_rate_pct: float = 70.0  # runbook: success rate < 70 %
    success_rate_window: int = 20  # over the last this many trades...
    success_rate_min_trades: int = 10  # ...once at least this many were booked
    consecutive_failures_limit: int = 5  # this many failed trades in a row
    max_hourly_loss_quote: str = "100"  # runbook: hourly P&L < -$100
    max_daily_loss_quote: str = "500"  # P&L since 00:00 UTC; holds the breaker to midnight
    # --- the breaker --------------------------------------------------------------------
    breaker_wait_s: float = 300.0  # OPEN this long before HALF_OPEN lets probes through
    breaker_probe_trades: int = 3  # probe trades HALF_OPEN allows; all must succeed
    breaker_probe_timeout_s: float = 120.0  # a probe not booked by then counts as failed
    # --- triggers -----------------------------------------------------------------------
    repeat_window_s: float = 60.0  # identical "blocked" triggers within it are counted
    disabled: list[str] = field(default_factory=list)  # rule names switched off


@dataclass(slots=True)
class RedisSection:
    """Optional Redis: hot-state mirror, the fleet-wide halt flag, presence (docs/redis.md).

    Off unless `url` is set. Losing Redis never stops trading: health goes WARNING and
    the engine reconnects with backoff. Keys expire `ttl_s` after the last write, so a
    dead engine disappears from `arbctl fleet` on its own.
    """

    url: str = ""  # e.g. redis://127.0.0.1:6379/0; empty = disabled (password redacted)
    namespace: str = "arbctl"  # key prefix: fleets sharing one Redis use different ones
    engine_name: str = ""  # default: <hostname>-<hash of the state dir>
    heartbeat_s: float = 2.0  # presence and mirror writes
    ttl_s: float = 15.0  # a key not refreshed for this long expires (dead engine)
    halt_check_s: float = 2.0  # periodic read of the halt flag, besides pub/sub
    timeout_s: float = 1.0  # connect and command timeout: Redis never holds anything up
    backoff_max_s: float = 5.0  # reconnect attempts back off up to this


@dataclass(slots=True)
class MetricsSection:
    """Engine metrics, anomaly detection and the optional Prometheus endpoint
    (docs/observability.md). Windows are seconds; money is whole quote tokens."""

    window_s: float = 60.0  # the runbook dashboard's "per minute" window
    hour_window_s: float = 3600.0  # success rate, failed trades per hour, hourly P&L
    memory_limit_mb: int = 0  # memory % is of this limit (a container's); 0: the machine's
    anomaly_window: int = 200  # recent values each series is judged against
    anomaly_min_samples: int = 30  # nothing is judged before a series has this many
    anomaly_threshold: float = 3.5  # robust z-score above which a value is an anomaly
    anomaly_recent: int = 50  # anomalies kept for `metrics` / `anomalies`
    slippage_floor_bps: float = 5000.0  # under half the quoted profit lost never counts
    profit_floor_quote: str = "0"  # profit per trade: deviations under this never count
    loop_latency_floor_ms: float = 25.0  # loop latency: deviations under this never count
    prometheus_port: int = 0  # text exposition on 127.0.0.1:PORT/metrics; 0 = off


Severity = Literal["P0", "P1", "P2", "P3"]


@dataclass(slots=True)
class AlertsSection:
    """Alert rules, their thresholds and the notification sinks (docs/observability.md).

    Defaults are the runbooks' alert rules. Money is a decimal string of whole quote
    tokens, converted exactly like `[guards]`. Every notification is also logged.
    """

    evaluate_interval_s: float = 5.0  # rules are evaluated this often, and on state changes
    resend_interval_s: float = 3600.0  # a still-firing alert is sent again this often
    webhook_url: str = ""  # JSON POST, Slack-compatible `text` (secret: redacted)
    webhook_timeout_s: float = 5.0
    webhook_min_severity: Severity = "P3"  # sends this severity and more severe ones
    command: list[str] = field(default_factory=list)  # argv; the alert as JSON on stdin
    command_timeout_s: float = 10.0
    command_min_severity: Severity = "P3"
    # --- rules --------------------------------------------------------------------------
    health_interval_s: float = 60.0  # the engine runs its own health checks this often
    health_failures: int = 3  # runbook: health check failed 3 consecutive times
    cpu_percent: float = 80.0  # runbook: CPU > 80 % for 5 minutes
    cpu_for_s: float = 300.0
    memory_percent: float = 90.0  # runbook: memory > 90 % for 2 minutes
    memory_for_s: float = 120.0
    no_trades_s: float = 1800.0  # runbook: no trades for 30 minutes (while running)
    errors_per_minute: float = 50.0  # runbook: error rate > 50/min for 5 minutes
    errors_for_s: float = 300.0
    min_success_rate_pct: float = 70.0  # runbook: success rate < 70 %
    success_rate_min_trades: int = 10  # ...over the hour window, once this many booked
    max_hourly_loss_quote: str = "100"  # runbook: hourly P&L < -$100
    provider_down_for_s: float = 60.0  # a provider down this long (ours)
    anomaly_window_s: float = 900.0  # an anomaly keeps its alert firing this long (ours)
    disabled: list[str] = field(default_factory=list)  # rule names switched off


@dataclass(slots=True)
class Config:
    engine: EngineSection = field(default_factory=EngineSection)
    ledger: LedgerSection = field(default_factory=LedgerSection)
    market: MarketSection = field(default_factory=MarketSection)
    sim: SimSection = field(default_factory=SimSection)
    evm: EvmSection = field(default_factory=EvmSection)
    providers: list[ProviderEntry] = field(default_factory=list)
    strategy: StrategySection = field(default_factory=StrategySection)
    guards: GuardsSection = field(default_factory=GuardsSection)
    metrics: MetricsSection = field(default_factory=MetricsSection)
    alerts: AlertsSection = field(default_factory=AlertsSection)
    redis: RedisSection = field(default_factory=RedisSection)
    source: str = "<defaults>"

    def to_dict(self) -> dict[str, Any]:
        data = dataclasses.asdict(self)
        data.pop("source")
        return data


# --- loading ---------------------------------------------------------------------------
def load(path: str | Path | None) -> Config:
    """Read and validate a config file; `None` gives the embedded defaults."""
    if path is None:
        return Config()
    source = str(path)
    try:
        raw = Path(path).read_bytes()
    except OSError as exc:
        raise ConfigError(source, "", f"cannot read file: {exc.strerror}") from None
    try:
        data = tomllib.loads(raw.decode("utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(source, "", f"not valid TOML: {exc}") from None
    config = _build(Config, data, source, "")
    config.source = source
    return config


def _build(cls: type, data: Any, source: str, prefix: str) -> Any:
    if not isinstance(data, dict):
        raise ConfigError(source, prefix or "<top>", f"expected a table, got {_kind(data)}")
    hints = typing.get_type_hints(cls)
    names = {f.name for f in dataclasses.fields(cls) if f.name != "source"}
    unknown = sorted(set(data) - names)
    if unknown:
        key = _join(prefix, unknown[0])
        raise ConfigError(source, key, f"unknown key (known: {', '.join(sorted(names))})")
    kwargs = {
        name: _coerce(hints[name], value, source, _join(prefix, name))
        for name, value in data.items()
    }
    try:
        return cls(**kwargs)
    except TypeError as exc:  # a required field is missing
        missing = re.findall(r"'(\w+)'", str(exc))
        key = _join(prefix, missing[0]) if missing else prefix
        raise ConfigError(source, key, "required key is missing") from None


def _coerce(hint: Any, value: Any, source: str, key: str) -> Any:
    origin = typing.get_origin(hint)
    if dataclasses.is_dataclass(hint):
        return _build(hint, value, source, key)
    if origin is Literal:
        allowed = typing.get_args(hint)
        if value not in allowed:
            choices = " | ".join(repr(a) for a in allowed)
            raise ConfigError(source, key, f"expected one of {choices}, got {value!r}")
        return value
    if origin is list:
        if not isinstance(value, list):
            raise ConfigError(source, key, f"expected an array, got {_kind(value)}")
        (item,) = typing.get_args(hint)
        return [_coerce(item, v, source, f"{key}[{i}]") for i, v in enumerate(value)]
    if origin in (types.UnionType, typing.Union):
        raise ConfigError(source, key, "union types are not supported in config")
    return _scalar(hint, value, source, key)


def _scalar(hint: type, value: Any, source: str, key: str) -> Any:
    # bool is an int in Python; a config that says `port = true` is still wrong.
    if hint is float and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if isinstance(value, bool) != (hint is bool) or not isinstance(value, hint):
        raise ConfigError(source, key, f"expected {_type_name(hint)}, got {_kind(value)}")
    return value


def _kind(value: Any) -> str:
    names = {bool: "a boolean", int: "an integer", float: "a float", str: "a string"}
    names.update({list: "an array", dict: "a table"})
    return names.get(type(value), type(value).__name__) + f" ({value!r})"[:60]


def _type_name(hint: type) -> str:
    names = {bool: "a boolean", int: "an integer", float: "a number", str: "a string"}
    return names.get(hint, hint.__name__)


def _join(prefix: str, name: str) -> str:
    return f"{prefix}.{name}" if prefix else name


# --- redaction ---------------------------------------------------------------------------
_DSN_PASSWORD = re.compile(r"(://[^:/@]*:)([^@]+)(@)")  # also redis://:pw@host
_URL_SECRET = re.compile(r"(/v\d+/|[?&](?:key|apikey|api_key|token)=)([A-Za-z0-9_\-]{8,})")
REDACTED = "***"


def redact_text(text: str) -> str:
    """Mask credentials embedded in DSNs and provider URLs.

    Private keys are not pattern-matched here (a tx hash looks the same); the signer
    registers its key with the log scrubber instead, which removes exact occurrences.
    """
    text = _DSN_PASSWORD.sub(rf"\g<1>{REDACTED}\g<3>", text)
    return _URL_SECRET.sub(rf"\g<1>{REDACTED}", text)


def redact_webhook(url: str) -> str:
    """A webhook's path is its credential (Slack's /services/T…/B…/secret): keep the
    scheme and host so an operator can still tell where alerts go."""
    match = re.match(r"^([a-z][a-z0-9+.-]*://[^/?#]*)", url, re.IGNORECASE)
    if not match:
        return REDACTED if url else ""
    return redact_text(match[1]) + ("/" + REDACTED if len(url) > len(match[1]) else "")


def redacted(config: Config) -> dict[str, Any]:
    """The config as `config show` prints it: key files by path, never their content."""
    data = config.to_dict()
    data["ledger"]["dsn"] = redact_text(data["ledger"]["dsn"])
    data["redis"]["url"] = redact_text(data["redis"]["url"])
    data["alerts"]["webhook_url"] = redact_webhook(data["alerts"]["webhook_url"])
    for provider in data["providers"]:
        provider["url"] = redact_text(provider["url"])
    return data
