"""The shape of the tree, checked by reading the source: which part may import which.

Each test states one rule of the layout (../shared/DESIGN.md) and names the files that
break it, so a newcomer learns the rule from the failure.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

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
DEVNET_USERS = (ROOT / "engine" / "devnet", ROOT / "arbctl" / "commands" / "devnet.py")


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
    ("telemetry", "accounting", "fleet"),
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


# TEMPORARY, for the lead to remove once the branch named is merged: files that another
# branch of issue 12 moves or changes so that they stop breaking the layers.
PENDING = {
    "fleet/part.py": "wire",  # takes ControlParts and Handler from engine.control
}


def _pending(path: Path) -> bool:
    rel = path.relative_to(ENGINE)
    if path.name == "methods.py" and rel.parts[0] != "control":
        return True  # `wire` moves every domain methods.py to engine/control/methods/<part>.py
    return rel.as_posix() in PENDING


def _layer_edges() -> dict[tuple[str, str], list[str]]:
    """(from part, to part) -> the files that make that edge."""
    found: dict[tuple[str, str], list[str]] = {}
    for path in sorted(ENGINE.rglob("*.py")):
        if _pending(path):
            continue
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
