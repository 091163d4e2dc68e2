"""`config validate` and `config show`: check a file before a restart, see what runs.

`validate` is meant for 3 a.m. edits: it runs the engine's own validator (engine.config:
types, ranges, the rules between settings), lists every problem of the file at once, each
naming the file, the key, what was expected and what was given, and the exit code lets a
deploy script refuse a broken file. `show` never
prints secrets: DSN passwords and provider API keys are masked, whether the config comes
from a file or from the running engine (masked again here, in case).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer

from arbctl import exitcodes, options, output
from arbctl.rpc import call_or_exit

app = typer.Typer(
    name="config",
    help="Validate a config file, or show a config with secrets masked.",
    no_args_is_help=True,
)

FileArg = Annotated[
    Path | None,
    typer.Argument(
        metavar="FILE",
        envvar="ARBCTL_CONFIG",
        show_default=False,
        help="Config file (TOML). Default: $ARBCTL_CONFIG.",
    ),
]


@app.command()
def validate(file: FileArg = None, as_json: options.JsonOpt = False) -> None:
    """Check a config file as the engine will at start: syntax, keys, types, ranges, rules.

    Lists every error at once, each naming the file, the key, what was expected and what
    was given, e.g. `engine.toml: sim.block_ms: expected an integer >= 1 and <= 3_600_000,
    got -5`. Needs no engine. With --json prints {valid, file, key, problem, message,
    errors: [{file, key, expected, got, problem, message}]} (key/problem: the first error).

    Exit codes: 0 valid · 1 invalid (or unreadable) · 2 no FILE and no $ARBCTL_CONFIG.
    """
    from engine.config import ConfigError, load

    path = _require_file(file, as_json)
    try:
        config = load(path)
    except ConfigError as exc:
        _report_invalid(exc, as_json)
    if as_json:
        output.emit_json(
            {
                "valid": True,
                "file": str(path),
                "key": None,
                "problem": None,
                "message": f"{path}: ok",
                "errors": [],
            }
        )
        return
    output.say(
        f"[green]ok[/]: {output.esc(path)} is valid (venue {config.market.venue}, "
        f"ledger {config.ledger.backend}, {len(config.providers)} providers)"
    )


def _require_file(file: Path | None, as_json: bool) -> Path:
    if file is None:
        output.fail("no config file: pass FILE or set ARBCTL_CONFIG", exitcodes.USAGE, as_json)
    return file


def _report_invalid(exc: Any, as_json: bool) -> None:
    if as_json:
        output.emit_json(
            {
                "valid": False,
                "file": exc.source,
                "key": exc.key or None,
                "problem": exc.problem,
                "message": exc.errors[0].to_dict()["message"],
                "errors": [error.to_dict() for error in exc.errors],
            }
        )
    else:
        output.note(f"invalid config: {describe(exc)}")
    raise typer.Exit(exitcodes.FAILED)


def describe(exc: Any) -> str:
    """One error on one line; several as a count and one line each (`up` says the same)."""
    if len(exc.errors) == 1:
        return str(exc)
    lines = [f"  {e.key}: {e.problem}" if e.key else f"  {e.problem}" for e in exc.errors]
    return f"{len(exc.errors)} errors in {exc.source}:\n" + "\n".join(lines)


@app.command()
def show(
    file: FileArg = None,
    socket: options.SocketOpt = None,
    as_json: options.JsonOpt = False,
) -> None:
    """Print a config with secrets masked: FILE if given, else the running engine's.

    DSN passwords and API keys in provider URLs are replaced by ***; key files are shown
    by path, never by content. Without FILE asks the engine on --socket (`config.show`).
    With --json prints {source, config: {section: {key: value}}}.

    Exit codes: 0 ok · 1 invalid FILE or the engine refused · 3 engine unreachable.
    """
    from engine.config import ConfigError, load, redacted

    if file is not None:
        try:
            data = {"source": str(file), "config": redacted(load(file))}
        except ConfigError as exc:
            _report_invalid(exc, as_json)
    else:
        data = call_or_exit(socket, "config.show", as_json=as_json)
    data = _mask(data)
    if as_json:
        output.emit_json(data)
    else:
        print(f"# source: {data.get('source')}\n{to_toml(data.get('config') or {})}", end="")


def _mask(value: Any) -> Any:
    """Belt and braces: mask every string again, whoever produced the dict."""
    from engine.config import redact_text

    if isinstance(value, dict):
        return {k: _mask(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_mask(v) for v in value]
    if isinstance(value, str):
        return redact_text(value)
    return value


def to_toml(data: dict[str, Any]) -> str:
    """The config in the shape operators edit it: tables, then arrays of tables."""
    lines: list[str] = []
    scalars = {k: v for k, v in data.items() if not isinstance(v, dict | list)}
    lines += [f"{k} = {_value(v)}" for k, v in scalars.items()]
    for key, value in data.items():
        if isinstance(value, dict):
            lines += ["", f"[{key}]", *_table_body(value, key)]
        elif isinstance(value, list) and all(isinstance(v, dict) for v in value) and value:
            for item in value:
                lines += ["", f"[[{key}]]", *_table_body(item, key)]
        elif isinstance(value, list):
            lines.append(f"{key} = {_value(value)}")
    return "\n".join(lines).lstrip("\n") + "\n"


def _table_body(table: dict[str, Any], prefix: str) -> list[str]:
    body = [
        f"{k} = {_value(v)}"
        for k, v in table.items()
        if not (isinstance(v, list) and v and all(isinstance(i, dict) for i in v))
    ]
    for k, v in table.items():
        if isinstance(v, list) and v and all(isinstance(i, dict) for i in v):
            for item in v:
                body += ["", f"[[{prefix}.{k}]]", *_table_body(item, f"{prefix}.{k}")]
    return body


def _value(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False)
