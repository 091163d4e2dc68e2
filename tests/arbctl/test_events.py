"""`events`: recent events as JSON lines, and --follow that survives an engine restart."""

from __future__ import annotations

import json
import queue
import subprocess
import sys
import threading
from typing import Any

from arbctl.client import Client
from tests.conftest import EngineHandle, wait_until


def _lines(result: subprocess.CompletedProcess[str]) -> list[dict[str, Any]]:
    return [json.loads(line) for line in result.stdout.splitlines() if line.strip()]


def _running(engine: EngineHandle) -> None:
    def running() -> bool:
        status = engine.cli("status", "--json")
        return status.returncode == 0 and json.loads(status.stdout)["state"] == "running"

    assert wait_until(running)


def test_recent_events_are_json_lines_with_seq_topic_ts_data(engine: EngineHandle) -> None:
    _running(engine)
    engine.cli("pause", "--reason", "for the record")
    events = _lines(engine.cli("events", "--limit", "100000", "--json"))
    assert events and all(set(e) == {"seq", "topic", "ts", "data"} for e in events)
    assert any(e["topic"] == "state" and e["data"]["state"] == "paused" for e in events)


def test_topic_filter_keeps_only_that_topic(engine: EngineHandle) -> None:
    _running(engine)
    engine.cli("pause", "--reason", "filter")
    events = _lines(engine.cli("events", "--topic", "state", "--json"))
    assert events and {e["topic"] for e in events} == {"state"}


def test_since_seq_returns_only_later_events(engine: EngineHandle) -> None:
    _running(engine)
    last = json.loads(engine.cli("status", "--json").stdout)["last_seq"]
    engine.cli("pause", "--reason", "after the mark")
    events = _lines(engine.cli("events", "--since-seq", str(last), "--json"))
    assert events and min(e["seq"] for e in events) > last


def _subscribers(engine: EngineHandle) -> int:
    return int(json.loads(engine.cli("status", "--json").stdout)["subscribers"])


class Follower:
    """`arbctl events --follow --json` in the background, its lines in a queue.

    Returns once the engine counts one more subscriber (the engine has its own), so
    events published afterwards are certain to reach it.
    """

    def __init__(self, engine: EngineHandle, *args: str) -> None:
        before = _subscribers(engine)
        argv = [sys.executable, "-m", "arbctl", "events", "--follow", "--json", *args]
        self.proc = subprocess.Popen(
            argv, env=engine.env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
        self.lines: queue.Queue[dict[str, Any]] = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()
        assert wait_until(lambda: _subscribers(engine) > before), "follower never subscribed"

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.lines.put(json.loads(line))

    def next_matching(self, state: str, timeout: float = 30.0) -> dict[str, Any]:
        while True:
            event = self.lines.get(timeout=timeout)
            if event["topic"] == "state" and event["data"]["state"] == state:
                return event

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(timeout=10)


def test_follow_streams_new_events(engine: EngineHandle) -> None:
    _running(engine)
    follower = Follower(engine, "--topic", "state")
    try:
        engine.cli("pause", "--reason", "watch me")
        assert follower.next_matching("paused")["data"]["reason"] == "watch me"
    finally:
        follower.stop()


def test_follow_resumes_after_an_engine_restart(engine: EngineHandle) -> None:
    _running(engine)
    follower = Follower(engine, "--topic", "state")
    try:
        engine.cli("pause", "--reason", "before restart")
        before = follower.next_matching("paused")
        engine.stop()
        engine.start()
        _running(engine)
        engine.cli("pause", "--reason", "after restart")
        after = follower.next_matching("paused")
        assert after["data"]["reason"] == "after restart"
        assert after["seq"] > before["seq"]
    finally:
        follower.stop()


FLOOD_TOML = "[engine]\ndebug_methods = true\nclient_queue = 16\n"


def test_follow_resubscribes_after_lagging_without_gaps_or_duplicates(engine_factory) -> None:
    engine = engine_factory(FLOOD_TOML)
    follower = Follower(engine, "--topic", "bench")
    try:
        flood = Client(engine.socket).call("debug.flood", {"count": 2000, "topic": "bench"})
        events = [follower.lines.get(timeout=30) for _ in range(2000)]
    finally:
        follower.stop()
    # The flood's seq range may interleave block/opportunity events from the live
    # market, so the flood's own counter is the witness: every event once, in order.
    assert [e["data"]["i"] for e in events] == list(range(2000))
    seqs = [e["seq"] for e in events]
    assert seqs == sorted(set(seqs))
    assert flood["first_seq"] <= seqs[0] and seqs[-1] <= flood["last_seq"]
    assert "lagged" in follower.proc.stderr.read()
