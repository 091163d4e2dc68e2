"""The deployment files: they parse, they name only commands arbctl has, and they work.

No Docker engine runs here, so the compose file is parsed (with PyYAML when installed,
always with the strict subset parser) and checked for what `docker compose ps` needs to
show three healthy services; the Dockerfile's inputs must exist; and the entrypoint and
health check are run for real, outside a container, against the local PostgreSQL and
Redis the suite uses.
"""

from __future__ import annotations

import asyncio
import json
import re
import stat
import string
import subprocess
import tomllib
import urllib.request
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import typer

from arbctl.cli import app
from engine.config import load
from tests.conftest import EngineHandle, new_engine_dir, wait_until
from tests.scripts.runbook.conftest import BIN, REPO, SCRIPTS
from tests.scripts.runbook.yaml_subset import parse
from tests.services import PG_DSN, REDIS_URL
from tests.support.prometheus_tools import promtool
from tests.telemetry.conftest import closed_port

DEPLOY = SCRIPTS / "deploy"
COMPOSE = DEPLOY / "docker-compose.yml"
DOCKERFILE = DEPLOY / "Dockerfile"
TEMPLATE = DEPLOY / "engine.toml"
ENTRYPOINT = DEPLOY / "entrypoint.sh"
SHELL_FILES = [
    ENTRYPOINT,
    SCRIPTS / "emergency-shutdown.sh",
    SCRIPTS / "key-compromise.sh",
    SCRIPTS / "arbctl-engine.service",
]


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    return parse(COMPOSE.read_text())


