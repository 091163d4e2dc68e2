"""The composition root: the only module that knows every part and wires them together.

Lifecycle of one engine process:
  load config → claim the socket path → open the ledger → restore the last snapshot →
  build the market venue, search and executor → serve the control socket → leave
  `starting` (running, or halted if a halt is persisted) → READY=1 →
  ... trade ... →
  SIGTERM/`shutdown`: stop sending, let in-flight work finish, flush the ledger, write a
  shutdown snapshot, remove the socket, exit 0 — all within 10 s.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import io
import logging
import os
import signal
import sys
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from engine import protocol, snapshots
from engine.accounting.reconcile import record_session_start
from engine.approval import build_chain
from engine.audit import AuditTrail
from engine.bus import EventBus
from engine.config import Config, ConfigError, clear_error_report, load, write_error_report
from engine.control.health_checks import evaluate_health
from engine.control.methods.accounting import AccountingMethods
from engine.control.methods.engine import EngineMethods
from engine.control.methods.fleet import FleetMethods
from engine.control.methods.guards import GuardMethods
from engine.control.methods.providers import ProviderMethods
from engine.control.methods.telemetry import TelemetryMethods
from engine.control.parts import ControlParts, EngineView
from engine.control.server import ControlServer, Handler, SocketInUse, prepare_socket_path
from engine.execution.gate import Broadcaster, SendGate
from engine.failover.sets import ProviderSets
from engine.fleet.keys import default_engine_name
from engine.fleet.part import FleetPart, Whereabouts, build_fleet_part
from engine.guards.approver import Guards
from engine.killswitch import KillSwitch
from engine.ledger.factory import open_store
from engine.ledger.store import LedgerStore
from engine.ledger.writer import DEADLETTER_FILE, LedgerWriter
from engine.lenders.loans import lender_kind
from engine.lenders.sources import LiquiditySources, build_sources
from engine.lifecycle import Lifecycle
from engine.market.venue import Venue, VenueError
from engine.pipeline import Executor, TradingPipeline
from engine.snapshots import Session, Snapshots
from engine.strategy import gas_model
from engine.strategy.gas_model import GasModel
from engine.strategy.search import ArbitrageSearch, SearchConfig
from engine.telemetry import logs
from engine.telemetry.alerts import Alerting
from engine.telemetry.loop import LoopMonitor
from engine.telemetry.metrics import ErrorLogBridge, Metrics
from engine.telemetry.prometheus import PrometheusExporter
from engine.telemetry.resources import ResourceSampler
from engine.telemetry.sdnotify import Notifier
from engine.telemetry.series import Identity, Series

if TYPE_CHECKING:  # the chain parts are imported only when a chain is configured
    from engine.execution.reorgs import ReorgWatch

log = logging.getLogger("arbctl.engine")

STOP_DEADLINE_S = 8.0  # of the 10 s an operator (and systemd) grants a graceful stop
EXIT_OK, EXIT_FAILED, EXIT_CONFIG = 0, 1, 2


@dataclass(frozen=True, slots=True)
class Paths:
    socket: Path
    state_dir: Path


def resolve_paths(config: Config, socket: str | None, state_dir: str | None) -> Paths:
    """Command line beats environment beats config file beats XDG defaults."""
    sock = socket or os.environ.get("ARBCTL_SOCKET") or config.engine.socket
    state = state_dir or os.environ.get("ARBCTL_STATE_DIR") or config.engine.state_dir
    return Paths(
        socket=Path(sock) if sock else protocol.default_socket_path(),
        state_dir=Path(state) if state else protocol.default_state_dir(),
    )


def run(config_path: str | None, socket: str | None = None, state_dir: str | None = None) -> int:
    """Foreground entry point (`arbctl engine run`, systemd's ExecStart)."""
    try:
        config = load(config_path)
    except ConfigError as exc:
        return refuse_config(exc, state_dir or os.environ.get("ARBCTL_STATE_DIR"))
    paths = resolve_paths(config, socket, state_dir)
    clear_error_report(paths.state_dir)
    paths.state_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    engine = config.engine
    log_path = logs.setup(
        paths.state_dir, engine.log_level, engine.log_max_bytes, engine.log_backups
    )
    try:
        prepare_socket_path(paths.socket)
    except SocketInUse as exc:
        log.error("not starting: %s", exc)
        return EXIT_FAILED
    log.info("engine starting: config=%s socket=%s log=%s", config.source, paths.socket, log_path)
    try:
        return asyncio.run(Daemon(config, paths).main())
    except KeyboardInterrupt:
        return EXIT_OK


def refuse_config(error: ConfigError, state_dir: str | Path | None) -> int:
    """Every problem on stderr (the journal, `up`'s stdio log) and, where the state dir is
    known, as a report `arbctl up` reads to name the key: it sees only the exit code."""
    for problem in error.errors:
        print(f"arbctl engine: config error: {problem}", file=sys.stderr, flush=True)
    if state_dir:
        with contextlib.suppress(OSError):
            write_error_report(Path(state_dir), error)
    return EXIT_CONFIG


class Daemon:
    def __init__(self, config: Config, paths: Paths) -> None:
        self.config = config
        self.paths = paths
        self.session_id = uuid.uuid4().hex[:12]
        self.started_at = time.time()
        self.bus = EventBus(
            ring_size=config.engine.event_ring,
            queue_limit=config.engine.client_queue,
            start_seq=int(self.started_at * 1_000_000),
        )
        self.lifecycle = Lifecycle(paths.state_dir, self.bus)
        self.notifier = Notifier()
        self.resources = ResourceSampler(paths.state_dir)
        self.view = EngineView()  # the market and what start-up learns after listening
        self._ledger: LedgerWriter | None = None  # the heartbeat carries its status
        self.metrics: Metrics | None = None
        self.alerting: Alerting | None = None
        self._stop = asyncio.Event()
        self._stop_reason = ""
        self._instance: str | None = None  # the pid file's nonce, once written

    def request_shutdown(self, reason: str) -> None:
        if not self._stop.is_set():
            log.info("shutdown requested: %s", reason)
            self._stop_reason = reason
            self._stop.set()

    async def main(self) -> int:
        self._install_signals()
        try:
            store = await open_store(self.config.ledger, self.paths.state_dir)
        except ConfigError as exc:
            return self._refuse(exc)
        except Exception as exc:
            log.error("cannot open the %s ledger: %s", self.config.ledger.backend, exc)
            return EXIT_FAILED
        try:
            return await self._run_with(store)
        finally:
            await store.close()

    async def _run_with(self, store: LedgerStore) -> int:
        writer = LedgerWriter(store, deadletter=self.paths.state_dir / DEADLETTER_FILE)
        self._ledger = writer
        restored = await snapshots.restore(store, self.bus)
        try:
            venue = build_venue(self.config)
        except ConfigError as exc:
            return self._refuse(exc)
        except Exception as exc:
            log.error("cannot build the %s market: %s", self.config.market.venue, exc)
            return EXIT_FAILED
        try:
            lenders = build_sources(self.config)
            if lenders is not None:  # sizing reads what each lender can lend, per block
                venue.watch_lenders(lenders.loans(), _base_tokens(self.config, venue))
                lenders.read_capacity_from(venue.lender_capacity)
            gas = build_gas_model(self.config, lenders)
            guards = Guards.from_config(self.config, self.bus, writer, venue, gas)
            routes = getattr(venue, "routes", None)  # a chain's: a bundle route's builder share
            if routes is not None:
                guards.route_share = routes.builder_share_bps
            providers = ProviderSets.build(venue, lenders, self.bus, guards.triggers)
        except ConfigError as exc:
            return self._refuse(exc)
        gate = SendGate(self.lifecycle, venue)
        audit = AuditTrail(self.bus, writer)
        # The one way to halt: the socket's kill and the Redis flag both call it.
        killswitch = KillSwitch(self.lifecycle, self.paths.state_dir, gate, audit, self.bus)
        fleet = build_fleet_part(  # None without [redis]
            self.config, self._whereabouts(), self.lifecycle, killswitch, self.bus
        )
        server = ControlServer(self.paths.socket, self.bus)
        parts = self._control_parts(writer, gate, killswitch, audit, fleet, server)
        self.metrics = Metrics.from_config(self.config, guards.thresholds)
        health = functools.partial(evaluate_health, parts)
        alerting = Alerting.from_config(
            self.config, self.bus, self.metrics, guards.thresholds, health
        )
        self.alerting = alerting
        accounting = AccountingMethods(self.config, writer, audit, venue)
        table = method_table(parts, guards, providers, self.metrics, alerting, accounting, fleet)
        await server.start(table)  # answers `starting` while the market loads
        self._write_pid()
        chain_watch: asyncio.Task[None] | None = None
        try:
            error_logs = ErrorLogBridge.install(self.bus)  # ERROR records count as errors
            if fleet is not None:
                await fleet.start()  # a set global halt flag: we leave `starting` halted
            await _restore_guards(guards, store)
            await venue.start()
            providers.start()
            await _restore_gas_model(gas, store, venue)
            executor = build_executor(self.config, gate, venue, gas, lenders)
            await recover_sent(self.config, executor, store, self.view)
            reorgs = watch_chain(self.config, executor, store, self.bus)
            if reorgs is not None:
                chain_watch = asyncio.create_task(
                    reorgs.run(resume_s=REORG_RESUME_S), name="reorg-watch"
                )
            session_start = await record_session_start(store, venue, self.session_id)
            pipeline = TradingPipeline(
                venue,
                build_search(self.config, venue, gas),
                executor,
                self.lifecycle,
                self.bus,
                writer,
                approver=build_chain(guards, lenders, guards.triggers, sizer=guards, bidder=guards),
            )
            guards.attach(pipeline)
            if lenders is not None:
                pipeline.lender_health = lenders.health
            self.view.trading(pipeline, guards.breaker_summary)
            restored.apply(pipeline, guards.breaker, providers)
            checked = None if reorgs is None else (lambda: reorgs.checked)
            accounting.attach(pipeline, session_start, checked)
            snaps = Snapshots(
                self._session(), self.bus, self.lifecycle, pipeline, guards.breaker, providers
            )
            return await self._serve(venue, pipeline, writer, parts.loop, snaps)
        except ConfigError as exc:  # only the running market knows, e.g. sim symbols
            return self._refuse(exc)
        except VenueError as exc:
            log.error("market unavailable: %s", exc)
            return EXIT_FAILED
        except Exception:
            log.exception("engine failed")
            return EXIT_FAILED
        finally:
            if chain_watch is not None:
                chain_watch.cancel()
            if fleet is not None:
                await fleet.close()
            error_logs.remove()
            alerting.close()
            await killswitch.close()
            await providers.close()
            await server.close()
            protocol.remove_pid_file(self.paths.state_dir, self._instance)

    async def _serve(
        self,
        venue: Any,
        pipeline: TradingPipeline,
        writer: LedgerWriter,
        loop_monitor: LoopMonitor,
        snaps: Snapshots,
    ) -> int:
        self._arm_watchdog(loop_monitor)
        tasks = [
            asyncio.create_task(loop_monitor.run(), name="loop-monitor"),
            asyncio.create_task(writer.run(), name="ledger-writer"),
            asyncio.create_task(pipeline.run(), name="pipeline"),
            asyncio.create_task(
                snaps.run(writer, self.config.engine.snapshot_interval_s), name="snapshots"
            ),
            asyncio.create_task(self._status_to_systemd(), name="sd-status"),
            *self._telemetry_tasks(venue),
        ]
        self.lifecycle.started()
        log.info("engine %s: %s", self.lifecycle.state, self.lifecycle.reason)
        self.notifier.ready(f"{self.lifecycle.state}: {self.lifecycle.reason}")
        stop = asyncio.create_task(self._stop.wait())
        done, _ = await asyncio.wait([stop, *tasks], return_when=asyncio.FIRST_COMPLETED)
        crashed = [t for t in done if t is not stop]
        for task in crashed:
            log.error("engine task %s ended unexpectedly: %r", task.get_name(), task.exception())
        await self._graceful_stop(venue, pipeline, writer, snaps, tasks)
        stop.cancel()
        return EXIT_FAILED if crashed else EXIT_OK

    async def _graceful_stop(
        self,
        venue: Any,
        pipeline: TradingPipeline,
        writer: LedgerWriter,
        snaps: Snapshots,
        tasks: list[asyncio.Task[Any]],
    ) -> None:
        deadline = time.monotonic() + STOP_DEADLINE_S
        self.lifecycle.stopping(self._stop_reason or "engine task failed")
        self.notifier.stopping()
        left = await pipeline.drain(timeout=max(0.5, deadline - time.monotonic() - 3.0))
        if left:
            log.warning("%d executions still in flight at shutdown; cancelling them", left)
            with contextlib.suppress(Exception):
                await asyncio.wait_for(venue.cancel_pending(), 1.0)
        await _cancel_all(tasks, timeout=1.0)
        with contextlib.suppress(Exception):
            await asyncio.wait_for(venue.stop(), 1.0)
        writer.add_snapshot(snaps.take("shutdown", "stopped"))
        flushed = await _flush_until(writer, deadline)
        log.info(
            "engine stopped: %s (ledger %s, %d rows pending)",
            self._stop_reason,
            "flushed" if flushed else "NOT flushed",
            writer.pending,
        )

    def _refuse(self, error: ConfigError) -> int:
        for problem in error.errors:
            log.error("config error: %s", problem)
        return refuse_config(error, self.paths.state_dir)

    # --- parts ------------------------------------------------------------------------
    def _control_parts(
        self,
        writer: LedgerWriter,
        gate: SendGate,
        killswitch: KillSwitch,
        audit: AuditTrail,
        fleet: FleetPart | None,
        server: ControlServer,
    ) -> ControlParts:
        return ControlParts(
            config=self.config,
            socket_path=str(self.paths.socket),
            state_dir=str(self.paths.state_dir),
            started_at=self.started_at,
            bus=self.bus,
            lifecycle=self.lifecycle,
            gate=gate,
            killswitch=killswitch,
            audit=audit,
            ledger=writer,
            loop=LoopMonitor(self.bus, self.config.engine.heartbeat_ms / 1000, self._heartbeat),
            resources=self.resources,
            market=self.view,
            client_count=lambda: server.client_count,
            request_shutdown=self.request_shutdown,
            fleet=fleet,
        )

    def _whereabouts(self) -> Whereabouts:
        return Whereabouts(str(self.paths.socket), str(self.paths.state_dir), self.started_at)

    def _session(self) -> Session:
        return Session(self.session_id, self.started_at, str(self.paths.socket))

    def _telemetry_tasks(self, venue: Any) -> list[asyncio.Task[Any]]:
        """Metrics subscribe before `started()` publishes the first state; alerts follow.
        The Prometheus series fold the same events, from the first one on."""
        assert self.metrics is not None and self.alerting is not None
        port = self.config.metrics.prometheus_port
        tasks = []
        if port:
            series = Series(self._identity(venue), self.metrics, self.alerting)
            self.metrics.add_fold(series)
            exporter = PrometheusExporter(series, port, self.config.metrics.prometheus_host)
            tasks.append(asyncio.create_task(exporter.run(), name="prometheus"))
        return [
            asyncio.create_task(self.metrics.follow(self.bus), name="metrics"),
            asyncio.create_task(self.alerting.run(), name="alerts"),
            *tasks,
        ]

    def _identity(self, venue: Any) -> Identity:
        """The labels every series carries: the fleet's engine name, the venue's chain."""
        name = self.config.redis.engine_name or default_engine_name(self.paths.state_dir)
        return Identity(engine=name, chain=str(venue.chain), venue=str(venue.name))

    def _heartbeat(self) -> dict[str, Any]:
        return {
            "state": self.lifecycle.state,
            "resources": self.resources.sample(),
            "ledger": self._ledger.to_dict() if self._ledger else {},  # for the alert rules
            **self.view.market_status(),
            **self._telemetry_heartbeat(),
        }

    def _telemetry_heartbeat(self) -> dict[str, Any]:
        """The metrics and alert counts every heartbeat carries, for consoles to chart."""
        if self.metrics is None or self.alerting is None:
            return {}
        return {"metrics": self.metrics.compact(), "alerts": self.alerting.compact()}

    def _arm_watchdog(self, loop_monitor: LoopMonitor) -> None:
        """WATCHDOG=1 is sent from the loop monitor's tick: a stalled loop stops the pings."""
        interval = self.notifier.watchdog_interval()
        if interval is None:
            return
        last = [0.0]

        def ping() -> None:
            now = time.monotonic()
            if now - last[0] >= interval:
                last[0] = now
                self.notifier.watchdog()

        loop_monitor.on_tick(ping)

    async def _status_to_systemd(self) -> None:
        """Mirror every state change into systemd's STATUS= (what `systemctl status` shows)."""
        sub = self.bus.subscribe([protocol.TOPIC_STATE], queue_limit=64)
        while (event := await sub.next()) is not None:
            if event.topic == protocol.TOPIC_STATE:
                self.notifier.status(f"{event.data['state']}: {event.data['reason']}")

    def _install_signals(self) -> None:
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, self.request_shutdown, f"signal {sig.name}")
        loop.add_signal_handler(signal.SIGUSR1, _log_task_stacks)

    def _write_pid(self) -> None:
        """Who we are, for a client that may have to signal us: pid, start time and a
        nonce that `status` repeats as `instance` (engine/protocol.py, the pid file)."""
        record = protocol.write_pid_file(self.paths.state_dir, self.paths.socket)
        self._instance = record.nonce
        if record.nonce is not None:
            self.view.identified(record.nonce)


