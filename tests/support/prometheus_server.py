"""A real Prometheus server for a test: our own process, config and data directory.

Started from the Debian package's binary (`tests.support.prometheus_tools`), on a free
loopback port, with a temporary config that scrapes the given targets every second and
evaluates the shipped alert rules (scripts/deploy/prometheus/alerts.yml) every second;
stopped (SIGTERM, then SIGKILL) when the test ends. The package's systemd service is
never touched. Queries go to the real HTTP API (`/api/v1/query`, `/api/v1/alerts`).
"""

from __future__ import annotations

import json
import subprocess
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tests.support.prometheus_tools import prometheus_programs

REPO = Path(__file__).resolve().parents[2]
ALERT_RULES = REPO / "scripts" / "deploy" / "prometheus" / "alerts.yml"
START_TIMEOUT_S = 60.0


def scrape_config(targets: list[str], rules: Path = ALERT_RULES) -> str:
    """The test's prometheus.yml: JSON (which is YAML), so no YAML writer is needed."""
    return json.dumps(
        {
            "global": {"scrape_interval": "1s", "evaluation_interval": "1s"},
            "rule_files": [str(rules)],
            "scrape_configs": [{"job_name": "arbctl", "static_configs": [{"targets": targets}]}],
        },
        indent=2,
    )


@dataclass
class PrometheusServer:
    url: str
    process: subprocess.Popen[bytes]
    log: Path

    def api(self, path: str, **params: str) -> Any:
        query = f"?{urllib.parse.urlencode(params)}" if params else ""
        with urllib.request.urlopen(f"{self.url}{path}{query}", timeout=10) as response:
            body = json.loads(response.read())
        assert body["status"] == "success", body
        return body["data"]

    def query(self, promql: str) -> list[dict[str, Any]]:
        """Instant vector: [{"metric": {labels}, "value": [ts, "text"]}, ...]."""
        return list(self.api("/api/v1/query", query=promql)["result"])

    def value(self, promql: str) -> float | None:
        """The single value of a query that yields one series (None: no series)."""
        result = self.query(promql)
        return float(result[0]["value"][1]) if result else None

    def firing(self) -> set[str]:
        return {a["labels"]["alertname"] for a in self.api("/api/v1/alerts")["alerts"]
                if a["state"] == "firing"}  # fmt: skip

    def ready(self) -> bool:
        try:
            with urllib.request.urlopen(f"{self.url}/-/ready", timeout=2) as response:
                return bool(response.status == 200)
        except (urllib.error.URLError, OSError):
            return False


@contextmanager
def running_prometheus(workdir: Path, port: int, targets: list[str]) -> Iterator[PrometheusServer]:
    server, _ = prometheus_programs()
    config = workdir / "prometheus.yml"
    config.write_text(scrape_config(targets))
    log = workdir / "prometheus.log"
    argv = [
        server,
        f"--config.file={config}",
        f"--storage.tsdb.path={workdir / 'data'}",
        f"--web.listen-address=127.0.0.1:{port}",
        "--storage.tsdb.retention.time=1h",
    ]
    with log.open("wb") as out:
        process = subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT)
    handle = PrometheusServer(f"http://127.0.0.1:{port}", process, log)
    try:
        deadline = time.monotonic() + START_TIMEOUT_S
        while not handle.ready():
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"prometheus did not start:\n{log.read_text()[-3000:]}")
            time.sleep(0.1)
        yield handle
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=15)
