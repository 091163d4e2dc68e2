"""Engine configuration: one TOML file, typed sections, one validator that names the culprit.

Operators edit this file at 3 a.m.; a typo must produce "file, key, expected, got" and
never a traceback or a silently ignored setting, so unknown keys are errors too. This
module is the one validator: types, the sane range of every number (declared next to the
setting as `Annotated[int, Range(lo, hi)]`, mypy-checkable) and the rules that relate settings
live here, and `load` applies all of them, so `arbctl config validate`, `arbctl up` and
the engine at start refuse exactly the same files, each listing every problem at once.
Only what depends on the running world (the simulated market's token symbols, the
environment's signing key, the chain itself) is left to the engine at start.
Stdlib-only so `arbctl config validate` stays cheap.
"""

from __future__ import annotations

import dataclasses
import json
import math
import re
import stat
import tomllib
import types
import typing
import urllib.parse
from collections.abc import Collection, Iterator, Sequence
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Annotated, Any, Literal

from engine.errors import ArbctlError


class ConfigError(ArbctlError):
    """A config problem, phrased for the operator: where, which key, what was expected.

    `expected` and `got` are set where a value was wrong (not for unreadable files)."""

    def __init__(
        self, source: str, key: str, problem: str, *, expected: str = "", got: str = ""
    ) -> None:
        self.source = source
        self.key = key
        self.problem = problem
        self.expected = expected
        self.got = got
        where = f"{source}: {key}: " if key else f"{source}: "
        super().__init__(where + problem)

    @property
    def errors(self) -> tuple[ConfigError, ...]:
        """Every problem found; one here, all of a file's for `ConfigErrors`."""
        return (self,)

    def to_dict(self) -> dict[str, Any]:
        """The stable --json shape (docs/cli.md): file, key, expected, got, problem, message."""
        return {
            "file": self.source,
            "key": self.key or None,
            "expected": self.expected or None,
            "got": self.got or None,
            "problem": self.problem,
            "message": f"{self.source}: {self.key}: {self.problem}"
            if self.key
            else f"{self.source}: {self.problem}",
        }


class ConfigErrors(ConfigError):
    """Every problem of one file. Reads as its first for callers that want one key."""

    def __init__(self, errors: Sequence[ConfigError]) -> None:
        first = errors[0]
        super().__init__(
            first.source, first.key, first.problem, expected=first.expected, got=first.got
        )
        self._all = tuple(errors)
        self.args = ("\n".join(str(error) for error in self._all),)

    @property
    def errors(self) -> tuple[ConfigError, ...]:
        return self._all


# --- what a value may be ------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class Range:
    """A number's sane range: `lo` inclusive (exclusive when `above`), `hi` inclusive."""

    lo: float
    hi: float | None = None
    above: bool = False

    def expected(self, value: Any) -> str | None:
        """None when `value` is in range, else what was expected."""
        low_ok = value > self.lo if self.above else value >= self.lo
        if low_ok and (self.hi is None or value <= self.hi) and not _is_nan(value):
            return None
        noun = "a number" if isinstance(value, float) else "an integer"
        text = f"{noun} {'>' if self.above else '>='} {_num(self.lo)}"
        return text if self.hi is None else f"{text} and <= {_num(self.hi)}"


@dataclass(frozen=True, slots=True)
class Text:
    """A string that must match `pattern` (`optional`: or be empty)."""

    pattern: str
    description: str
    optional: bool = False
    secret: bool = False  # a URL whose path or password is a credential: shown redacted

    def expected(self, value: Any) -> str | None:
        if (self.optional and value == "") or re.fullmatch(self.pattern, value):
            return None
        return self.description + (" (or empty)" if self.optional else "")


class Money:
    """Whole quote (or wallet) tokens as an exact, non-negative decimal string."""

    def expected(self, value: Any) -> str | None:
        amount = _decimal(value)
        if amount is not None and amount >= 0:
            return None
        return 'a decimal string of whole tokens >= 0, e.g. "100"'


DAY = 86_400.0
WEEK = 7 * DAY
Fraction = Annotated[float, Range(0, 1)]
Percent = Annotated[float, Range(0, 100)]
Bps = Annotated[int, Range(0, 9_999)]  # a fee: 10_000 bps would take everything
Quote = Annotated[str, Money()]
HEX_ADDRESS = r"0x[0-9a-fA-F]{40}"
_OCTET = r"(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])"
IPV4 = rf"{_OCTET}(\.{_OCTET}){{3}}"
Address = Annotated[str, Text(HEX_ADDRESS, "a 0x-prefixed 20-byte hex address")]
MaybeAddress = Annotated[str, Text(HEX_ADDRESS, "a 0x-prefixed 20-byte hex address", optional=True)]
Name = Annotated[str, Text(r"\S+", "a non-empty name without spaces")]


# What `disabled` may name. The guard rules live in engine/guards/rules.py (too heavy for the
# CLI to import; a test keeps the two equal); the alert rules take their names from here.
GuardRuleName = Literal[
    "ledger_unavailable",
    "min_net_profit",
    "max_gas_price",
    "max_notional",
    "max_price_impact",
    "max_head_age",
    "max_head_lag",
    "max_rpc_latency",
    "pinned_provider",
    "max_failed_trades_per_hour",
    "min_success_rate",
    "consecutive_failures",
    "max_hourly_loss",
    "max_daily_loss",
]
AlertRuleName = Literal[
    "health_check_failing",
    "emergency_halt",
    "halt_not_persisted",
    "breaker_open",
    "memory_high",
    "error_rate_high",
    "success_rate_low",
    "hourly_loss",
    "provider_down",
    "unusual_slippage",
    "cpu_high",
    "no_trades",
    "anomaly_detected",
    "ledger_rows_quarantined",
    "trade_corrected",
    "tx_rebroadcast",
]


