"""The trades, guards and logs screens, against a real engine, at 80x24."""

from __future__ import annotations

from screens.app import ArbConsole
from screens.dashboard import DashboardScreen
from screens.guards import GuardsScreen
from screens.logs import LogsScreen
from screens.trades import TradeDetailScreen, TradesScreen
from screens.widgets.synced_table import SyncedTable
from screens.widgets.trades_table import TradesTable
from tests.conftest import EngineHandle
from tests.screens.conftest import connected, until

SIZE = (80, 24)


def _statuses(app: ArbConsole) -> set[str]:
    return {str(t.get("status")) for t in app.model.trades.values()}


async def test_t_opens_the_trades_screen_and_esc_goes_back(console_engine: EngineHandle) -> None:
    app = ArbConsole(console_engine.socket)
    async with app.run_test(size=SIZE) as pilot:
        await connected(app)
        await pilot.press("t")
        assert isinstance(app.screen, TradesScreen)
        table = app.screen.query_one("#all-trades", TradesTable)
        assert await until(lambda: len(table.row_keys) > 0)
        await pilot.press("escape")
        assert isinstance(app.screen, DashboardScreen)


async def test_slash_filters_trades(console_engine: EngineHandle) -> None:
    app = ArbConsole(console_engine.socket)
    async with app.run_test(size=SIZE) as pilot:
        await connected(app)
        assert await until(lambda: {"success", "reverted"} <= _statuses(app))
        await pilot.press("t", "slash", *"reverted", "enter")
        table = app.screen.query_one("#all-trades", TradesTable)
        assert await until(lambda: len(table.row_keys) > 0)
        shown = [app.model.trades[key]["status"] for key in table.row_keys]
        assert set(shown) == {"reverted"}


async def test_enter_on_a_trade_shows_its_detail(console_engine: EngineHandle) -> None:
    app = ArbConsole(console_engine.socket)
    async with app.run_test(size=SIZE) as pilot:
        await connected(app)
        await pilot.press("t")
        table = app.screen.query_one("#all-trades", TradesTable)
        assert await until(lambda: len(table.row_keys) > 0)
        await pilot.press("home", "enter")
        assert isinstance(app.screen, TradeDetailScreen)
        chosen = str(app.screen.trade["id"])  # the newest when Enter was pressed
        assert chosen in app.model.trades
        fields = str(app.screen.query_one("#trade-fields").render())
        assert chosen in fields and "gas cost" in fields
        await pilot.press("escape")
        assert isinstance(app.screen, TradesScreen)


async def test_g_shows_every_guard_rule(console_engine: EngineHandle) -> None:
    app = ArbConsole(console_engine.socket)
    async with app.run_test(size=SIZE) as pilot:
        await connected(app)
        await pilot.press("g")
        assert isinstance(app.screen, GuardsScreen)
        rules = app.screen.query_one("#rules", SyncedTable)
        assert await until(lambda: "max_daily_loss" in rules.row_keys)
        assert "min_net_profit" in rules.row_keys
        assert "breaker" in str(app.screen.query_one("#breaker").render())


async def test_l_tails_the_engine_log_and_slash_searches(console_engine: EngineHandle) -> None:
    app = ArbConsole(console_engine.socket)
    async with app.run_test(size=SIZE) as pilot:
        await connected(app)
        await pilot.press("l")
        assert isinstance(app.screen, LogsScreen)
        log = app.screen
        assert await until(lambda: any("engine" in line for line in log.shown))
        assert await until(lambda: any(" trade " in line for line in log.shown))
        await pilot.press("slash", *"trade sim-", "enter")
        assert await until(lambda: len(log.shown) > 0)
        assert all("trade sim-" in line.lower() for line in log.shown)


async def test_screen_keys_switch_between_screens(console_engine: EngineHandle) -> None:
    app = ArbConsole(console_engine.socket)
    async with app.run_test(size=SIZE) as pilot:
        await connected(app)
        for key, kind in (("t", TradesScreen), ("g", GuardsScreen), ("l", LogsScreen)):
            await pilot.press(key)
            assert isinstance(app.screen, kind)
            assert len(app.screen_stack) == 2  # one sub-screen over the dashboard
        await pilot.press("escape")
        assert isinstance(app.screen, DashboardScreen)
