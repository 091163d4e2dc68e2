"""Change one string of the `[evm]` table by editing one line of the operator's TOML file.

`evm.key_file` (a rotated key) and `evm.executor` (a deployed executor). Operators keep
comments, ordering and other engines' settings in that file, so it is not
re-serialised: only that key's line of the `[evm]` table is replaced (or added right
under the header). The result is then parsed and compared with the original: it must be
the same document except that key, and it must pass the engine's own validation;
otherwise nothing is written and the operator is told to edit it by hand. The previous
file is kept as `<file>.bak` (`<file>.bak.N` when that exists: an earlier backup is
never overwritten); the new one replaces it atomically.
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
_VALUE_LINE = (
    r"""^(?P<lead>\s*{key}\s*=\s*)(?P<value>"(?:[^"\\]|\\.)*"|'[^']*')"""
    r"""(?P<tail>\s*(?:\#.*)?)$"""
)
EDITABLE = ("key_file", "executor")


class ConfigEditError(WalletError):
    """The file could not be changed safely; it was left as it was."""


def switch_key_file(config: Path, new_key: Path) -> Path:
    """Rewrite `evm.key_file` in `config` to `new_key`; return the backup's path."""
    return set_evm_string(config, "key_file", str(new_key))


def set_evm_string(config: Path, key: str, value: str) -> Path:
    """Rewrite `evm.<key>` in `config` to `value`; return the backup's path."""
    if key not in EDITABLE:
        raise ConfigEditError(f"evm.{key} is not a key this tool edits ({', '.join(EDITABLE)})")
    text = _read(config)
    updated = _replace_line(text, key, value, config)
    _verify(text, updated, key, value, config)
    backup = free_backup_path(config)
    shutil.copy2(config, backup)
    _write_atomically(config, updated)
    return backup


def free_backup_path(config: Path) -> Path:
    """`<file>.bak`, or the first free `<file>.bak.N`: an earlier backup is kept."""
    candidate = config.with_name(config.name + ".bak")
    number = 1
    while candidate.exists():
        candidate = config.with_name(f"{config.name}.bak.{number}")
        number += 1
    return candidate


def _read(config: Path) -> str:
    try:
        return config.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigEditError(f"cannot read {config}: {exc}") from None


def _replace_line(text: str, key: str, value: str, config: Path) -> str:
    lines = text.splitlines(keepends=True)
    start, end = _evm_table(lines, config)
    new_value = _toml_string(value)
    pattern = re.compile(_VALUE_LINE.replace("{key}", key))
    for index in range(start + 1, end):
        line = lines[index].rstrip("\r\n")
        if not re.match(rf"^\s*{key}\s*=", line):
            continue
        match = pattern.match(line)
        if match is None:
            raise ConfigEditError(f"{config}: evm.{key} is not a one-line string")
        newline = lines[index][len(line) :] or "\n"
        lines[index] = f"{match['lead']}{new_value}{match['tail']}{newline}"
        return "".join(lines)
    if not lines[start].endswith("\n"):
        lines[start] += "\n"
    lines.insert(start + 1, f"{key} = {new_value}\n")
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


def _verify(before: str, after: str, key: str, value: str, config: Path) -> None:
    """Same document but for evm.<key>, and still a valid engine config."""
    try:
        expected: dict[str, Any] = copy.deepcopy(tomllib.loads(before))
        got = tomllib.loads(after)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigEditError(f"{config}: the edit would not be valid TOML: {exc}") from None
    expected.setdefault("evm", {})[key] = value
    if got != expected:
        raise ConfigEditError(
            f"{config}: cannot change only evm.{key} in this layout; edit it by hand: "
            f"{key} = {_toml_string(value)} under [evm]"
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