@dataclass(slots=True)
class EngineSection:
    state_dir: str = ""  # default: $XDG_STATE_HOME/arbctl
    socket: str = ""  # default: $XDG_RUNTIME_DIR/arbctl/engine.sock
    heartbeat_ms: Annotated[int, Range(50, 60_000)] = 1000
    # events kept for since_seq resume
    event_ring: Annotated[int, Range(1_000, 10_000_000)] = 20_000
    # events buffered per subscriber before it is told it lagged
    client_queue: Annotated[int, Range(16, 1_000_000)] = 4_096
    snapshot_interval_s: Annotated[int, Range(1, 86_400)] = 60
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    log_max_bytes: Annotated[int, Range(65_536, 2**30)] = 10 * 1024 * 1024
    log_backups: Annotated[int, Range(0, 100)] = 5
    # Enables `debug.flood` on the socket (publishes synthetic events) for benchmarks and
    # stress tests. Never enable it on a production engine.
    debug_methods: bool = False


@dataclass(slots=True)
class LedgerSection:
    backend: Literal["sqlite", "postgres"] = "sqlite"
    path: str = ""  # sqlite file; default <state_dir>/ledger.sqlite3
    dsn: str = ""  # postgres DSN (secret: its password is redacted by `config show`)
    # quoted wherever it is used: any name PostgreSQL accepts (63 bytes), no double quote
    schema: Annotated[str, Text(r'[^"\x00-\x1f]{1,63}', "a schema name of 1-63 characters")] = (
        "public"
    )


@dataclass(slots=True)
class MarketSection:
    venue: Literal["sim", "evm"] = "sim"
    native: Name = "WETH"  # symbol of the wrapped native token: gas is paid in it
    quote: Name = "USDC"  # symbol of the quote currency for P&L


@dataclass(slots=True)
class SimSection:
    """The built-in simulated market: deterministic from `seed`."""

    seed: Annotated[int, Range(0, 2**63 - 1)] = 7
    block_ms: Annotated[int, Range(1, 3_600_000)] = 1000
    tokens: Annotated[int, Range(0, 100_000)] = 6  # besides WETH and USDC
    dexes: list[Name] = field(default_factory=lambda: ["uniswap", "sushiswap", "pancake"])
    dex_fees_bps: list[Bps] = field(default_factory=lambda: [30, 30, 25])
    noise_swaps_per_block: Annotated[int, Range(0, 10_000)] = 6
    # Pareto tail index of noise swap sizes
    noise_tail_alpha: Annotated[float, Range(0, 100.0, above=True)] = 1.5
    gas_base_gwei: Annotated[float, Range(0, 1_000_000.0, above=True)] = 20.0
    gas_spike_probability: Fraction = 0.03
    competitor_probability: Fraction = 0.15  # chance a rival searcher takes our opportunity
    # share of its expected profit a rival bids as priority fee: ours goes first only if
    # it bids more (ArbOrder.priority_fee_per_gas)
    competitor_bid_share: Fraction = 0.5
    providers: Annotated[int, Range(1, 100)] = 3
    provider_latency_ms: list[Annotated[float, Range(0, 60_000)]] = field(
        default_factory=lambda: [40.0, 90.0, 160.0]
    )
    provider_error_rate: list[Fraction] = field(default_factory=lambda: [0.01, 0.03, 0.08])
    provider_stall_probability: list[Fraction] = field(default_factory=lambda: [0.0, 0.01, 0.03])
    wallet_weth: Quote = "100"  # starting balances, whole tokens (decimal strings: exact)
    wallet_usdc: Quote = "250000"
    # true: a block is mined only once the engine has taken the previous one in (it waits
    # for the next block or a receipt), so a seed replays the same trades; false: blocks
    # come every block_ms whatever the engine does (realistic timing, not reproducible).
    lockstep: bool = True
    # true: beside the V2 pairs every pair also has a Uniswap V3 pool (fee 3000, several
    # positions across tick ranges) and the native pairs a second tier (fee 500), so
    # routes mix pool kinds (engine.market.sim.world); false: V2 pairs only
    v3_pools: bool = True


@dataclass(slots=True)
class TokenEntry:
    address: Address
    symbol: Name
    decimals: Annotated[int, Range(0, 36)]


@dataclass(slots=True)
class FactoryEntry:
    name: Name
    address: Address
    router: MaybeAddress = ""
    fee_bps: Bps = 30


@dataclass(slots=True)
class V3FactoryEntry:
    """A Uniswap V3 (or fork) factory: its pools are found from its PoolCreated logs,
    read from `from_block` (the factory's deployment block saves the provider work)."""

    name: Name
    address: Address
    from_block: Annotated[int, Range(0, 2**63)] = 0


