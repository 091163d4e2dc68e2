"""Alert sinks against real destinations: a local HTTP server receiving the webhook, a
real command writing to a file, a closed port and a server that never answers."""

from __future__ import annotations

import json
import logging
import socket
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from engine.config import AlertsSection
from engine.telemetry.alerts.sinks import (
    CommandSender,
    Sink,
    WebhookSender,
    build_sinks,
    slack_text,
)
from tests.conftest import wait_until
from tests.telemetry.conftest import WebhookServer, closed_port

HOOK = """
import json, os, sys
note = json.load(sys.stdin)
env = {k: v for k, v in os.environ.items() if k.startswith("ARBCTL_")}
with open(sys.argv[1], "a") as out:
    out.write(json.dumps({"note": note, "env": env}) + "\\n")
"""


def note(severity: str = "P0", status: str = "firing", rule: str = "emergency_halt") -> dict:
    return {
        "id": f"{rule}-1",
        "rule": rule,
        "severity": severity,
        "status": status,
        "summary": "engine HALTED (kill switch)",
        "value": "halted",
        "repeat": 0,
        "ts": 1.0,
    }


@pytest.fixture
def hook(tmp_path: Path) -> tuple[list[str], Path]:
    script = tmp_path / "hook.py"
    script.write_text(HOOK)
    out = tmp_path / "alerts.jsonl"
    return [sys.executable, str(script), str(out)], out


def lines(path: Path) -> list[dict[str, Any]]:
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_webhook_posts_json_with_slack_text_and_the_structured_fields(
    webhook_server: WebhookServer,
) -> None:
    sink = Sink("webhook", WebhookSender(webhook_server.url, 5.0, "host-1"), "P3")
    sink.offer(note())
    assert wait_until(lambda: sink.sent == 1)
    (received,) = webhook_server.received
    assert received.path == "/hook/secret-token"
    assert received.headers["Content-Type"] == "application/json"
    body = received.body
    assert (
        body["text"] == "[P0] FIRING emergency_halt: engine HALTED (kill switch) — arbctl on host-1"
    )
    assert {k: body[k] for k in note()} == note()
    sink.close()