# --- the trading side, chosen by config ---------------------------------------------------
class TradingVenue(Venue, Broadcaster, Protocol):
    """A venue that is also the send gate's broadcaster (both sim and evm are)."""


def build_venue(config: Config) -> TradingVenue:
    if config.market.venue == "sim":
        from engine.market.sim.venue import SimVenue

        return SimVenue.from_config(config)
    if config.market.venue == "evm":
        # The key is loaded (and registered with the log scrubber) before anything
        # connects; the venue checks the chain id and the executor's owner at start.
        from engine.execution.signer import KeyLoadError, load_signer
        from engine.market.evm.venue import EvmVenue

        try:
            signer = load_signer(config.evm)
        except KeyLoadError as exc:  # never holds the key: the signer words it so
            key = "evm.key_file" if config.evm.key_file else "evm.key_env"
            raise ConfigError(config.source, key, str(exc)) from None
        return EvmVenue.from_config(config, signer, relay_auth(config, signer.address))
    raise ConfigError(config.source, "market.venue", f"unknown venue {config.market.venue!r}")


def _base_tokens(config: Config, venue: Venue) -> list[str]:
    """The configured base tokens' addresses: what a cycle starts from, so borrows."""
    by_symbol = {t.symbol: t.address for t in venue.market.tokens.values()}
    return [by_symbol[s] for s in config.strategy.base_tokens if s in by_symbol]


