"""Option parsing without pydantic, for the simple types arbctl's options use.

Why this exists: typer (≥ 0.2x) converts every non-flag option through a pydantic
TypeAdapter. Importing pydantic and building the adapters costs ~90 ms of CPU per run —
most of the 150 ms budget of `arbctl status`. Our options are only str, int, float, Path,
enums, and lists of those, which the standard library converts in microseconds.

`install()` hooks typer's lazy per-parameter coercion: those simple types get a stdlib
converter (min/max ranges and enum choices enforced, errors reported as typer's usage
errors, exit 2); anything else falls through to typer's own pydantic path unchanged. If
a typer release moves these internals, `install()` does nothing and the only loss is
speed — tests/arbctl/test_imports.py then fails loudly on the pydantic import.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from enum import Enum
from pathlib import Path
from typing import Any, get_args, get_origin

Converter = Callable[[Any], Any]


def install() -> bool:
    """Install the stdlib converters into typer; False if typer's internals differ."""
    try:
        from typer import core
        from typer._click.exceptions import BadParameter
        from typer._coercion import RuntimeParam
    except ImportError:
        return False
    parameter_class = getattr(core, "_TyperParameter", None)
    original = getattr(parameter_class, "get_runtime_param", None)
    if parameter_class is None or original is None or getattr(original, "_arbctl", False):
        return False

    @dataclass(frozen=True)
    class StdlibRuntimeParam(RuntimeParam):
        convert: Converter

        def _coerce_value(self, value: Any, param: Any, ctx: Any) -> Any:
            try:
                return self.convert(value)
            except ValueError as exc:
                raise BadParameter(str(exc), ctx=ctx, param=param) from None

    def get_runtime_param(self: Any) -> Any:
        if getattr(self, "_runtime_param", None) is None:
            descriptor = self.type_descriptor
            convert = converter_for(descriptor.annotation, descriptor.parameter_info)
            if convert is None:
                return original(self)
            self._runtime_param = StdlibRuntimeParam(
                parameter_info=descriptor.parameter_info,
                annotation=descriptor.annotation,
                convert=convert,
            )
        return self._runtime_param

    get_runtime_param._arbctl = True  # type: ignore[attr-defined]
    parameter_class.get_runtime_param = get_runtime_param
    return True


def converter_for(annotation: Any, info: Any) -> Converter | None:
    """A stdlib converter for `annotation`, or None to leave it to typer."""
    if getattr(info, "parser", None) is not None or getattr(info, "click_type", None):
        return None
    if get_origin(annotation) is list:
        (item,) = get_args(annotation) or (None,)
        convert = converter_for(item, info)
        return None if convert is None else _each(convert)
    if annotation is str:
        return str
    if annotation is bool:
        return _boolean
    if annotation in (int, float):
        return _number(annotation, getattr(info, "min", None), getattr(info, "max", None))
    if isinstance(annotation, type) and issubclass(annotation, Enum):
        return _choice(annotation, getattr(info, "case_sensitive", True))
    if annotation is Path and _plain_path(info):
        return Path
    return None


def _each(convert: Converter) -> Converter:
    def convert_all(values: Any) -> list[Any]:
        items = values if isinstance(values, list | tuple) else [values]
        return [convert(v) for v in items]

    return convert_all


_TRUE = {"1", "true", "t", "yes", "y", "on"}
_FALSE = {"0", "false", "f", "no", "n", "off"}


def _boolean(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in _TRUE | _FALSE:
        return text in _TRUE
    raise ValueError(f"{value!r} is not a valid boolean.")


def _number(kind: type, low: float | None, high: float | None) -> Converter:
    name = "an integer" if kind is int else "a number"

    def convert(value: Any) -> Any:
        try:
            number = kind(value)
        except (TypeError, ValueError):
            raise ValueError(f"{value!r} is not {name}.") from None
        if (low is not None and number < low) or (high is not None and number > high):
            raise ValueError(f"{value} is not in the range {_bounds(low, high)}.")
        return number

    return convert


def _bounds(low: float | None, high: float | None) -> str:
    parts = [f"x>={low}"] if low is not None else []
    parts += [f"x<={high}"] if high is not None else []
    return " and ".join(parts)


def _choice(enum: type[Enum], case_sensitive: bool) -> Converter:
    def convert(value: Any) -> Enum:
        if isinstance(value, enum):
            return value
        for member in enum:
            wanted, given = str(member.value), str(value)
            if wanted == given or (not case_sensitive and wanted.lower() == given.lower()):
                return member
        choices = ", ".join(repr(str(m.value)) for m in enum)
        raise ValueError(f"{value!r} is not one of {choices}.")

    return convert


def _plain_path(info: Any) -> bool:
    """A Path with none of typer's checks (exists, resolve, dash, …) requested."""
    checks = ("exists", "resolve_path", "allow_dash", "writable", "path_type")
    if any(getattr(info, name, None) for name in checks):
        return False
    return getattr(info, "file_okay", True) and getattr(info, "dir_okay", True)