@dataclass(slots=True)
class EvmSection:
    chain_id: Annotated[int, Range(1, 2**53)] = 1
    key_file: str = ""  # hex private key in a 0600 file
    key_env: str = "ARBCTL_PRIVATE_KEY"  # or the key in this environment variable
    executor: MaybeAddress = ""
    tokens: list[TokenEntry] = field(default_factory=list)
    factories: list[FactoryEntry] = field(default_factory=list)
    pairs: list[Address] = field(default_factory=list)  # explicit; default: allPairs
    v3_factories: list[V3FactoryEntry] = field(default_factory=list)
    v3_pools: list[Address] = field(default_factory=list)  # explicit; default: PoolCreated
    # tick bitmap words (256 spacings each) loaded eagerly on each side of a V3 pool's
    # price; farther ones are loaded when the price moves near them
    v3_word_radius: Annotated[int, Range(0, 64)] = 2
    poll_interval_ms: Annotated[int, Range(10, 60_000)] = 500
    max_priority_fee_gwei: Annotated[float, Range(0, 10_000)] = 2.0
    # hex key in its own 0600 file that signs bundle relay requests (X-Flashbots-Signature):
    # a reputation identity holding no funds, never the trading key (engine/execution/reputation.py)
    reputation_key_file: str = ""

    # a sent transaction unmined this long and unknown to the node is re-broadcast
    drop_after_s: Annotated[float, Range(0.1, 3_600)] = 30.0
    # booked trades are checked against reorgs until this many blocks deep
    confirmation_depth: Annotated[int, Range(1, 10_000)] = 12


@dataclass(slots=True)
class ProviderEntry:
    name: Name
    url: Annotated[str, Text(r"[a-zA-Z][a-zA-Z0-9+.-]*://\S+", "a URL", secret=True)]
    # secret: API keys in the path/query of `url` are redacted by `config show`
    priority: Annotated[int, Range(-1_000_000, 1_000_000)] = 0
    kind: Literal["rpc", "liquidity"] = "rpc"


RouteKind = Literal["public", "private", "bundle"]
HTTP_URL = r"https?://\S+"


@dataclass(slots=True)
class RouteEntry:
    """A submission route (engine/market/evm/routes.py): how a signed transaction leaves.

    public: eth_sendRawTransaction to the active RPC endpoint (no url); private: to `url`
    only, an endpoint that does not gossip; bundle: eth_sendBundle to the relay at `url`,
    signed by `evm.reputation_key_file`, for blocks N+1..N+`target_blocks`."""

    name: Name
    kind: RouteKind = "public"
    url: Annotated[str, Text(HTTP_URL, "an http(s):// URL", optional=True, secret=True)] = ""
    priority: Annotated[int, Range(-1_000_000, 1_000_000)] = 0
    chain_ids: list[Annotated[int, Range(1, 2**53)]] = field(default_factory=list)  # []: any
    target_blocks: Annotated[int, Range(1, 25)] = 3  # bundle: blocks N+1..N+k
    builders: list[Name] = field(default_factory=list)  # bundle: the relay forwards to these
    # bundle: further relays/builders each bundle (and each cancel) also goes to
    relays: list[Annotated[str, Text(HTTP_URL, "an http(s):// URL", secret=True)]] = field(
        default_factory=list
    )
    call_bundle: bool = False  # bundle: the relay serves eth_callBundle: simulate first
    # bundle: the builder payment, as this share of the expected profit paid as priority
    # fee (engine/guards/bidding.py), instead of strategy.priority_fee_share_bps
    builder_share_bps: Bps = 0


@dataclass(slots=True)
class StrategySection:
    base_tokens: list[Name] = field(default_factory=lambda: ["WETH", "USDC"])
    max_hops: Annotated[int, Range(2, 3)] = 3
    gas_units_2hop: Annotated[int, Range(21_000, 30_000_000)] = 130_000
    gas_units_3hop: Annotated[int, Range(21_000, 30_000_000)] = 180_000
    flash_fee_bps: Bps = 0
    top_n: Annotated[int, Range(1, 100_000)] = 5
    # the priority fee bid: this share of the expected profit (bps), per gas; capped by
    # guards.max_gas_price_gwei, never below the venue's tip; 0: bid the venue's tip
    priority_fee_share_bps: Bps = 0


@dataclass(slots=True)
class GuardsSection:
    """Risk guards and the trading circuit breaker (docs/guards.md has the full table).

    Defaults are the operations runbook's alert thresholds where it gives one. Money is a
    decimal string of whole quote tokens (USDC by default), converted exactly to base
    units with the quote token's decimals — never through a float.
    """

    # --- per opportunity: the opportunity is blocked --------------------------------
    min_net_profit_quote: Quote = "1"  # net profit after gas and flash fee, below: blocked
    # runbook: "> 150 gwei: pause trading"
    max_gas_price_gwei: Annotated[float, Range(0, 1_000_000)] = 150.0
    # above the cap, profit must survive dearer gas
    gas_headroom_pct: Annotated[int, Range(0, 10**9)] = 100
    max_notional_quote: Quote = "100000"  # input size per trade, valued in quote at mid
    # output lost to the trade's own size
    max_price_impact_bps: Annotated[int, Range(0, 10_000)] = 500
    # stale market data: head block older than this
    max_head_age_s: Annotated[float, Range(0, DAY)] = 30.0
    # stale data: active provider behind the best
    max_head_lag_blocks: Annotated[int, Range(0, 10**9)] = 2
    # runbook: response time > 2000 ms
    max_rpc_latency_ms: Annotated[float, Range(0, 600_000.0, above=True)] = 2000.0
    # --- per booked trade: the circuit breaker opens ----------------------------------
    # runbook: failed trades > 10/hour
    max_failed_trades_per_hour: Annotated[int, Range(0, 10**9)] = 10
    min_success_rate_pct: Percent = 70.0  # runbook: success rate < 70 %
    # over the last this many trades...
    success_rate_window: Annotated[int, Range(1, 1_000_000)] = 20
    # ...once at least this many were booked
    success_rate_min_trades: Annotated[int, Range(1, 1_000_000)] = 10
    # this many failed trades in a row
    consecutive_failures_limit: Annotated[int, Range(1, 10**9)] = 5
    max_hourly_loss_quote: Quote = "100"  # runbook: hourly P&L < -$100
    max_daily_loss_quote: Quote = "500"  # P&L since 00:00 UTC; holds the breaker to midnight
    # --- the breaker --------------------------------------------------------------------
    # OPEN this long before HALF_OPEN lets probes in
    breaker_wait_s: Annotated[float, Range(0, WEEK)] = 300.0
    # probe trades HALF_OPEN allows; all must win
    breaker_probe_trades: Annotated[int, Range(1, 1_000)] = 3
    # a probe not booked by then counts as failed
    breaker_probe_timeout_s: Annotated[float, Range(0, DAY, above=True)] = 120.0
    # --- triggers -----------------------------------------------------------------------
    # identical "blocked" triggers within it are counted
    repeat_window_s: Annotated[float, Range(0, DAY)] = 60.0
    disabled: list[GuardRuleName] = field(default_factory=list)  # rule names switched off


