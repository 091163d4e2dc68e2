"""One error tree: every exception arbctl defines is an `ArbctlError`, and a name means one thing.

Exception classes are collected by importing every module of the installed packages (so a
module moved or split is still seen); the name checks read the source, so a class that is
not an exception (a rule, a check) cannot share a name with one either.
"""

from __future__ import annotations

import ast
import importlib
import importlib.util
import inspect
import pkgutil
from collections import defaultdict
from pathlib import Path

from engine.errors import ArbctlError

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("engine", "arbctl", "screens")
# modules that need an optional extra (pyproject's `fast`: numba) and are read only where
# it is installed; they define no exception classes of their own
OPTIONAL = {"engine.strategy.kernel_jit": "numba"}


def _modules() -> list[str]:
    names = []
    for package in PACKAGES:
        path = importlib.import_module(package).__path__
        for info in pkgutil.walk_packages(path, package + "."):
            if info.name.endswith("__main__") or not _importable(info.name):
                continue
            names.append(info.name)
    return names


def _importable(name: str) -> bool:
    extra = OPTIONAL.get(name)
    return extra is None or importlib.util.find_spec(extra) is not None


def _exception_classes() -> list[type[BaseException]]:
    found = []
    for name in _modules():
        module = importlib.import_module(name)
        for obj in vars(module).values():
            if (
                inspect.isclass(obj)
                and issubclass(obj, BaseException)
                and obj.__module__ == module.__name__
            ):
                found.append(obj)
    return found


def _class_definitions() -> dict[str, list[str]]:
    """Every class statement in the packages' source: name → where it is defined."""
    where: dict[str, list[str]] = defaultdict(list)
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            for node in ast.walk(ast.parse(path.read_text(), str(path))):
                if isinstance(node, ast.ClassDef):
                    where[node.name].append(f"{path.relative_to(ROOT)}:{node.lineno}")
    return where


def test_the_packages_define_exception_classes_to_check() -> None:
    assert len(_exception_classes()) > 40


def test_every_exception_class_in_engine_arbctl_and_screens_is_an_arbctl_error() -> None:
    outside = [
        f"{cls.__module__}.{cls.__qualname__}"
        for cls in _exception_classes()
        if not issubclass(cls, ArbctlError)
    ]
    assert outside == []


def test_no_two_exception_classes_share_a_name() -> None:
    by_name: dict[str, list[str]] = defaultdict(list)
    for cls in _exception_classes():
        by_name[cls.__name__].append(cls.__module__)
    assert {name: mods for name, mods in by_name.items() if len(mods) > 1} == {}


def test_no_class_shares_its_name_with_an_exception_class() -> None:
    exceptions = {cls.__name__ for cls in _exception_classes()}
    shared = {
        name: places
        for name, places in _class_definitions().items()
        if name in exceptions and len(places) > 1
    }
    assert shared == {}


def test_the_health_alert_and_runbook_checks_have_names_of_their_own() -> None:
    assert len(_class_definitions().get("Check", [])) <= 1
