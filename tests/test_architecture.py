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
