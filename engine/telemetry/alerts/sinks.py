"""Alert sinks: where notifications go besides the log and the bus (a webhook, a command).

The invariant: sending never touches the event loop and never fails the engine. Each
sink is a daemon thread draining a bounded queue with its own timeout, so a webhook that
hangs or a hook that crashes is logged and counted (`failed`), a sink that falls behind
drops what no longer fits (`dropped`, logged), and none holds up the engine or its exit.
A sink sends only notifications at or above its `min_severity`. The command hook never
sees the environment variables that may hold the signing key.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import queue
import subprocess
import threading
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping
from typing import Any

from engine.config import AlertsSection, redact_webhook
from engine.telemetry.alerts.book import RESOLVED
from engine.telemetry.alerts.rules import SEVERITIES

log = logging.getLogger("arbctl.alerts")

SINK_QUEUE = 100


def slack_text(note: Mapping[str, Any], host: str) -> str:
    """One line a human reads in Slack, a pager or a mail subject."""
    status = "RESOLVED" if note["status"] == RESOLVED else "FIRING"
    repeat = f" (repeat {note['repeat']})" if note.get("repeat") else ""
    head = f"[{note['severity']}] {status}{repeat} {note['rule']}"
    return f"{head}: {note['summary']} — arbctl on {host}"


def _wanted(note: Mapping[str, Any], min_severity: str) -> bool:
    return SEVERITIES.index(str(note["severity"])) <= SEVERITIES.index(min_severity)


class Sink:
    """One destination: a daemon thread draining a bounded queue, so a slow or dead
    destination delays nothing else and never holds up the engine or its exit."""

    def __init__(
        self, name: str, send: Callable[[dict[str, Any]], None], min_severity: str
    ) -> None:
        self.name = name
        self.min_severity = min_severity
        self.sent = self.failed = self.dropped = 0
        self._send = send
        self._queue: queue.Queue[dict[str, Any] | None] = queue.Queue(SINK_QUEUE)
        self._thread = threading.Thread(target=self._work, name=f"alert-{name}", daemon=True)
        self._thread.start()

    def offer(self, note: dict[str, Any]) -> None:
        if not _wanted(note, self.min_severity):
            return
        try:
            self._queue.put_nowait(note)
        except queue.Full:
            self.dropped += 1
            log.warning("alert sink %s is %d behind; dropped %s", self.name, SINK_QUEUE, note["id"])

    def _work(self) -> None:
        while (note := self._queue.get()) is not None:
            try:
                self._send(note)
                self.sent += 1
            except Exception as exc:
                self.failed += 1
                log.warning(
                    "alert %s %s not delivered by %s: %s",
                    note["rule"],
                    note["status"],
                    self.name,
                    exc,
                )

    def close(self) -> None:
        with contextlib.suppress(queue.Full):  # a daemon thread: it dies with the process
            self._queue.put_nowait(None)

    def join(self, timeout: float) -> bool:
        """Wait for what is queued to go out; False if the destination was still busy."""
        self._thread.join(max(0.0, timeout))
        return not self._thread.is_alive()

    def to_dict(self) -> dict[str, Any]:
        return {
            "min_severity": self.min_severity,
            "sent": self.sent,
            "failed": self.failed,
            "dropped": self.dropped,
        }


class WebhookSender:
    """POST the notification as JSON with a Slack-compatible `text` field."""

    def __init__(self, url: str, timeout_s: float, host: str) -> None:
        self.url = url
        self.timeout_s = timeout_s
        self._host = host

    def __call__(self, note: dict[str, Any]) -> None:
        body = json.dumps({"text": slack_text(note, self._host), **note}, default=str).encode()
        request = urllib.request.Request(
            self.url,
            data=body,
            method="POST",
            headers={"Content-Type": "application/json", "User-Agent": "arbctl-alerts"},
        )
        try:
            with urllib.request.urlopen(request, timeout=self.timeout_s) as response:
                response.read(65536)
        except urllib.error.HTTPError as exc:
            raise RuntimeError(
                f"webhook {redact_webhook(self.url)} answered HTTP {exc.code}"
            ) from None
        except (urllib.error.URLError, OSError) as exc:
            reason = getattr(exc, "reason", exc)
            raise RuntimeError(f"webhook {redact_webhook(self.url)} failed: {reason}") from None


class CommandSender:
    """Run the configured command with the notification as JSON on stdin and as
    ARBCTL_ALERT_* environment variables (for hooks written in shell). The engine's
    environment is passed on except `withheld` names: the signing key may live in one,
    and a paging script has no business seeing it."""

    def __init__(
        self, argv: list[str], timeout_s: float, withheld: frozenset[str] = frozenset()
    ) -> None:
        self.argv = list(argv)
        self.timeout_s = timeout_s
        self._withheld = withheld

    def __call__(self, note: dict[str, Any]) -> None:
        env = {k: v for k, v in os.environ.items() if k not in self._withheld}
        env.update({f"ARBCTL_ALERT_{k.upper()}": str(note[k]) for k in _ENV_FIELDS})
        try:
            done = subprocess.run(
                self.argv,
                input=json.dumps(note, default=str).encode(),
                env=env,
                capture_output=True,
                timeout=self.timeout_s,
                check=False,
            )
        except subprocess.TimeoutExpired:
            raise RuntimeError(
                f"command {self.argv[0]} killed after {self.timeout_s:g} s"
            ) from None
        except OSError as exc:
            raise RuntimeError(f"command {self.argv[0]} could not run: {exc}") from None
        if done.returncode != 0:
            tail = done.stderr.decode(errors="replace").strip()[-300:]
            raise RuntimeError(f"command {self.argv[0]} exited {done.returncode}: {tail}")


_ENV_FIELDS = ("id", "rule", "severity", "status", "summary")


def build_sinks(
    section: AlertsSection, host: str, withheld: frozenset[str] = frozenset()
) -> list[Sink]:
    """The configured destinations; `withheld`: env var names the command must not get."""
    sinks = []
    if section.webhook_url:
        sender = WebhookSender(section.webhook_url, section.webhook_timeout_s, host)
        sinks.append(Sink("webhook", sender, section.webhook_min_severity))
    if section.command:
        runner = CommandSender(section.command, section.command_timeout_s, withheld)
        sinks.append(Sink("command", runner, section.command_min_severity))
    return sinks