def test_notifications_reach_each_sink_in_order(
    webhook_server: WebhookServer, hook: tuple[list[str], Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    argv, out = hook
    monkeypatch.setenv("ARBCTL_PRIVATE_KEY", "0x" + "ab" * 32)
    section = AlertsSection(webhook_url=webhook_server.url, command=argv)
    sinks = build_sinks(section, "host-1", frozenset({"ARBCTL_PRIVATE_KEY"}))
    for status in ("firing", "resolved"):
        for sink in sinks:
            sink.offer(note(status=status))
    assert wait_until(lambda: all(s.sent == 2 for s in sinks))
    assert [b["status"] for b in webhook_server.bodies()] == ["firing", "resolved"]
    assert [line["note"]["status"] for line in lines(out)] == ["firing", "resolved"]
    env = lines(out)[0]["env"]
    assert env["ARBCTL_ALERT_RULE"] == "emergency_halt"
    assert env["ARBCTL_ALERT_SEVERITY"] == "P0"
    assert env["ARBCTL_ALERT_STATUS"] == "firing"
    assert "ARBCTL_PRIVATE_KEY" not in env  # the signing key never reaches a hook
    for sink in sinks:
        sink.close()


def test_a_dead_webhook_url_is_logged_and_the_sink_keeps_working(
    caplog: pytest.LogCaptureFixture, webhook_server: WebhookServer
) -> None:
    caplog.set_level(logging.WARNING, logger="arbctl.alerts")
    dead = Sink("webhook", WebhookSender(f"http://127.0.0.1:{closed_port()}/x/y", 2.0, "h"), "P3")
    dead.offer(note())  # returns at once: delivery happens on the sink's thread
    assert wait_until(lambda: dead.failed == 1)
    messages = [r.getMessage() for r in caplog.records]
    assert any("not delivered by webhook" in m and "refused" in m.lower() for m in messages)
    assert not any("/x/y" in m for m in messages)  # the webhook's path is its secret
    dead.offer(note(status="resolved"))
    assert wait_until(lambda: dead.failed == 2)
    dead.close()


@pytest.fixture
def silent_server() -> Iterator[int]:
    """Accepts connections and never answers: a hung webhook endpoint."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(8)
    held: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        server.settimeout(0.1)
        while not stop.is_set():
            try:
                held.append(server.accept()[0])
            except OSError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield int(server.getsockname()[1])
    stop.set()
    thread.join()
    for conn in held:
        conn.close()
    server.close()


def test_a_webhook_that_never_answers_times_out_and_is_logged(
    caplog: pytest.LogCaptureFixture, silent_server: int
) -> None:
    caplog.set_level(logging.WARNING, logger="arbctl.alerts")
    sink = Sink("webhook", WebhookSender(f"http://127.0.0.1:{silent_server}/", 0.2, "h"), "P3")
    sink.offer(note())
    assert wait_until(lambda: sink.failed == 1)
    assert any("timed out" in r.getMessage() for r in caplog.records)
    sink.close()


def test_a_failing_or_missing_command_is_logged(
    caplog: pytest.LogCaptureFixture, tmp_path: Path
) -> None:
    caplog.set_level(logging.WARNING, logger="arbctl.alerts")
    failing = Sink(
        "command",
        CommandSender([sys.executable, "-c", "import sys; sys.exit(3)"], 5),
        "P3",
    )
    missing = Sink("command", CommandSender([str(tmp_path / "no-such-hook")], 5), "P3")
    slow = Sink(
        "command", CommandSender([sys.executable, "-c", "import time; time.sleep(30)"], 0.3), "P3"
    )
    for sink in (failing, missing, slow):
        sink.offer(note())
    assert wait_until(lambda: failing.failed == missing.failed == slow.failed == 1)
    messages = " | ".join(r.getMessage() for r in caplog.records)
    assert "exited 3" in messages and "could not run" in messages and "killed after" in messages


def test_a_sink_sends_only_its_minimum_severity_and_above(webhook_server: WebhookServer) -> None:
    sink = Sink("webhook", WebhookSender(webhook_server.url, 5.0, "h"), "P1")
    for severity in ("P3", "P2", "P1", "P0"):
        sink.offer(note(severity=severity, rule=f"r-{severity}"))
    assert wait_until(lambda: sink.sent == 2)
    assert [b["severity"] for b in webhook_server.bodies()] == ["P1", "P0"]
    sink.close()


def test_a_full_queue_drops_and_says_so(caplog: pytest.LogCaptureFixture) -> None:
    release = threading.Event()
    sink = Sink("slow", lambda _note: release.wait(), "P3")
    caplog.set_level(logging.WARNING, logger="arbctl.alerts")
    for _ in range(150):
        sink.offer(note())
    assert sink.dropped >= 49
    assert any("dropped" in r.getMessage() for r in caplog.records)
    release.set()
    sink.close()


def test_slack_text_says_repeat_and_resolved() -> None:
    assert slack_text({**note(), "repeat": 2}, "h").startswith(
        "[P0] FIRING (repeat 2) emergency_halt"
    )
    assert slack_text(note(status="resolved"), "h").startswith("[P0] RESOLVED emergency_halt")


def test_closing_waits_for_a_queued_alert_to_go_out(tmp_path: Path) -> None:
    """`kill --shutdown` raises the emergency-halt alert just before the process ends:
    closing must give it its moment, or a slow hook loses the one alert that matters."""
    script = tmp_path / "slow_hook.py"
    script.write_text("import sys, time\ntime.sleep(0.3)\n" + HOOK)
    out = tmp_path / "alerts.jsonl"
    sink = Sink("command", CommandSender([sys.executable, str(script), str(out)], 5), "P3")
    sink.offer(note())
    sink.close()
    assert sink.join(5.0)
    assert [line["note"]["rule"] for line in lines(out)] == ["emergency_halt"]