def relay_auth(config: Config, trading_address: str) -> Any:
    """The reputation key that signs bundle relay requests, when this chain has a bundle
    route; a refusal (missing, not 0600, the trading key itself) stops the start."""
    from engine.config import chain_routes
    from engine.execution.reputation import load_reputation_signer
    from engine.execution.signer import KeyLoadError

    if not any(route.kind == "bundle" for route in chain_routes(config)):
        return None
    try:
        return load_reputation_signer(config.evm, trading_address)
    except KeyLoadError as exc:
        raise ConfigError(config.source, "evm.reputation_key_file", str(exc)) from None


def build_gas_model(config: Config, lenders: LiquiditySources | None = None) -> GasModel:
    """The gas model, its prior the configured gas units plus the active lender's path
    (engine/strategy/gas_model.py); without lenders the route's first pair lends."""
    strategy = config.strategy
    prior = {2: strategy.gas_units_2hop, 3: strategy.gas_units_3hop}
    if lenders is None:
        return GasModel(prior)
    return GasModel(prior, active_lender=lambda: lender_kind(lenders.active.url))


def build_search(config: Config, venue: Venue, gas: GasModel | None = None) -> ArbitrageSearch:
    strategy = config.strategy
    by_symbol = {t.symbol: t.address for t in venue.market.tokens.values()}
    unknown = [s for s in strategy.base_tokens if s not in by_symbol]
    if unknown:
        known = ", ".join(sorted(by_symbol))
        raise ConfigError(
            config.source, "strategy.base_tokens", f"unknown symbols {unknown}; market has {known}"
        )
    return ArbitrageSearch(
        venue.market,
        SearchConfig(
            base_tokens=tuple(by_symbol[s] for s in strategy.base_tokens),
            max_hops=strategy.max_hops,
            gas_units={2: strategy.gas_units_2hop, 3: strategy.gas_units_3hop},
            flash_fee_bps=strategy.flash_fee_bps,
            top_n=strategy.top_n,
        ),
        gas,
    )


