"""`arbctl wallet new`: a 0600 key file, the address on stdout, the key nowhere else."""

from __future__ import annotations

import json
import re
import stat
import subprocess
import sys
from pathlib import Path

from eth_keys import keys

HEX64 = re.compile(r"(?i)(?:0x)?[0-9a-f]{64}")


def arbctl(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "arbctl", *args],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        env=env,
    )


def key_and_address(path: Path) -> tuple[str, str]:
    key = path.read_text().strip()
    private = keys.PrivateKey(bytes.fromhex(key.removeprefix("0x")))
    return key, private.public_key.to_checksum_address()


def assert_never_shown(key: str, result: subprocess.CompletedProcess[str]) -> None:
    shown = result.stdout + result.stderr
    assert key.removeprefix("0x").lower() not in shown.lower()
    assert not HEX64.search(shown)


def test_new_writes_a_0600_key_and_prints_only_its_address(tmp_path: Path) -> None:
    out = tmp_path / "hot.key"

    result = arbctl("wallet", "new", "--out", str(out))

    assert result.returncode == 0, result.stderr
    assert stat.S_IMODE(out.stat().st_mode) == 0o600
    key, address = key_and_address(out)
    assert result.stdout == address + "\n"
    assert str(out) in result.stderr
    assert_never_shown(key, result)


def test_new_json_names_the_address_and_the_file_in_the_state_dir(tmp_path: Path) -> None:
    env = {"PATH": "/usr/bin:/bin", "ARBCTL_STATE_DIR": str(tmp_path / "state")}

    result = arbctl("wallet", "new", "--json", env=env)

    assert result.returncode == 0, result.stdout
    document = json.loads(result.stdout)
    assert set(document) == {"address", "key_file"}
    path = Path(document["key_file"])
    assert path == tmp_path / "state" / "keys" / f"{document['address']}.key"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    key, address = key_and_address(path)
    assert address == document["address"]
    assert_never_shown(key, result)


def test_new_never_overwrites_a_key_file(tmp_path: Path) -> None:
    out = tmp_path / "hot.key"
    first = arbctl("wallet", "new", "--out", str(out))
    before = out.read_text()

    again = arbctl("wallet", "new", "--out", str(out), "--json")

    assert first.returncode == 0 and again.returncode == 1
    assert "refusing to overwrite" in json.loads(again.stdout)["error"]["message"]
    assert out.read_text() == before


def test_the_wallet_commands_load_no_chain_library_until_they_run() -> None:
    probe = (
        "import sys, arbctl.app; "
        "print(sorted({m.split('.')[0] for m in sys.modules} & {'web3', 'eth_account', "
        "'eth_keys', 'arbctl'}))"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "['arbctl']"
