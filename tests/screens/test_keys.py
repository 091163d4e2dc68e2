"""Every key of the console, against a real engine on the simulated market, at 80x24.

The engine's side is checked through `arbctl status`, as an operator would.
"""

from __future__ import annotations

import json

from screens.app import ArbConsole
from screens.dashboard import DashboardScreen
from screens.modals import FailoverModal, HelpModal, KillModal, MarkModal, ReasonModal
from tests.conftest import EngineHandle
from tests.screens.conftest import connected, engine_state, state_becomes, told, until

SIZE = (80, 24)


def _audit(engine: EngineHandle) -> list[dict]:
    return json.loads(engine.cli("audit", "--json").stdout)["entries"]


async def test_p_then_enter_twice_pauses_with_the_default_reason(
    console_engine: EngineHandle,
) -> None:
    app = ArbConsole(console_engine.socket)
    async with app.run_test(size=SIZE) as pilot:
        await connected(app)
        await pilot.press("p")
        assert isinstance(app.screen, ReasonModal)
        await pilot.press("enter", "enter")
        assert await state_becomes(console_engine, "paused")
    entry = _audit(console_engine)[0]
    assert (entry["action"], entry["client"]) == ("pause", "arbctl-tui")
    assert entry["reason"] == "paused from the operator console"


async def test_p_pauses_with_a_typed_reason(console_engine: EngineHandle) -> None:
    app = ArbConsole(console_engine.socket)
    async with app.run_test(size=SIZE) as pilot:
        await connected(app)
        await pilot.press("p", *"gas spike", "enter", "enter")
        assert await state_becomes(console_engine, "paused")
    assert _audit(console_engine)[0]["reason"] == "gas spike"


async def test_p_while_paused_resumes(console_engine: EngineHandle) -> None:
    console_engine.cli("pause", "--reason", "set up by the test")
    app = ArbConsole(console_engine.socket)
    async with app.run_test(size=SIZE) as pilot:
        await connected(app)
        assert await until(lambda: app.model.state == "paused")
        await pilot.press("p", "enter", "enter")
        assert await state_becomes(console_engine, "running")
        assert await until(lambda: app.model.state == "running")


async def test_escape_on_the_reason_dialog_changes_nothing(console_engine: EngineHandle) -> None:
    app = ArbConsole(console_engine.socket)
    async with app.run_test(size=SIZE) as pilot:
        await connected(app)
        await pilot.press("p", "escape")
        assert isinstance(app.screen, DashboardScreen)
        assert await engine_state(console_engine) == "running"


async def test_clearing_a_halt_needs_a_typed_reason(console_engine: EngineHandle) -> None:
    console_engine.cli("kill", "--reason", "set up by the test")
    app = ArbConsole(console_engine.socket)
    async with app.run_test(size=SIZE) as pilot:
        await connected(app)
        assert await until(lambda: app.model.state == "halted")
        await pilot.press("p", "enter")
        assert isinstance(app.screen, ReasonModal), "no default reason for clearing a halt"
        await pilot.press(*"false alarm", "enter", "enter")
        assert await state_becomes(console_engine, "running")


async def test_kill_typed_and_entered_halts_the_engine(console_engine: EngineHandle) -> None:
    app = ArbConsole(console_engine.socket)
    async with app.run_test(size=SIZE) as pilot:
        await connected(app)
        await pilot.press("K")
        assert isinstance(app.screen, KillModal)
        await pilot.press(*"KILL", "enter")
        assert await state_becomes(console_engine, "halted")
        assert await until(lambda: "HALTED" in str(app.screen.query_one("#banner").render()))
    assert _audit(console_engine)[0]["client"] == "arbctl-tui"


async def test_kill_dialog_starts_on_cancel_so_enter_cancels(console_engine: EngineHandle) -> None:
    app = ArbConsole(console_engine.socket)
    async with app.run_test(size=SIZE) as pilot:
        await connected(app)
        await pilot.press("K")
        assert app.focused is not None and app.focused.id == "cancel"
        await pilot.press("enter")
        assert isinstance(app.screen, DashboardScreen)
        assert told(app, "kill cancelled")
        assert await engine_state(console_engine) == "running"


async def test_escape_cancels_the_kill(console_engine: EngineHandle) -> None:
    app = ArbConsole(console_engine.socket)
    async with app.run_test(size=SIZE) as pilot:
        await connected(app)
        await pilot.press("K", *"KIL", "escape")
        assert isinstance(app.screen, DashboardScreen)
        assert await engine_state(console_engine) == "running"


async def test_typing_anything_but_kill_does_not_kill(console_engine: EngineHandle) -> None:
    app = ArbConsole(console_engine.socket)
    async with app.run_test(size=SIZE) as pilot:
        await connected(app)
        for word in ("kill", "KILLL", "yes", "KIL L"):
            await pilot.press("K", *word, "enter")
            assert isinstance(app.screen, KillModal), f"{word!r} closed the dialog"
            await pilot.press("escape")
        assert await engine_state(console_engine) == "running"