def build_executor(
    config: Config,
    gate: SendGate,
    venue: Venue,
    gas: GasModel | None = None,
    lenders: LiquiditySources | None = None,
) -> Executor:
    """The executor of the configured venue; on a chain, each order borrows from the
    lender the approval chain chose for it (none configured: the route's first pair)."""
    if config.market.venue == "evm":
        from engine.execution.evm import EvmExecutor
        from engine.market.evm.venue import EvmVenue

        if not isinstance(venue, EvmVenue):
            raise TypeError(f"the evm executor needs the evm venue, got {type(venue).__name__}")
        return EvmExecutor(gate, venue, gas=gas, loans=lenders.loan_for if lenders else None)
    from engine.execution.paper import PaperExecutor

    return PaperExecutor(gate, venue, gas=gas)


async def recover_sent(
    config: Config, executor: Executor, store: LedgerStore, view: EngineView
) -> None:
    """On a chain, book what a previous run sent and never booked: before trading and
    before the session's starting balances are read (engine/execution/recovery.py)."""
    if config.market.venue != "evm":
        return
    from engine.execution.evm import EvmExecutor
    from engine.execution.recovery import recover_unbooked

    assert isinstance(executor, EvmExecutor)
    report = await recover_unbooked(executor, store, config.strategy.flash_fee_bps)
    view.recovered(report)
    # What recovery booked was mined moments ago, maybe after the wallet's last refresh:
    # the session's starting balances must already hold it, or reconcile counts it twice
    # (in the balances' change, not in the session's trades, booked at their block's time).
    await executor.venue.refresh_wallet()


