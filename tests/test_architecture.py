"""The shape of the tree, checked on the source: which part may import which.

Each test states one rule of the layout (../shared/DESIGN.md) and names the files that
break it, so a newcomer learns the rule from the failure.

The wire (JSON-RPC framing, error codes, method tables) lives in `engine/control/` only:
the domain folders expose typed methods and domain errors, and the control adapters turn
them into wire dicts and JSON-RPC errors at the edge. A protocol change is then made in
one folder, and a domain can be reused (or tested) without a socket. The product does
not depend on its dev tooling (`engine/devnet/`).
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


ROOT = Path(__file__).resolve().parents[1]


def _imported_modules(path: Path) -> Iterator[str]:
    """Every absolute module name `path` imports, `from engine import devnet` included."""
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            yield node.module
            yield from (f"{node.module}.{alias.name}" for alias in node.names)


# --- the product does not depend on its dev tooling -------------------------------------
DEVNET = "engine.devnet"
# Where the devnet may be imported: its own folder and the CLI command that drives it.
# `executor` compiles, deploys and reads the contract whose source and compiler live there.
DEVNET_USERS = (
    ROOT / "engine" / "devnet",
    ROOT / "arbctl" / "commands" / "devnet.py",
    ROOT / "arbctl" / "commands" / "executor.py",
)


def _product_files() -> Iterator[Path]:
    for folder in ("engine", "arbctl", "screens"):
        for path in sorted((ROOT / folder).rglob("*.py")):
            if not any(path == user or user in path.parents for user in DEVNET_USERS):
                yield path


def test_no_product_module_imports_the_devnet_tooling() -> None:
    offenders = sorted(
        f"{path.relative_to(ROOT)} imports {name}"
        for path in _product_files()
        for name in set(_imported_modules(path))
        if name == DEVNET or name.startswith(DEVNET + ".")
    )
    assert offenders == []


# --- layers: each engine part imports only parts of its own layer or below ----------------
ENGINE = ROOT / "engine"
# Read bottom up; a part's rank is its row. The bus is the one way up: events flow up through
# it at run time, so every part may import it (it sits at the bottom).
LAYERS: tuple[tuple[str, ...], ...] = (
    ("engine", "protocol", "errors", "units", "config", "redaction", "bus"),
    ("ledger", "lifecycle", "audit", "killswitch"),
    ("providers",),  # health and selection: what venues, lenders and routes share
    ("market",),
    ("strategy",),
    ("execution",),
    ("guards", "lenders"),
    ("approval", "pipeline"),
    ("telemetry", "accounting", "fleet", "failover", "snapshots"),
    ("control",),
    ("daemon",),
    ("devnet",),  # local chain tooling: nothing in the product imports it
)
RANK = {part: rank for rank, layer in enumerate(LAYERS) for part in layer}
ALWAYS_ALLOWED = {"bus"}


def _part_of(module: str) -> str | None:
    """`engine.guards.rules` -> `guards`; `engine.pipeline` -> `pipeline`; else None."""
    names = module.split(".")
    if names[0] != "engine":
        return None
    return names[1] if len(names) > 1 else "engine"


def _layer_edges() -> dict[tuple[str, str], list[str]]:
    """(from part, to part) -> the files that make that edge."""
    found: dict[tuple[str, str], list[str]] = {}
    for path in sorted(ENGINE.rglob("*.py")):
        source = _part_of(".".join(path.relative_to(ENGINE.parent).with_suffix("").parts))
        for module in _imported_modules(path):
            target = _part_of(module)
            if source and target and source != target and source != "__init__":
                found.setdefault((source, target), []).append(str(path.relative_to(ENGINE)))
    return found


def test_every_engine_part_has_a_layer() -> None:
    parts = {part for edge in _layer_edges() for part in edge}
    parts |= {p.stem if p.is_file() else p.name for p in ENGINE.iterdir() if _is_part(p)}
    assert parts <= set(RANK), f"add to LAYERS: {sorted(parts - set(RANK))}"


def _is_part(path: Path) -> bool:
    if path.name.startswith(("_", ".")):
        return False
    return path.suffix == ".py" or (path.is_dir() and (path / "__init__.py").exists())


def test_no_part_imports_a_part_above_it() -> None:
    upward = {
        f"{source} -> {target} ({', '.join(sorted(set(files)))})"
        for (source, target), files in _layer_edges().items()
        if target not in ALWAYS_ALLOWED and RANK.get(target, -1) > RANK.get(source, -1)
    }
    assert not upward, "upward imports:\n" + "\n".join(sorted(upward))


def test_the_import_graph_between_engine_parts_has_no_cycle() -> None:
    graph: dict[str, set[str]] = {}
    for source, target in _layer_edges():
        graph.setdefault(source, set()).add(target)
    cycle = _find_cycle(graph)
    assert cycle is None, "import cycle: " + " -> ".join(cycle or [])


def _find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    state: dict[str, int] = {}  # 1: on the current path, 2: done

    def visit(node: str, path: list[str]) -> list[str] | None:
        state[node] = 1
        for following in sorted(graph.get(node, ())):
            if state.get(following) == 1:
                return [*path[path.index(following) :], following]
            if following not in state and (found := visit(following, [*path, following])):
                return found
        state[node] = 2
        return None

    for start in sorted(graph):
        if start not in state and (found := visit(start, [start])):
            return found
    return None