@dataclass(slots=True)
class RedisSection:
    """Optional Redis: hot-state mirror, the fleet-wide halt flag, presence (docs/redis.md).

    Off unless `url` is set. Losing Redis never stops trading: health goes WARNING and
    the engine reconnects with backoff. Keys expire `ttl_s` after the last write, so a
    dead engine disappears from `arbctl fleet` on its own.
    """

    # e.g. redis://127.0.0.1:6379/0; empty = disabled (password redacted)
    url: Annotated[
        str, Text(r"(rediss?|unix)://\S*", "a redis://, rediss:// or unix:// URL", True, True)
    ] = ""
    namespace: Name = "arbctl"  # key prefix: fleets sharing one Redis use different ones
    engine_name: str = ""  # default: <hostname>-<hash of the state dir>
    heartbeat_s: Annotated[float, Range(0, 3_600.0, above=True)] = 2.0  # presence and mirror writes
    # a key not refreshed for this long expires (dead engine)
    ttl_s: Annotated[float, Range(0, DAY, above=True)] = 15.0
    # periodic read of the halt flag, besides pub/sub
    halt_check_s: Annotated[float, Range(0, 3_600.0, above=True)] = 2.0
    # connect and command timeout: Redis never holds anything up
    timeout_s: Annotated[float, Range(0, 60.0, above=True)] = 1.0
    # reconnect attempts back off up to this
    backoff_max_s: Annotated[float, Range(0, 3_600.0, above=True)] = 5.0


@dataclass(slots=True)
class MetricsSection:
    """Engine metrics, anomaly detection and the optional Prometheus endpoint
    (docs/observability.md). Windows are seconds; money is whole quote tokens."""

    # the runbook dashboard's "per minute" window
    window_s: Annotated[float, Range(0, DAY, above=True)] = 60.0
    # success rate, failed trades per hour, hourly P&L
    hour_window_s: Annotated[float, Range(0, WEEK, above=True)] = 3600.0
    # memory % is of this limit (a container's); 0: host
    memory_limit_mb: Annotated[int, Range(0, 2**24)] = 0
    # recent values each series is judged against
    anomaly_window: Annotated[int, Range(2, 1_000_000)] = 200
    # nothing is judged before this many
    anomaly_min_samples: Annotated[int, Range(2, 1_000_000)] = 30
    # robust z-score above which a value is anomalous
    anomaly_threshold: Annotated[float, Range(0, 1_000.0, above=True)] = 3.5
    # anomalies kept for `metrics` / `anomalies`
    anomaly_recent: Annotated[int, Range(0, 100_000)] = 50
    # under half the quoted profit never counts
    slippage_floor_bps: Annotated[float, Range(0, 10_000)] = 5000.0
    profit_floor_quote: Quote = "0"  # profit per trade: deviations under this never count
    # loop latency: smaller deviations ignored
    loop_latency_floor_ms: Annotated[float, Range(0, 60_000)] = 25.0
    # text exposition on HOST:PORT/metrics; 0 = off
    prometheus_port: Annotated[int, Range(0, 65_535)] = 0
    # where it listens: loopback; "0.0.0.0" in a container whose scraper is a neighbour
    prometheus_host: Annotated[str, Text(IPV4, "an IPv4 address, e.g. 127.0.0.1 or 0.0.0.0")] = (
        "127.0.0.1"
    )


Severity = Literal["P0", "P1", "P2", "P3"]


@dataclass(slots=True)
class AlertsSection:
    """Alert rules, their thresholds and the notification sinks (docs/observability.md).

    Defaults are the runbooks' alert rules. Money is a decimal string of whole quote
    tokens, converted exactly like `[guards]`. Every notification is also logged.
    """

    # rules are evaluated this often, and on change
    evaluate_interval_s: Annotated[float, Range(0.1, 3_600)] = 5.0
    # a still-firing alert is sent again this often
    resend_interval_s: Annotated[float, Range(1, WEEK)] = 3600.0
    webhook_url: Annotated[
        str, Text(r"https?://\S+", "an http:// or https:// URL", optional=True, secret=True)
    ] = ""  # JSON POST, Slack-compatible `text` (secret: redacted)
    webhook_timeout_s: Annotated[float, Range(0, 300.0, above=True)] = 5.0
    webhook_min_severity: Severity = "P3"  # sends this severity and more severe ones
    command: list[str] = field(default_factory=list)  # argv; the alert as JSON on stdin
    command_timeout_s: Annotated[float, Range(0, 3_600.0, above=True)] = 10.0
    command_min_severity: Severity = "P3"
    # --- rules --------------------------------------------------------------------------
    # the engine runs its own health checks this often
    health_interval_s: Annotated[float, Range(1, DAY)] = 60.0
    # runbook: health check failed 3 consecutive times
    health_failures: Annotated[int, Range(1, 1_000)] = 3
    cpu_percent: Annotated[float, Range(0, 10_000)] = 80.0  # runbook: CPU > 80 % for 5 minutes
    cpu_for_s: Annotated[float, Range(0, WEEK)] = 300.0
    memory_percent: Percent = 90.0  # runbook: memory > 90 % for 2 minutes
    memory_for_s: Annotated[float, Range(0, WEEK)] = 120.0
    # runbook: no trades for 30 minutes (while running)
    no_trades_s: Annotated[float, Range(0, WEEK)] = 1800.0
    # runbook: error rate > 50/min for 5 min
    errors_per_minute: Annotated[float, Range(0, 1_000_000_000)] = 50.0
    errors_for_s: Annotated[float, Range(0, WEEK)] = 300.0
    min_success_rate_pct: Percent = 70.0  # runbook: success rate < 70 %
    # ...over the hour window, once booked
    success_rate_min_trades: Annotated[int, Range(1, 1_000_000)] = 10
    max_hourly_loss_quote: Quote = "100"  # runbook: hourly P&L < -$100
    provider_down_for_s: Annotated[float, Range(0, WEEK)] = 60.0  # a provider down this long (ours)
    # an anomaly keeps its alert firing this long
    anomaly_window_s: Annotated[float, Range(0, WEEK)] = 900.0
    disabled: list[AlertRuleName] = field(default_factory=list)  # rule names switched off


