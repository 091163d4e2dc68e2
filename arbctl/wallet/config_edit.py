"""Point `evm.key_file` at a new key by editing one line of the operator's TOML file.

Operators keep comments, ordering and other engines' settings in that file, so it is
not re-serialised: only the `key_file` line of the `[evm]` table is replaced (or added
right under the header). The result is then parsed and compared with the original: it
must be the same document except `evm.key_file`, and it must pass the engine's own
validation; otherwise nothing is written and the operator is told to edit it by hand.
The previous file is kept as `<file>.bak`; the new one replaces it atomically.
"""

from __future__ import annotations

import copy
import os
import re
import shutil
import stat
import tomllib
from pathlib import Path
from typing import Any

from arbctl.wallet.errors import WalletError
from engine.config import ConfigError, load

_HEADER = re.compile(r"^\s*\[\[?\s*([^\]\s][^\]]*?)\s*\]\]?\s*(#.*)?$")
_KEY_LINE = re.compile(
    r"""^(?P<lead>\s*key_file\s*=\s*)(?P<value>"(?:[^"\\]|\\.)*"|'[^']*')(?P<tail>\s*(?:\#.*)?)$"""
)


class ConfigEditError(WalletError):
    """The file could not be changed safely; it was left as it was."""


def switch_key_file(config: Path, new_key: Path) -> Path:
    """Rewrite `evm.key_file` in `config` to `new_key`; return the `.bak` path."""
    text = _read(config)
    updated = _replace_key_line(text, str(new_key), config)
    _verify(text, updated, str(new_key), config)
    backup = config.with_name(config.name + ".bak")
    shutil.copy2(config, backup)
    _write_atomically(config, updated)
    return backup


def _read(config: Path) -> str:
    try:
        return config.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigEditError(f"cannot read {config}: {exc}") from None


def _replace_key_line(text: str, value: str, config: Path) -> str:
    lines = text.splitlines(keepends=True)
    start, end = _evm_table(lines, config)
    new_value = _toml_string(value)
    for index in range(start + 1, end):
        line = lines[index].rstrip("\r\n")
        if not re.match(r"^\s*key_file\s*=", line):
            continue
        match = _KEY_LINE.match(line)
        if match is None:
            raise ConfigEditError(f"{config}: evm.key_file is not a one-line string")
        newline = lines[index][len(line) :] or "\n"
        lines[index] = f"{match['lead']}{new_value}{match['tail']}{newline}"
        return "".join(lines)
    if not lines[start].endswith("\n"):
        lines[start] += "\n"
    lines.insert(start + 1, f"key_file = {new_value}\n")
    return "".join(lines)


def _evm_table(lines: list[str], config: Path) -> tuple[int, int]:
    """Index of the `[evm]` header and of the next header (or the end)."""
    start = None
    for index, line in enumerate(lines):
        match = _HEADER.match(line.rstrip("\r\n"))
        if match is None:
            continue
        if start is not None:
            return start, index
        if match[1] == "evm" and not line.lstrip().startswith("[["):
            start = index
    if start is None:
        raise ConfigEditError(f"{config} has no [evm] table")
    return start, len(lines)


def _verify(before: str, after: str, new_key: str, config: Path) -> None:
    """Same document but for evm.key_file, and still a valid engine config."""
    try:
        expected: dict[str, Any] = copy.deepcopy(tomllib.loads(before))
        got = tomllib.loads(after)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigEditError(f"{config}: the edit would not be valid TOML: {exc}") from None
    expected.setdefault("evm", {})["key_file"] = new_key
    if got != expected:
        raise ConfigEditError(
            f"{config}: cannot change only evm.key_file in this layout; edit it by hand: "
            f"key_file = {_toml_string(new_key)} under [evm]"
        )
    probe = config.with_name(f".{config.name}.check")
    try:
        probe.write_text(after, encoding="utf-8")
        load(probe)
    except ConfigError as exc:
        raise ConfigEditError(f"the edited config would be invalid: {exc.problem}") from None
    finally:
        probe.unlink(missing_ok=True)


def _write_atomically(config: Path, text: str) -> None:
    """Same mode as before; readers see the old file or the new one, never half of it."""
    mode = stat.S_IMODE(config.stat().st_mode)
    temporary = config.with_name(f".{config.name}.new")
    temporary.unlink(missing_ok=True)
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
    with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
        handle.write(text)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(temporary, config)


def _toml_string(value: str) -> str:
    """A TOML basic string; paths may hold backslashes or quotes."""
    escaped = value.replace("\\", "\\\\").replace('"', '\\"')
    return f'"{escaped}"'
