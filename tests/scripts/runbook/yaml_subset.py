"""A strict parser for the plain YAML subset `scripts/deploy/docker-compose.yml` keeps to.

PyYAML is not a dependency of the project and no Docker engine runs here, so the
compose file is checked with this: block mappings, block lists of scalars, JSON-style
flow lists, quoted and plain scalars, comments. Anything else (anchors, block scalars,
flow mappings, tabs, duplicate keys, bad indentation) is an error rather than a guess,
so a file that parses here means what the tests think it means.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any


class YamlSubsetError(ValueError):
    """The text uses YAML this parser does not accept; says which line."""


@dataclass(frozen=True, slots=True)
class _Line:
    number: int
    indent: int
    content: str


def parse(text: str) -> Any:
    lines = _lines(text)
    if not lines:
        return None
    value, position = _block(lines, 0, lines[0].indent)
    if position != len(lines):
        raise YamlSubsetError(f"line {lines[position].number}: unexpected indentation")
    return value


def _lines(text: str) -> list[_Line]:
    found = []
    for number, raw in enumerate(text.splitlines(), start=1):
        if "\t" in raw[: len(raw) - len(raw.lstrip())]:
            raise YamlSubsetError(f"line {number}: tab in indentation")
        content = _strip_comment(raw).rstrip()
        if content.strip():
            stripped = content.lstrip(" ")
            found.append(_Line(number, len(content) - len(stripped), stripped))
    return found


def _strip_comment(raw: str) -> str:
    """Drop a `#` comment that starts the line or follows a space, outside quotes."""
    quote = None
    for index, char in enumerate(raw):
        if quote:
            if char == quote and (quote == "'" or raw[index - 1] != "\\"):
                quote = None
        elif char in "\"'" and (index == 0 or raw[index - 1] in " [,:-"):
            quote = char
        elif char == "#" and (index == 0 or raw[index - 1] == " "):
            return raw[:index]
    return raw


def _block(lines: list[_Line], position: int, indent: int) -> tuple[Any, int]:
    if _is_item(lines[position].content):
        return _sequence(lines, position, indent)
    return _mapping(lines, position, indent)


def _is_item(content: str) -> bool:
    return content == "-" or content.startswith("- ")


def _mapping(lines: list[_Line], position: int, indent: int) -> tuple[dict[str, Any], int]:
    result: dict[str, Any] = {}
    while position < len(lines) and lines[position].indent == indent:
        line = lines[position]
        if _is_item(line.content):
            raise YamlSubsetError(f"line {line.number}: list item inside a mapping")
        key, value_text = _split_key(line)
        if key in result:
            raise YamlSubsetError(f"line {line.number}: duplicate key {key!r}")
        position += 1
        if value_text:
            result[key] = _scalar(value_text, line.number)
        elif position < len(lines) and lines[position].indent > indent:
            result[key], position = _block(lines, position, lines[position].indent)
        elif (
            position < len(lines)
            and lines[position].indent == indent
            and _is_item(lines[position].content)
        ):
            result[key], position = _sequence(lines, position, indent)
        else:
            result[key] = None
    if position < len(lines) and lines[position].indent > indent:
        raise YamlSubsetError(f"line {lines[position].number}: unexpected indentation")
    return result, position


def _split_key(line: _Line) -> tuple[str, str]:
    match = re.match(r'^("[^"]*"|\'[^\']*\'|[A-Za-z0-9_.\-/$]+):(?: (.*))?$', line.content)
    if match is None:
        raise YamlSubsetError(f"line {line.number}: not a `key: value` line: {line.content!r}")
    key = match[1].strip("\"'")
    return key, (match[2] or "").strip()


def _sequence(lines: list[_Line], position: int, indent: int) -> tuple[list[Any], int]:
    items: list[Any] = []
    while (
        position < len(lines)
        and lines[position].indent == indent
        and _is_item(lines[position].content)
    ):
        line = lines[position]
        text = line.content[1:].strip()
        if not text or re.match(r'^[A-Za-z0-9_.\-"\']+:( |$)', text):
            raise YamlSubsetError(f"line {line.number}: only scalar list items are supported")
        items.append(_scalar(text, line.number))
        position += 1
    return items, position


def _scalar(text: str, number: int) -> Any:
    if text[0] in "&*!|>{@`%":
        raise YamlSubsetError(f"line {number}: unsupported YAML syntax {text[0]!r}")
    if text.startswith(("[", '"')):
        try:
            return json.loads(text)
        except ValueError:
            raise YamlSubsetError(f"line {number}: write flow lists/strings as JSON") from None
    if text.startswith("'"):
        if len(text) < 2 or not text.endswith("'"):
            raise YamlSubsetError(f"line {number}: unterminated single-quoted string")
        return text[1:-1].replace("''", "'")
    return _plain(text)


def _plain(text: str) -> Any:
    if text in ("true", "false"):
        return text == "true"
    if text in ("null", "~"):
        return None
    if re.fullmatch(r"-?[0-9]+", text):
        return int(text)
    return text
