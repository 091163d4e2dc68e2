"""The shape of engine/, checked on the source: which folder may import what.

The wire (JSON-RPC framing, error codes, method tables) lives in `engine/control/` only:
the domain folders expose typed methods and domain errors, and the control adapters turn
them into wire dicts and JSON-RPC errors at the edge. A protocol change is then made in
one folder, and a domain can be reused (or tested) without a socket.
"""

from __future__ import annotations

import ast
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TypeGuard

from engine import protocol

ENGINE = Path(__file__).resolve().parent.parent / "engine"
WIRE_FOLDER = "control"

# JSON-RPC error codes and the error type that carries them: what only the wire may raise.
WIRE_ERRORS = {"ProtocolError", "ERROR_NAMES"} | {
    name
    for name, value in vars(protocol).items()
    if isinstance(value, int) and not isinstance(value, bool) and value in protocol.ERROR_NAMES
}


def domain_files() -> Iterator[Path]:
    """Every module under an engine/ subfolder except the wire's own."""
    for folder in sorted(p for p in ENGINE.iterdir() if p.is_dir() and p.name != WIRE_FOLDER):
        yield from sorted(folder.rglob("*.py"))


def control_imports(path: Path) -> list[str]:
    """Imports of `engine.control` (or of anything under it), as 'line: import'."""
    found = []
    for node in ast.walk(_tree(path)):
        if isinstance(node, ast.Import):
            found += [f"{node.lineno}: import {a.name}" for a in node.names if _is_control(a.name)]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names = [a.name for a in node.names]
            if _is_control(node.module) or (node.module == "engine" and WIRE_FOLDER in names):
                found.append(f"{node.lineno}: from {node.module} import {', '.join(names)}")
    return found


def error_code_uses(path: Path) -> list[str]:
    """JSON-RPC error codes imported from engine.protocol or read as `protocol.CODE`."""
    found = []
    for node in ast.walk(_tree(path)):
        if isinstance(node, ast.ImportFrom) and node.module == "engine.protocol":
            found += [f"{node.lineno}: {a.name}" for a in node.names if a.name in WIRE_ERRORS]
        elif _is_protocol_attribute(node):
            found.append(f"{node.lineno}: protocol.{node.attr}")
    return found


def _is_protocol_attribute(node: ast.AST) -> TypeGuard[ast.Attribute]:
    """`protocol.CODE`, with `protocol` being engine.protocol imported by its name."""
    return (
        isinstance(node, ast.Attribute)
        and node.attr in WIRE_ERRORS
        and isinstance(node.value, ast.Name)
        and node.value.id == "protocol"
    )


def _tree(path: Path) -> ast.AST:
    return ast.parse(path.read_text(), str(path))


def _is_control(module: str) -> bool:
    return module == f"engine.{WIRE_FOLDER}" or module.startswith(f"engine.{WIRE_FOLDER}.")


def _offenders(check: Callable[[Path], list[str]]) -> dict[str, list[str]]:
    return {str(p.relative_to(ENGINE.parent)): found for p in domain_files() if (found := check(p))}


def test_no_domain_folder_imports_engine_control() -> None:
    assert _offenders(control_imports) == {}


def test_no_domain_folder_uses_the_json_rpc_error_codes() -> None:
    assert _offenders(error_code_uses) == {}