@dataclass(slots=True)
class Config:
    engine: EngineSection = field(default_factory=EngineSection)
    ledger: LedgerSection = field(default_factory=LedgerSection)
    market: MarketSection = field(default_factory=MarketSection)
    sim: SimSection = field(default_factory=SimSection)
    evm: EvmSection = field(default_factory=EvmSection)
    providers: list[ProviderEntry] = field(default_factory=list)
    routes: list[RouteEntry] = field(default_factory=list)  # none: public (the devnet's)
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
def load(path: str | Path | None, *, not_yet: Collection[str] = ()) -> Config:
    """Read and validate a config file; `None` gives the embedded defaults.

    `not_yet`: keys whose cross-field rule is waived because the caller is the one about
    to fill them in (`arbctl executor deploy` writes `evm.executor`); a wrong value for
    such a key is still refused. Raises ConfigError; when a file has several problems,
    `ConfigErrors` with all of them.
    """
    if path is None:
        return Config()
    source = str(path)
    loader = _Loader(source)
    config = loader.build(Config, _read(Path(path), source), "")
    if not isinstance(config, Config):  # pragma: no cover - TOML's top level is a table
        config = Config()
    config.source = source
    rules = [e for e in check(config) if e.key not in not_yet]
    errors = loader.errors + [e for e in rules if not loader.covers(e.key)]
    if len(errors) == 1:
        raise errors[0]
    if errors:
        raise ConfigErrors(errors)
    return config