async def test_f_then_a_provider_pins_it(console_engine: EngineHandle) -> None:
    app = ArbConsole(console_engine.socket)
    async with app.run_test(size=SIZE) as pilot:
        await connected(app)
        assert await until(lambda: len(app.model.providers) > 0)
        await pilot.press("f")
        assert isinstance(app.screen, FailoverModal)
        await pilot.press("down", "enter")  # pin the first provider
        assert await until(lambda: told(app, "failover: alpha-rpc"))
        assert isinstance(app.screen, DashboardScreen)


async def test_failover_automatic_is_the_first_choice(console_engine: EngineHandle) -> None:
    app = ArbConsole(console_engine.socket)
    async with app.run_test(size=SIZE) as pilot:
        await connected(app)
        await pilot.press("f", "enter")
        assert await until(lambda: told(app, "failover: automatic"))


async def test_r_resyncs(console_engine: EngineHandle) -> None:
    app = ArbConsole(console_engine.socket)
    async with app.run_test(size=SIZE) as pilot:
        await connected(app)
        await pilot.press("r")
        assert await until(lambda: told(app, "resynced at seq"))


async def test_question_mark_lists_every_key(console_engine: EngineHandle) -> None:
    app = ArbConsole(console_engine.socket)
    async with app.run_test(size=SIZE) as pilot:
        await connected(app)
        await pilot.press("question_mark")
        assert isinstance(app.screen, HelpModal)
        text = str(app.screen.query_one("#help-keys").render())
        for key in ("p", "f", "K", "t", "g", "l", "r", "?", "q", "/", "Esc"):
            assert f"{key}  " in text, key
        await pilot.press("escape")
        assert isinstance(app.screen, DashboardScreen)


async def test_q_detaches_and_the_engine_keeps_running(console_engine: EngineHandle) -> None:
    app = ArbConsole(console_engine.socket)
    async with app.run_test(size=SIZE) as pilot:
        await connected(app)
        await pilot.press("q")
        assert await until(lambda: not app.is_running)
    assert app.return_code == 0
    assert await engine_state(console_engine) == "running"


async def test_actions_of_other_clients_are_shown(console_engine: EngineHandle) -> None:
    app = ArbConsole(console_engine.socket)
    async with app.run_test(size=SIZE):
        await connected(app)
        console_engine.cli("pause", "--reason", "from another terminal")
        assert await until(lambda: told(app, "pause by uid"))
        assert told(app, "(arbctl-cli): from another terminal")
        header = str(app.screen.query_one("#header").render())
        assert "from another terminal" in header


async def test_the_banner_updates_behind_an_open_dialog(console_engine: EngineHandle) -> None:
    app = ArbConsole(console_engine.socket)
    async with app.run_test(size=SIZE) as pilot:
        await connected(app)
        await pilot.press("question_mark")
        console_engine.cli("kill", "--reason", "killed from another terminal")
        banner = app.screen_stack[0].query_one("#banner")
        assert await until(lambda: "HALTED" in str(banner.render()))
        assert isinstance(app.screen, HelpModal)


async def test_o_marks_a_provider_offline_and_again_online(console_engine: EngineHandle) -> None:
    """Finding 8: the runbook's "mark provider offline/online" from the console."""

    def status_of(name: str) -> str:
        answer = json.loads(console_engine.cli("providers", "--json").stdout)
        rows = answer["rpc"]["providers"]
        return next(p["status"] for p in rows if p["name"] == name)

    app = ArbConsole(console_engine.socket)
    async with app.run_test(size=SIZE) as pilot:
        await connected(app)
        assert await until(lambda: len(app.model.providers) >= 2)
        name = str(app.model.providers[1]["name"])
        await pilot.press("o")
        assert isinstance(app.screen, MarkModal)
        await pilot.press("down", "enter")
        assert isinstance(app.screen, ReasonModal)
        await pilot.press("enter", "enter")
        assert await until(lambda: told(app, f"{name} marked offline"))
        assert status_of(name) == "offline"
        await pilot.press("o", "down", "enter", "enter", "enter")
        assert await until(lambda: told(app, f"{name} marked online"))
        assert status_of(name) != "offline"


async def test_the_failover_dialog_shows_the_current_pin(console_engine: EngineHandle) -> None:
    app = ArbConsole(console_engine.socket)
    async with app.run_test(size=SIZE) as pilot:
        await connected(app)
        await pilot.press("f")
        assert "now: automatic" in str(app.screen.query_one("#failover-now").render())
        await pilot.press("down", "down", "enter")
        pinned = str(app.model.providers[1]["name"])
        assert await until(lambda: app.model.engine.get("pinned_provider") == pinned)
        await pilot.press("f")
        now = str(app.screen.query_one("#failover-now").render())
        assert f"now: pinned to {pinned}" in now, now
        header = str(app.screen_stack[0].query_one("#header").render())
        assert "pinned" not in header.splitlines()[0], "the failover's reason is not the engine's"
