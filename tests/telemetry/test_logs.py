"""`arbctl logs` reads the engine's JSON log files itself: tail, --errors, --search,
--since, --json, across rotated files, with no engine running, and --follow through a
rotation."""

from __future__ import annotations

import json
import os
import queue
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from arbctl.cli import app

NOW = time.time()


def record(minutes_ago: float, level: str, msg: str, logger: str = "arbctl.engine") -> str:
    ts = NOW - minutes_ago * 60
    entry = {
        "ts": ts,
        "time": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(ts)) + ".000Z",
        "level": level,
        "logger": logger,
        "msg": msg,
    }
    return json.dumps(entry) + "\n"


@pytest.fixture
def state_dir(tmp_path: Path) -> Path:
    """Three files as RotatingFileHandler leaves them: .2 oldest, then .1, then current."""
    logs = tmp_path / "state" / "logs"
    logs.mkdir(parents=True)
    (logs / "engine.log.2").write_text(
        record(300, "INFO", "engine starting")
        + record(290, "ERROR", "WebSocket closed: 1006")
        + "a stray line that is not JSON\n"
    )
    (logs / "engine.log.1").write_text(
        record(120, "WARNING", "provider bravo-rpc degraded")
        + record(100, "CRITICAL", "ledger unreachable", "arbctl.ledger")
    )
    (logs / "engine.log").write_text(
        record(30, "INFO", "websocket reconnected")
        + record(5, "ERROR", "trade t-1 reverted: INSUFFICIENT_OUTPUT_AMOUNT")
        + record(1, "INFO", "engine stopped")
    )
    return tmp_path / "state"


def run(state_dir: Path, *args: str) -> Any:
    result = CliRunner().invoke(app, ["logs", "--state-dir", str(state_dir), *args])
    return result


def messages(output: str) -> list[str]:
    return [
        json.loads(line).get("msg", json.loads(line).get("raw")) for line in output.splitlines()
    ]


def test_all_files_are_read_oldest_first_as_one_stream(state_dir: Path) -> None:
    result = run(state_dir, "--tail", "0", "--json")
    assert result.exit_code == 0, result.output
    assert messages(result.stdout) == [
        "engine starting",
        "WebSocket closed: 1006",
        "a stray line that is not JSON",
        "provider bravo-rpc degraded",
        "ledger unreachable",
        "websocket reconnected",
        "trade t-1 reverted: INSUFFICIENT_OUTPUT_AMOUNT",
        "engine stopped",
    ]


def test_tail_keeps_the_last_n_lines_across_a_rotation(state_dir: Path) -> None:
    result = run(state_dir, "-n", "4", "--json")
    assert messages(result.stdout) == [
        "ledger unreachable",
        "websocket reconnected",
        "trade t-1 reverted: INSUFFICIENT_OUTPUT_AMOUNT",
        "engine stopped",
    ]


def test_errors_only_error_and_critical(state_dir: Path) -> None:
    result = run(state_dir, "--errors", "--tail", "0", "--json")
    assert [json.loads(line)["level"] for line in result.stdout.splitlines()] == [
        "ERROR",
        "CRITICAL",
        "ERROR",
    ]


def test_search_is_a_case_insensitive_regex(state_dir: Path) -> None:
    result = run(state_dir, "--search", "websocket", "--tail", "0")
    lines = result.stdout.splitlines()
    assert len(lines) == 2
    assert "ERROR   arbctl.engine: WebSocket closed: 1006" in lines[0]
    assert lines[1].endswith("INFO    arbctl.engine: websocket reconnected")
    regex = run(state_dir, "--search", r"t-\d+ reverted", "--json")
    assert messages(regex.stdout) == ["trade t-1 reverted: INSUFFICIENT_OUTPUT_AMOUNT"]


def test_since_keeps_newer_records_and_combines_with_other_filters(state_dir: Path) -> None:
    assert messages(run(state_dir, "--since", "2h", "--json").stdout) == [
        "ledger unreachable",
        "websocket reconnected",
        "trade t-1 reverted: INSUFFICIENT_OUTPUT_AMOUNT",
        "engine stopped",
    ]
    both = run(state_dir, "--since", "2h", "--errors", "--json")
    assert messages(both.stdout) == [
        "ledger unreachable",
        "trade t-1 reverted: INSUFFICIENT_OUTPUT_AMOUNT",
    ]
    epoch = run(state_dir, "--since", str(NOW - 10 * 60), "--json")
    assert len(epoch.stdout.splitlines()) == 2


def test_json_lines_are_the_records_as_the_engine_wrote_them(state_dir: Path) -> None:
    (line,) = run(state_dir, "-n", "1", "--json").stdout.splitlines()
    assert set(json.loads(line)) == {"ts", "time", "level", "logger", "msg"}


def test_a_big_file_is_tailed_from_its_end(tmp_path: Path) -> None:
    logs = tmp_path / "logs"
    logs.mkdir()
    body = "".join(record(0, "INFO", f"line {i:05d} " + "x" * 80) for i in range(3000))
    (logs / "engine.log").write_text(body)  # ~0.4 MB: several read blocks
    result = run(tmp_path, "-n", "3", "--json")
    assert [m[:10] for m in messages(result.stdout)] == ["line 02997", "line 02998", "line 02999"]
    assert len(run(tmp_path, "--tail", "0", "--json").stdout.splitlines()) == 3000


def test_usage_errors_and_a_missing_log(tmp_path: Path, state_dir: Path) -> None:
    assert run(tmp_path / "nowhere").exit_code == 1
    assert "no engine log" in run(tmp_path / "nowhere").output
    assert run(state_dir, "--search", "(unclosed").exit_code == 2
    assert run(state_dir, "--since", "yesterday-ish").exit_code == 2


class Follower:
    """`arbctl logs --follow --json` in a subprocess; its lines in a queue."""

    def __init__(self, state_dir: Path) -> None:
        env = {**os.environ, "ARBCTL_STATE_DIR": str(state_dir)}
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "arbctl", "logs", "--follow", "-n", "1", "--json"],
            stdout=subprocess.PIPE,
            text=True,
            env=env,
        )
        self.lines: queue.Queue[str] = queue.Queue()
        threading.Thread(target=self._pump, daemon=True).start()

    def _pump(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.lines.put(line)

    def next_msg(self, timeout: float = 15.0) -> str:
        return str(json.loads(self.lines.get(timeout=timeout))["msg"])

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(timeout=10)


def test_follow_prints_new_lines_and_survives_rotation(state_dir: Path) -> None:
    logs = state_dir / "logs"
    follower = Follower(state_dir)
    try:
        assert follower.next_msg() == "engine stopped"  # the tail
        with (logs / "engine.log").open("a") as log:
            log.write(record(0, "INFO", "appended"))
        assert follower.next_msg() == "appended"
        # rotate as RotatingFileHandler does: shift the backups, start a new file
        (logs / "engine.log.1").rename(logs / "engine.log.3")
        (logs / "engine.log").rename(logs / "engine.log.1")
        with (logs / "engine.log.1").open("a") as old:
            old.write(record(0, "INFO", "last line before rotation"))
        (logs / "engine.log").write_text(record(0, "INFO", "first line after rotation"))
        assert follower.next_msg() == "last line before rotation"
        assert follower.next_msg() == "first line after rotation"
        assert follower.proc.poll() is None  # still following
    finally:
        follower.stop()