REORG_RESUME_S = 3_600.0  # trades an earlier run booked this recently are watched again


def watch_chain(
    config: Config, executor: Executor, store: LedgerStore, bus: EventBus
) -> ReorgWatch | None:
    """On a chain: re-broadcasts are evented, and booked trades are watched for reorgs
    until `evm.confirmation_depth` deep (engine/execution/reorgs.py)."""
    if config.market.venue != "evm":
        return None
    from engine.execution.evm import EvmExecutor
    from engine.execution.reorgs import ReorgWatch

    assert isinstance(executor, EvmExecutor)
    executor.venue.attach_events(bus.publish)
    depth, fee = config.evm.confirmation_depth, config.strategy.flash_fee_bps
    return ReorgWatch(executor, store, bus, depth, fee)


def method_table(
    parts: ControlParts,
    guards: Guards,
    providers: ProviderSets,
    metrics: Metrics,
    alerting: Alerting,
    accounting: AccountingMethods,
    fleet: FleetPart | None,
) -> dict[str, Handler]:
    """Every method the socket serves, from the adapters in engine/control/methods/."""
    table = EngineMethods(parts).table()
    table.update(GuardMethods(guards, parts.audit, parts.ledger).table())
    table.update(ProviderMethods(providers, parts.audit, parts.bus).table())
    table.update(TelemetryMethods(metrics, alerting, parts.audit).table())
    table.update(accounting.table())
    if fleet is not None:  # fleet, redis; resume refused under the global halt flag
        table.update(FleetMethods(fleet, parts.audit, resume=table["resume"]).table())
    return table