def _read(path: Path, source: str) -> dict[str, Any]:
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise ConfigError(source, "", f"cannot read file: {exc.strerror}") from None
    try:
        return tomllib.loads(raw.decode("utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(source, "", f"not valid TOML: {exc}") from None


_INVALID = object()  # a value that could not be taken: its default stays, its error is kept


class _Loader:
    """Types and ranges, key by key, collecting every problem instead of stopping."""

    def __init__(self, source: str) -> None:
        self.source = source
        self.errors: list[ConfigError] = []

    def covers(self, key: str) -> bool:
        """A rule's complaint about `key` adds nothing when the key itself was refused."""
        return any(e.key == key or e.key.startswith((key + ".", key + "[")) for e in self.errors)

    def fail(self, key: str, expected: str, got: str, problem: str = "") -> Any:
        problem = problem or f"expected {expected}, got {got}"
        self.errors.append(ConfigError(self.source, key, problem, expected=expected, got=got))
        return _INVALID

    def build(self, cls: type, data: Any, prefix: str) -> Any:
        if not isinstance(data, dict):
            return self.fail(prefix or "<top>", "a table", _kind(data))
        hints = typing.get_type_hints(cls, include_extras=True)
        fields = {f.name: f for f in dataclasses.fields(cls) if f.name != "source"}
        for name in sorted(set(data) - set(fields)):
            known = ", ".join(sorted(fields))
            problem = f"unknown key (known: {known})"
            self.fail(_join(prefix, name), f"one of: {known}", repr(name), problem)
        kwargs = {}
        for name, value in data.items():
            if name in fields:
                taken = self.coerce(hints[name], value, _join(prefix, name))
                if taken is not _INVALID:
                    kwargs[name] = taken
        missing = [n for n, f in fields.items() if n not in data and _required(f)]
        for name in missing:
            self.fail(_join(prefix, name), "a value", "nothing", "required key is missing")
        if any(n not in kwargs for n, f in fields.items() if _required(f)):
            return _INVALID  # missing or refused: its error is recorded
        return cls(**kwargs)

    def coerce(self, hint: Any, value: Any, key: str) -> Any:
        origin = typing.get_origin(hint)
        if origin is Annotated:
            base, *checks = typing.get_args(hint)
            return self._checked(self.coerce(base, value, key), checks, key)
        if dataclasses.is_dataclass(hint):
            return self.build(hint, value, key)  # type: ignore[arg-type]
        if origin is Literal:
            return self._choice(typing.get_args(hint), value, key)
        if origin is list:
            return self._list(typing.get_args(hint)[0], value, key)
        if origin in (types.UnionType, typing.Union):
            return self.fail(key, "a supported type", "a union type in the schema")
        return self._scalar(hint, value, key)

    def _checked(self, value: Any, checks: list[Any], key: str) -> Any:
        if value is _INVALID:
            return value
        for check_ in checks:
            expected = check_.expected(value)
            if expected is not None:
                secret = isinstance(check_, Text) and check_.secret
                return self.fail(key, expected, redact_webhook(value) if secret else _shown(value))
        return value

    def _choice(self, allowed: tuple[Any, ...], value: Any, key: str) -> Any:
        if value in allowed and isinstance(value, str):
            return value
        return self.fail(key, "one of " + " | ".join(repr(a) for a in allowed), repr(value))

    def _list(self, item: Any, value: Any, key: str) -> Any:
        if not isinstance(value, list):
            return self.fail(key, "an array", _kind(value))
        items = [self.coerce(item, v, f"{key}[{i}]") for i, v in enumerate(value)]
        return _INVALID if any(v is _INVALID for v in items) else items

    def _scalar(self, hint: type, value: Any, key: str) -> Any:
        # bool is an int in Python; a config that says `port = true` is still wrong.
        if hint is float and isinstance(value, int) and not isinstance(value, bool):
            return float(value)
        if isinstance(value, bool) != (hint is bool) or not isinstance(value, hint):
            return self.fail(key, _type_name(hint), _kind(value))
        return value


def _required(f: dataclasses.Field[Any]) -> bool:
    return f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING


def _kind(value: Any) -> str:
    names = {bool: "a boolean", int: "an integer", float: "a float", str: "a string"}
    names.update({list: "an array", dict: "a table"})
    return names.get(type(value), type(value).__name__) + f" ({value!r})"[:60]


def _type_name(hint: type) -> str:
    names = {bool: "a boolean", int: "an integer", float: "a number", str: "a string"}
    return names.get(hint, hint.__name__)


def _shown(value: Any) -> str:
    """A value as the operator wrote it: numbers bare, strings quoted."""
    return _num(value) if isinstance(value, int | float) else repr(value)[:60]


def _num(value: float) -> str:
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e15:
        value = int(value)
    return f"{value:_}" if isinstance(value, int) and abs(value) >= 10_000 else str(value)


def _is_nan(value: Any) -> bool:
    return isinstance(value, float) and math.isnan(value)


def _decimal(text: str) -> Decimal | None:
    try:
        value = Decimal(text.strip())
    except InvalidOperation:
        return None
    return value if value.is_finite() else None


def _join(prefix: str, name: str) -> str:
    return f"{prefix}.{name}" if prefix else name


# --- rules that relate settings -------------------------------------------------------------
Problem = tuple[str, str, str] | tuple[str, str, str, str]  # key, expected, got[, problem]


def check(config: Config) -> list[ConfigError]:
    """The cross-field rules on a typed config; [] when it may run."""
    rules = (_ledger, _redis, _sim, _evm, _strategy, _guards, _metrics, _money, _providers, _routes)
    return [_error(config.source, *found) for rule in rules for found in rule(config)]


def _error(source: str, key: str, expected: str, got: str, problem: str = "") -> ConfigError:
    problem = problem or f"expected {expected}, got {got}"
    return ConfigError(source, key, problem, expected=expected, got=got)


def _ledger(config: Config) -> Iterator[Problem]:
    ledger = config.ledger
    if ledger.backend == "postgres" and not ledger.dsn:
        yield "ledger.dsn", "a postgresql:// DSN when ledger.backend = 'postgres'", "nothing"
    elif ledger.dsn and not re.match(r"postgres(ql)?://", ledger.dsn):
        yield "ledger.dsn", "a postgresql:// DSN", "a DSN with another scheme"


def _redis(config: Config) -> Iterator[Problem]:
    redis = config.redis
    if redis.ttl_s <= redis.heartbeat_s:
        expected = f"more than heartbeat_s ({_num(redis.heartbeat_s)}), or live engines expire"
        yield "redis.ttl_s", expected, _num(redis.ttl_s)


def _sim(config: Config) -> Iterator[Problem]:
    sim = config.sim
    if len(sim.dexes) != len(sim.dex_fees_bps) or not sim.dexes:
        expected = f"one fee per dex ({len(sim.dexes)} dexes), at least one dex"
        yield "sim.dex_fees_bps", expected, f"{len(sim.dex_fees_bps)} fees"
    for key in ("provider_latency_ms", "provider_error_rate", "provider_stall_probability"):
        given = len(getattr(sim, key))
        if given < sim.providers:
            yield f"sim.{key}", f"one entry per provider ({sim.providers})", f"{given} entries"


def _evm(config: Config) -> Iterator[Problem]:
    """Only what the evm venue reads; a sim engine ignores [evm]."""
    if config.market.venue != "evm":
        return
    evm = config.evm
    symbols = [t.symbol for t in evm.tokens]
    for role in ("native", "quote"):
        symbol = getattr(config.market, role)
        if symbol not in symbols:
            yield f"market.{role}", f"one of evm.tokens' symbols {symbols}", repr(symbol)
    if len(set(symbols)) != len(symbols):
        yield "evm.tokens", "each symbol once", f"symbols {symbols}"
    if not evm.executor:
        yield "evm.executor", "the address of the ArbExecutor contract", "nothing"
    if not (evm.factories or evm.pairs or evm.v3_factories or evm.v3_pools):
        yield "evm.factories", "at least one factory (or evm.pairs, v3_factories, v3_pools)", "none"
    yield from _v3(config)
    if not any(p.kind == "rpc" for p in config.providers):
        yield "providers", 'at least one [[providers]] with kind = "rpc"', "none"
    unknown = [s for s in config.strategy.base_tokens if s not in symbols]
    if unknown:
        yield "strategy.base_tokens", f"symbols among evm.tokens {symbols}", repr(unknown)
    yield from _key_file(evm.key_file)


def _v3(config: Config) -> Iterator[Problem]:
    """V3 pools: each factory and each listed pool once (a pool listed twice, or a
    factory twice, would be loaded and traded as two pools), and a liquidity source a
    V3 route can use: `execute` (pair://first-hop, the default) takes V2 pairs only, so
    without another source every V3 route would be found and refused, block after block."""
    evm = config.evm
    if (evm.v3_factories or evm.v3_pools) and not any(
        p.kind == "liquidity" and not p.url.startswith("pair:") for p in config.providers
    ):
        yield (
            "providers",
            'a [[providers]] kind = "liquidity" other than pair:// when V3 pools are '
            "configured (inventory://, uniswap-v3://, balancer-v2://, aave-v3://)",
            "none",
        )
    names = [f.name for f in evm.v3_factories]
    if len(set(names)) != len(names):
        yield "evm.v3_factories", "each name once", f"names {names}"
    factories = [f.address.lower() for f in evm.v3_factories]
    if len(set(factories)) != len(factories):
        yield "evm.v3_factories", "each factory address once", "an address listed twice"
    pools = [a.lower() for a in evm.v3_pools]
    if len(set(pools)) != len(pools):
        yield "evm.v3_pools", "each pool address once", "an address listed twice"
    v2 = {a.lower() for a in evm.pairs}
    if v2 & set(pools):
        yield "evm.v3_pools", "V3 pools only", "an address also listed in evm.pairs"


def _key_file(path_text: str) -> Iterator[Problem]:
    """The key file's presence and mode, never its content (the signer reads that)."""
    if not path_text:
        return
    refused = key_file_refusal(Path(path_text).expanduser())
    if refused is not None:
        yield ("evm.key_file", *refused)


def key_file_refusal(path: Path) -> tuple[str, str, str] | None:
    """(expected, got, problem) when `path` may not hold a signing key: unreadable, or
    open to group or others. The one rule, applied here at load and by the signer to
    the file as it reads it."""
    try:
        mode = stat.S_IMODE(path.stat().st_mode)
    except OSError as exc:
        return "a key file", str(exc.strerror), f"cannot read key file {path}: {exc.strerror}"
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        problem = (
            f"key file {path} has mode {mode:04o}: a signing key must be readable by its "
            f"owner only (mode 0600); fix it with: chmod 600 {path}"
        )
        return "mode 0600 (owner only)", f"mode {mode:04o}", problem
    return None


def _strategy(config: Config) -> Iterator[Problem]:
    strategy = config.strategy
    if not strategy.base_tokens:
        yield "strategy.base_tokens", "at least one token symbol", "none"


def _guards(config: Config) -> Iterator[Problem]:
    guards = config.guards
    if guards.success_rate_min_trades > guards.success_rate_window:
        expected = f"at most success_rate_window ({guards.success_rate_window})"
        yield "guards.success_rate_min_trades", expected, str(guards.success_rate_min_trades)
    gwei = _decimal(repr(guards.max_gas_price_gwei))  # the guards compare whole wei
    if gwei is not None and (gwei * 10**GWEI_DECIMALS) % 1:
        expected = f"at most {GWEI_DECIMALS} decimal places (a whole wei)"
        yield "guards.max_gas_price_gwei", expected, repr(guards.max_gas_price_gwei)


def _metrics(config: Config) -> Iterator[Problem]:
    metrics = config.metrics
    if metrics.anomaly_min_samples > metrics.anomaly_window:
        expected = f"at most anomaly_window ({metrics.anomaly_window})"
        yield "metrics.anomaly_min_samples", expected, str(metrics.anomaly_min_samples)


QUOTE_KEYS = (
    "guards.min_net_profit_quote",
    "guards.max_notional_quote",
    "guards.max_hourly_loss_quote",
    "guards.max_daily_loss_quote",
    "metrics.profit_floor_quote",
    "alerts.max_hourly_loss_quote",
)
SIM_NATIVE_DECIMALS, SIM_QUOTE_DECIMALS = 18, 6  # the simulated WETH and USDC
GWEI_DECIMALS = 9  # a gwei is 10**9 wei


def _money(config: Config) -> Iterator[Problem]:
    """Amounts must land on a whole base unit of their token: nothing rounds silently."""
    amounts = [(key, _get(config, key), quote_decimals(config)) for key in QUOTE_KEYS]
    amounts += [
        ("sim.wallet_weth", config.sim.wallet_weth, SIM_NATIVE_DECIMALS),
        ("sim.wallet_usdc", config.sim.wallet_usdc, SIM_QUOTE_DECIMALS),
    ]
    for key, text, decimals in amounts:
        amount = _decimal(text)
        if decimals is None or amount is None or amount < 0:
            continue  # no quote token (its own error), or refused already as money
        if (amount * 10**decimals) % 1:
            yield key, f"at most {decimals} decimal places", repr(text)


def quote_decimals(config: Config) -> int | None:
    """The quote token's decimals as the venue will know them; None if it has none."""
    if config.market.venue == "sim":
        return SIM_QUOTE_DECIMALS
    found = [t.decimals for t in config.evm.tokens if t.symbol == config.market.quote]
    return found[0] if found else None


def _get(config: Config, key: str) -> Any:
    section, name = key.split(".")
    return getattr(getattr(config, section), name)


def _providers(config: Config) -> Iterator[Problem]:
    names = [p.name for p in config.providers]
    for name in sorted({n for n in names if names.count(n) > 1}):
        yield "providers", "each provider name once", repr(name)
    for index, entry in enumerate(config.providers):
        if entry.kind != "liquidity":
            continue
        fee = liquidity_fee_bps(entry)
        if fee is not None and not _bps(fee):
            yield f"providers[{index}].url", "fee_bps=0..9999 in the query", repr(fee)
        yield from _lender_url(config, index, entry.url)


def chain_routes(config: Config) -> list[RouteEntry]:
    """The routes of this engine's chain (`chain_ids` empty: every chain)."""
    chain = config.evm.chain_id
    return [r for r in config.routes if not r.chain_ids or chain in r.chain_ids]


def _routes(config: Config) -> Iterator[Problem]:
    provider_names = {p.name for p in config.providers}
    rpc_urls = {p.url.rstrip("/") for p in config.providers if p.kind == "rpc"}
    names = [r.name for r in config.routes]
    for name in sorted({n for n in names if names.count(n) > 1 or n in provider_names}):
        yield "routes", "each route name once, and none a provider's", repr(name)
    for index, route in enumerate(config.routes):
        yield from _route(index, route, rpc_urls)
    used = chain_routes(config) if config.market.venue == "evm" else []
    if any(r.kind == "bundle" for r in used):
        yield from _reputation_key(config.evm)


def _route(index: int, route: RouteEntry, rpc_urls: set[str]) -> Iterator[Problem]:
    key = f"routes[{index}]"
    if route.kind == "public" and route.url:
        problem = "a public route sends to the active RPC endpoint: it takes no url"
        yield f"{key}.url", "no url", "a url", problem
    if route.kind != "public" and not route.url:
        yield f"{key}.url", f"the {route.kind} endpoint's http(s) URL", "nothing"
    if route.kind == "private" and route.url.rstrip("/") in rpc_urls:
        problem = "a private route must not send to a public RPC endpoint ([[providers]])"
        yield f"{key}.url", "a private endpoint's URL", "an RPC provider's URL", problem
    bundle_only = route.builders or route.relays or route.call_bundle or route.builder_share_bps
    if route.kind != "bundle" and bundle_only:
        problem = "builders, relays, call_bundle, builder_share_bps: bundle routes only"
        yield f"{key}.kind", "'bundle'", repr(route.kind), problem


def _same_file(one: str, other: str) -> bool:
    return Path(one).expanduser().resolve() == Path(other).expanduser().resolve()


def _reputation_key(evm: EvmSection) -> Iterator[Problem]:
    key = "evm.reputation_key_file"
    path = evm.reputation_key_file
    if not path:
        yield key, "a 0600 file holding the relay reputation key (bundle routes)", "nothing"
        return
    refused = key_file_refusal(Path(path).expanduser())
    if refused is not None:
        yield (key, *refused)
    elif evm.key_file and _same_file(path, evm.key_file):
        problem = "the reputation key must not be the trading key (evm.key_file)"
        yield key, "a file other than evm.key_file", "evm.key_file", problem


# A liquidity source's URL scheme is the contract path its loans take (engine/lenders/loans.py).
LIQUIDITY_SCHEMES = ("pair", "inventory", "uniswap-v3", "balancer-v2", "aave-v3")
LENDER_SCHEMES = ("uniswap-v3", "balancer-v2", "aave-v3")  # these name the lender's address


def _lender_url(config: Config, index: int, url: str) -> Iterator[Problem]:
    parts = urllib.parse.urlsplit(url)
    if parts.scheme not in LIQUIDITY_SCHEMES:
        known = ", ".join(f"{s}://" for s in LIQUIDITY_SCHEMES)
        yield f"providers[{index}].url", f"a lender scheme ({known})", repr(parts.scheme)
        return
    host = parts.hostname or ""
    needs = parts.scheme in LENDER_SCHEMES and config.market.venue == "evm"
    if needs and not (len(host) == 42 and host.startswith("0x") and _is_hex(host[2:])):
        yield f"providers[{index}].url", "the lender's contract address on a chain", repr(host)


def _is_hex(text: str) -> bool:
    return all(c in "0123456789abcdefABCDEF" for c in text)


def liquidity_fee_bps(entry: ProviderEntry) -> str | None:
    """The `fee_bps` a liquidity source's URL sets (its last value), as written."""
    query = urllib.parse.parse_qs(urllib.parse.urlsplit(entry.url).query)
    values = query.get("fee_bps")
    return values[-1] if values else None


def _bps(text: str) -> bool:
    return text.isdigit() and int(text) < 10_000


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
    for route in data["routes"]:
        route["url"] = redact_text(route["url"])
        route["relays"] = [redact_text(url) for url in route["relays"]]
    return data


# --- the engine's refusal, for `arbctl up` ---------------------------------------------------
ERROR_REPORT_FILE = "engine.config-error.json"  # in the state dir, written by a refusing engine


def write_error_report(state_dir: Path, error: ConfigError) -> None:
    """Leave the refusal where `arbctl up` looks: it sees only the engine's exit code."""
    report = {"file": error.source, "errors": [e.to_dict() for e in error.errors]}
    state_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    tmp = state_dir / (ERROR_REPORT_FILE + ".tmp")
    tmp.write_text(json.dumps(report, indent=2) + "\n")
    tmp.replace(state_dir / ERROR_REPORT_FILE)


def read_error_report(state_dir: Path) -> dict[str, Any] | None:
    """The last refusal's report, or None (none, or unreadable: the logs still tell)."""
    try:
        report = json.loads((state_dir / ERROR_REPORT_FILE).read_text())
    except (OSError, ValueError):
        return None
    return report if isinstance(report, dict) and report.get("errors") else None


def clear_error_report(state_dir: Path) -> None:
    (state_dir / ERROR_REPORT_FILE).unlink(missing_ok=True)
