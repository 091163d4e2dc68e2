"""Switching `evm.key_file` edits one line of the operator's file and nothing else."""

from __future__ import annotations

import re
import stat
import tomllib
from pathlib import Path

import pytest

from arbctl.wallet.config_edit import ConfigEditError, switch_key_file

CONFIG = """\
# production engine — keep these comments
[market]
venue = "evm"

[evm]
chain_id = 31337
key_file = "/etc/arbctl/old.key"   # rotated by arbctl wallet rotate
executor = "0x84eA74d481Ee0A5332c457a4d796187F6Ba67fEB"
tokens = [
  { address = "0x5FbDB2315678afecb367f032d93F642f64180aa3", symbol = "WETH", decimals = 18 },
  { address = "0xe7f1725E7734CE288F8367e1Bb143E90bb3F0512", symbol = "USDC", decimals = 6 },
]
factories = [{ name = "uniswap", address = "0x9fE46736679d2D9a65F0992F2272dE9f3c7fa6e0" }]

[[providers]]
name = "main"
url = "http://127.0.0.1:8545"
"""


def new_key(tmp_path: Path, name: str) -> Path:
    """The edited config is validated like the engine's: its key file must exist, 0600."""
    path = tmp_path / name
    path.write_text("0x" + "11" * 32 + "\n")
    path.chmod(0o600)
    return path


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "engine.toml"
    path.write_text(text)
    path.chmod(0o640)
    return path


def test_only_the_key_line_changes_and_the_old_file_is_kept(tmp_path: Path) -> None:
    config = write(tmp_path, CONFIG)

    key = new_key(tmp_path, 'new "key".key')
    backup = switch_key_file(config, key)

    assert backup.read_text() == CONFIG
    changed = [
        (old, new)
        for old, new in zip(CONFIG.splitlines(), config.read_text().splitlines(), strict=True)
        if old != new
    ]
    assert changed == [
        (
            'key_file = "/etc/arbctl/old.key"   # rotated by arbctl wallet rotate',
            f'key_file = "{tmp_path}/new \\"key\\".key"   # rotated by arbctl wallet rotate',
        )
    ]
    assert tomllib.loads(config.read_text())["evm"]["key_file"] == str(key)
    assert stat.S_IMODE(config.stat().st_mode) == 0o640


def test_a_key_from_the_environment_gets_a_key_file_line(tmp_path: Path) -> None:
    config = write(tmp_path, CONFIG.replace('key_file = "/etc/arbctl/old.key"', "#"))

    switch_key_file(config, new_key(tmp_path, "new.key"))

    document = tomllib.loads(config.read_text())
    assert document["evm"]["key_file"] == str(tmp_path / "new.key")
    assert document["evm"]["chain_id"] == 31337


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ('[market]\nvenue = "evm"\n', "no [evm] table"),
        ('evm.key_file = "/old.key"\n[market]\nvenue = "evm"\n', "no [evm] table"),
        ('[evm]\nkey_file = """\n/old.key"""\n', "not a one-line string"),
        ('[evm]\n"key_file" = "/old.key"\n', "would not be valid TOML"),
    ],
    ids=["no-evm", "dotted-key", "multi-line", "quoted-key"],
)
def test_a_layout_it_cannot_edit_safely_is_left_alone(
    tmp_path: Path, text: str, problem: str
) -> None:
    config = write(tmp_path, text)

    with pytest.raises(ConfigEditError, match=re.escape(problem)):
        switch_key_file(config, Path("/new.key"))

    assert config.read_text() == text
    assert not (tmp_path / "engine.toml.bak").exists()


def test_a_second_edit_keeps_the_first_backup_and_only_the_executor_line_changes(
    tmp_path: Path,
) -> None:
    from arbctl.wallet.config_edit import set_evm_string

    config = write(
        tmp_path, CONFIG.replace('"/etc/arbctl/old.key"', f'"{new_key(tmp_path, "a.key")}"')
    )
    first_text = config.read_text()
    first = switch_key_file(config, new_key(tmp_path, "b.key"))
    second_text = config.read_text()
    new_executor = "0x" + "ab" * 20

    second = set_evm_string(config, "executor", new_executor)

    assert first != second
    assert first.read_text() == first_text, "the rotation's backup survives the deploy"
    assert second.read_text() == second_text
    assert tomllib.loads(config.read_text())["evm"]["executor"] == new_executor
    changed = [
        new
        for old, new in zip(second_text.splitlines(), config.read_text().splitlines(), strict=True)
        if old != new
    ]
    assert changed == [f'executor = "{new_executor}"']
    with pytest.raises(ConfigEditError, match="not a key this tool edits"):
        set_evm_string(config, "chain_id", "1")