async def _restore_guards(guards: Guards, store: LedgerStore) -> None:
    """Seed the loss limits from the ledger; without it they start from zero (logged)."""
    try:
        await guards.restore(store)
    except Exception as exc:
        log.warning("guards start without the ledger's recent trades: %s", exc)


async def _restore_gas_model(gas: GasModel, store: LedgerStore, venue: Venue) -> None:
    """Relearn gas from the ledger's receipts; without them the model starts at its prior."""
    try:
        restored = await gas_model.restore(gas, store, venue.name, venue.market.pools)
    except Exception as exc:
        log.warning("the gas model starts from its prior (the ledger's trades: %s)", exc)
        return
    log.info("gas model: %d receipts restored, %d route shapes", restored, len(gas.table()))


async def _cancel_all(tasks: list[asyncio.Task[Any]], timeout: float) -> None:
    """Cancel and wait, bounded: one task that ignores cancellation must not hang a stop."""
    for task in tasks:
        task.cancel()
    _, stuck = await asyncio.wait(tasks, timeout=timeout)
    for task in stuck:
        log.error("task %s did not stop when cancelled; abandoning it", task.get_name())


def _log_task_stacks() -> None:
    """SIGUSR1: log where every task is waiting: the first question when an engine hangs."""
    for task in asyncio.all_tasks():
        out = io.StringIO()
        task.print_stack(limit=8, file=out)
        log.warning("task %s:\n%s", task.get_name(), out.getvalue())


async def _flush_until(writer: LedgerWriter, deadline: float) -> bool:
    while time.monotonic() < deadline:
        if await writer.flush():
            return True
        await asyncio.sleep(0.2)
    return False