def dockerfile_instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments), continuation lines joined, comments dropped."""
    text = re.sub(r"\\\n\s*", " ", DOCKERFILE.read_text())
    lines = [line.strip() for line in text.splitlines()]
    return [
        (line.split(None, 1)[0].upper(), line.split(None, 1)[1])
        for line in lines
        if line and not line.startswith("#")
    ]


# --- the compose file -------------------------------------------------------------------
def test_the_compose_file_parses_the_same_with_pyyaml_if_it_is_installed(
    compose: dict[str, Any],
) -> None:
    yaml = pytest.importorskip("yaml", reason="PyYAML is not installed (not a dependency)")
    assert yaml.safe_load(COMPOSE.read_text()) == compose


def test_five_services_each_with_a_health_check(compose: dict[str, Any]) -> None:
    services = compose["services"]
    assert set(services) == {"postgres", "redis", "engine", "prometheus", "grafana"}
    for name, service in services.items():
        test = service["healthcheck"]["test"]
        assert test[0] in ("CMD", "CMD-SHELL") and len(test) >= 2, name
    assert "pg_isready" in services["postgres"]["healthcheck"]["test"][1]
    assert services["redis"]["healthcheck"]["test"][1:] == ["redis-cli", "ping"]
    assert services["engine"]["healthcheck"]["test"][1].startswith("arbctl health")


def test_the_engine_waits_for_healthy_databases_and_keeps_its_state(
    compose: dict[str, Any],
) -> None:
    engine = compose["services"]["engine"]
    assert engine["depends_on"] == {
        "postgres": {"condition": "service_healthy"},
        "redis": {"condition": "service_healthy"},
    }
    build = engine["build"]
    assert (DEPLOY / build["context"]).resolve() == REPO
    assert (REPO / build["dockerfile"]).resolve() == DOCKERFILE
    mounts = dict(volume.split(":", 1) for volume in engine["volumes"])
    assert mounts["engine-state"] == "/var/lib/arbctl"  # the halt marker survives restarts
    mounted = [v.split(":", 1)[0] for s in compose["services"].values() for v in s["volumes"]]
    used = {source for source in mounted if not source.startswith((".", "/"))}  # named ones
    assert used == set(compose["volumes"])
    assert engine["restart"] == "on-failure"  # a deliberate stop stays stopped


def test_the_template_needs_exactly_what_the_engine_service_provides(
    compose: dict[str, Any],
) -> None:
    needed = set(string.Template(TEMPLATE.read_text()).get_identifiers())
    assert needed == set(compose["services"]["engine"]["environment"])


# --- Prometheus and Grafana -----------------------------------------------------------------
def mounts(service: dict[str, Any]) -> dict[str, str]:
    """{path in the container: source}, bind mounts resolved against scripts/deploy."""
    found = {}
    for volume in service["volumes"]:
        source, target = volume.split(":")[:2]
        found[target] = str((DEPLOY / source).resolve()) if source.startswith(".") else source
    return found


def test_prometheus_loads_the_shipped_config_and_alert_rules(compose: dict[str, Any]) -> None:
    prometheus = compose["services"]["prometheus"]
    files = mounts(prometheus)
    config = Path(files["/etc/prometheus/prometheus.yml"])
    assert config == DEPLOY / "prometheus" / "prometheus.yml"
    assert Path(files["/etc/prometheus/alerts.yml"]) == DEPLOY / "prometheus" / "alerts.yml"
    assert "--config.file=/etc/prometheus/prometheus.yml" in prometheus["command"]
    checked = promtool("check", "config", str(config))  # also checks alerts.yml
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert "SUCCESS: 1 rule files found" in checked.stdout
    engine = compose["services"]["engine"]["environment"]
    assert f'"engine:{engine["ARBCTL_PROMETHEUS_PORT"]}"' in config.read_text()
    assert engine["ARBCTL_PROMETHEUS_HOST"] == "0.0.0.0"  # reachable from the neighbour
    assert prometheus["ports"] == ["127.0.0.1:9090:9090"]  # the host's loopback only
    assert compose["services"]["engine"].get("ports") is None  # /metrics is not published


def test_grafana_has_prometheus_as_data_source_and_the_dashboard_provisioned(
    compose: dict[str, Any],
) -> None:
    grafana = compose["services"]["grafana"]
    files = mounts(grafana)
    assert Path(files["/etc/grafana/dashboards/arbctl.json"]) == DEPLOY / "grafana" / "arbctl.json"
    sources = Path(files["/etc/grafana/provisioning/datasources"])
    boards = Path(files["/etc/grafana/provisioning/dashboards"])
    datasource = (sources / "prometheus.yml").read_text()
    assert "type: prometheus" in datasource and "url: http://prometheus:9090" in datasource
    assert "path: /etc/grafana/dashboards" in (boards / "arbctl.yml").read_text()
    assert grafana["depends_on"] == {"prometheus": {"condition": "service_healthy"}}
    assert grafana["environment"]["GF_SECURITY_ADMIN_PASSWORD"].startswith("${GRAFANA_ADMIN")
    assert grafana["ports"] == ["127.0.0.1:3000:3000"]


# --- the image ------------------------------------------------------------------------------
def test_the_image_is_python_slim_with_the_project_installed() -> None:
    instructions = dockerfile_instructions()
    assert instructions[0] == ("FROM", "python:3.11-slim")
    assert ("RUN", "pip install . && rm -rf build ./*.egg-info") in instructions
    for kind, arguments in instructions:
        if kind == "COPY":
            *sources, _ = arguments.split()
            for source in sources:
                assert (REPO / source).exists(), source
    commands = {
        kind: json.loads(args) for kind, args in instructions if kind in ("CMD", "ENTRYPOINT")
    }
    assert commands["ENTRYPOINT"] == ["arbctl-entrypoint"]
    assert commands["CMD"] == ["arbctl", "engine", "run"]


# --- every arbctl command named exists -----------------------------------------------------
def arbctl_invocations() -> list[tuple[str, list[str], list[str]]]:
    """(file, command words, options) for every arbctl call in the deployment files and
    the runbook scripts (comments are prose, so they are skipped)."""
    found = []
    sources = [(COMPOSE, _compose_commands()), (DOCKERFILE, _dockerfile_commands())]
    sources += [(path, _code_lines(path)) for path in SHELL_FILES]
    call = re.compile(
        r'(?:"\$ARBCTL"|(?<![\w/-])arbctl|/arbctl)\s+([a-z][\w-]*)((?:\s+[a-z][\w-]*)?)'
    )
    for path, lines in sources:
        for line in lines:
            for match in call.finditer(line):
                words = [match[1], *match[2].split()]
                rest = re.split(r"&&|\|\||;|\||\)", line[match.end() :])[0]
                found.append((path.name, words, re.findall(r"(?<![\w-])--[a-z][\w-]*", rest)))
    return found


def _compose_commands() -> list[str]:
    services = parse(COMPOSE.read_text())["services"].values()
    lines = [" ".join(s["command"]) for s in services if isinstance(s.get("command"), list)]
    return lines + [" ".join(s["healthcheck"]["test"][1:]) for s in services]


def _dockerfile_commands() -> list[str]:
    return [
        " ".join(json.loads(args)) if args.startswith("[") else args
        for kind, args in dockerfile_instructions()
        if kind in ("RUN", "CMD", "ENTRYPOINT", "HEALTHCHECK")
    ]


def _code_lines(path: Path) -> list[str]:
    """Shell: every line but comments. A systemd unit: only its Exec* commands."""
    text = re.sub(r"\\\n\s*", " ", path.read_text())
    lines = [line for line in text.splitlines() if not line.lstrip().startswith("#")]
    if path.suffix == ".service":
        return [line for line in lines if line.startswith("Exec")]
    return lines


def test_the_files_name_only_commands_and_options_arbctl_has() -> None:
    help_text = subprocess.run(
        [str(BIN / "arbctl"), "--help"], capture_output=True, text=True, check=True
    ).stdout
    root = typer.main.get_command(app)
    invocations = arbctl_invocations()
    assert {"engine", "health", "kill", "status", "logs", "db", "wallet", "config"} <= {
        words[0] for _, words, _ in invocations
    }
    for where, words, opts in invocations:
        assert re.search(rf"│ {words[0]}\s", help_text), (where, words)
        command = _resolve(root, words)
        known = {opt for param in command.params for opt in param.opts}
        assert set(opts) <= known, (where, words, set(opts) - known)


def _resolve(root: Any, words: list[str]) -> Any:
    """The command `words` name, walking groups the way `--help` lists them."""
    command = root
    for word in words:
        if not hasattr(command, "get_command"):
            break
        found = command.get_command(None, word)
        if found is None:  # a trailing word that is an argument, not a subcommand
            assert command is not root, words
            break
        command = found
    assert not hasattr(command, "get_command"), f"`arbctl {' '.join(words)}` is a group"
    return command


# --- the entrypoint and the health check, run for real ------------------------------------
@pytest.fixture
def deployed() -> Iterator[tuple[EngineHandle, dict[str, str]]]:
    """Paths for an engine started the way the container starts it."""
    handle = EngineHandle(dir=new_engine_dir())
    handle.dir.mkdir(exist_ok=True)
    names = f"deploytest_{uuid.uuid4().hex[:10]}"
    env = handle.env()
    env.update(
        PATH=f"{BIN}:/usr/bin:/bin",
        ARBCTL_CONFIG_TEMPLATE=str(TEMPLATE),
        ARBCTL_CONFIG=str(handle.config),
        ARBCTL_LEDGER_DSN=PG_DSN,
        ARBCTL_LEDGER_SCHEMA=names,
        ARBCTL_REDIS_URL=REDIS_URL,
        ARBCTL_REDIS_NAMESPACE=names,
        ARBCTL_PROMETHEUS_PORT=str(closed_port()),  # never the container's fixed one here
        ARBCTL_PROMETHEUS_HOST="127.0.0.1",
    )
    yield handle, env
    handle.cleanup()
    asyncio.run(_drop_schema(names))
    _drop_namespace(names)


async def _drop_schema(schema: str) -> None:
    import asyncpg

    connection = await asyncpg.connect(PG_DSN)
    try:
        await connection.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
    finally:
        await connection.close()


def _drop_namespace(namespace: str) -> None:
    import redis

    client = redis.Redis.from_url(REDIS_URL)
    keys = list(client.scan_iter(match=f"{namespace}:*", count=500))
    if keys:
        client.delete(*keys)
    client.close()


def test_the_entrypoint_renders_a_private_valid_config_and_the_health_check_passes(
    deployed: tuple[EngineHandle, dict[str, str]], compose: dict[str, Any]
) -> None:
    handle, env = deployed

    started = subprocess.run(
        [str(ENTRYPOINT), "arbctl", "up", "--json"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )

    assert started.returncode == 0, started.stdout + started.stderr
    handle.started.append(int(json.loads(started.stdout)["pid"]))
    assert stat.S_IMODE(handle.config.stat().st_mode) == 0o600
    config = load(handle.config)
    assert (config.ledger.backend, config.ledger.dsn) == ("postgres", PG_DSN)
    assert config.redis.url == REDIS_URL
    assert tomllib.loads(handle.config.read_text())["market"]["venue"] == "sim"
    metrics_url = f"http://127.0.0.1:{config.metrics.prometheus_port}/metrics"
    assert wait_until(lambda: "arbctl_engine_info{" in _scrape(metrics_url), timeout=30)
    health = compose["services"]["engine"]["healthcheck"]["test"][1].replace("$$", "$")
    check = subprocess.run(["sh", "-c", health], env=env, timeout=30, check=False)
    assert check.returncode == 0
    assert handle.cli("kill", "--reason", "health check test").returncode == 0
    halted = subprocess.run(["sh", "-c", health], env=env, timeout=30, check=False)
    assert halted.returncode != 0  # a halted engine is CRITICAL: unhealthy


def _scrape(url: str) -> str:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return str(response.read().decode())
    except OSError:
        return ""


def test_the_entrypoint_refuses_a_missing_variable(
    deployed: tuple[EngineHandle, dict[str, str]],
) -> None:
    handle, env = deployed
    del env["ARBCTL_REDIS_URL"]

    result = subprocess.run(
        [str(ENTRYPOINT), "true"], env=env, capture_output=True, text=True, check=False
    )

    assert result.returncode != 0
    assert "needs the environment variable 'ARBCTL_REDIS_URL'" in result.stderr
    assert not handle.config.exists()


def test_the_scripts_are_strict_shell() -> None:
    for path in (ENTRYPOINT, SCRIPTS / "emergency-shutdown.sh", SCRIPTS / "key-compromise.sh"):
        text = path.read_text()
        assert text.startswith("#!/usr/bin/env bash\n"), path
        assert "set -euo pipefail" in text, path
        assert path.stat().st_mode & stat.S_IXUSR, path
        subprocess.run(["bash", "-n", str(path)], check=True)
