"""Install the devnet's third-party toolchain from npm into a per-user cache directory.

The registry is the only network the build machines reach, and third-party bytecode
must never be committed, so anvil (a prebuilt binary shipped in a platform-specific
optional dependency of `@foundry-rs/anvil`), the Uniswap V2 and V3 build artifacts, the
Balancer V2 and Aave V3 deployments' artifacts and solcjs are all installed here on first
use and read from here at run time (about 440 MB, most of it Aave's and anvil's).

Versions are pinned: the init code hash baked into Router02 and the compiler output our
artifact cache is keyed on both depend on exact package contents.
"""

from __future__ import annotations

import fcntl
import json
import os
import platform
import shutil
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from engine.devnet.errors import DevnetError
from engine.devnet.paths import npm_dir

PACKAGES: dict[str, str] = {
    "@foundry-rs/anvil": "1.7.1",
    "@uniswap/v2-core": "1.0.1",
    "@uniswap/v2-periphery": "1.1.0-beta.0",
    "@uniswap/v3-core": "1.0.1",
    "@uniswap/v3-periphery": "1.4.4",
    "@balancer-labs/v2-deployments": "3.2.0",
    "@aave/core-v3": "1.19.3",
    "solc": "0.8.37",
}

Progress = Callable[[str], None]

_ARCH = {"x86_64": "amd64", "amd64": "amd64", "aarch64": "arm64", "arm64": "arm64"}


class NpmError(DevnetError):
    """The toolchain cannot be installed or found; the message says what to do."""


def stderr_progress(line: str) -> None:
    """Default progress sink: stderr, so `--json` output on stdout stays parseable."""
    print(line, file=sys.stderr, flush=True)


def manifest() -> dict[str, object]:
    return {
        "name": "arbctl-devnet-toolchain",
        "private": True,
        "description": "Installed by arbctl (engine/devnet/npm.py); safe to delete.",
        "dependencies": dict(PACKAGES),
    }


def ensure_installed(root: Path | None = None, progress: Progress = stderr_progress) -> Path:
    """Install the pinned packages into `root` unless they are already there.

    Cheap when installed (a few stat calls), and safe when several test workers or CLI
    invocations race: the install runs under an exclusive lock on the directory.
    """
    root = root or npm_dir()
    if is_installed(root):
        return root
    root.mkdir(parents=True, exist_ok=True)
    with _locked(root / ".install.lock"):
        if not is_installed(root):  # another process may have finished meanwhile
            _install(root, progress)
    return root


def is_installed(root: Path) -> bool:
    """True when package.json matches the pins and every package is on disk at its version."""
    try:
        current = json.loads((root / "package.json").read_text())
    except (OSError, ValueError):
        return False
    if current.get("dependencies") != PACKAGES:
        return False
    if not all(_installed_version(root, name) == version for name, version in PACKAGES.items()):
        return False
    return _find_anvil(root) is not None


def anvil_binary(root: Path | None = None) -> Path:
    """The anvil executable: `$ARBCTL_ANVIL` if set, else the one the npm package installed.

    `@foundry-rs/anvil` is only a node launcher (`bin.mjs`); the binary itself lives in the
    optional dependency `@foundry-rs/anvil-<os>-<arch>/bin/anvil` (or, when a postinstall
    script fetched it, in `@foundry-rs/anvil/dist/anvil`). We run it directly: no node
    process in between, so signals reach anvil and its pid is the one we record.
    """
    override = os.environ.get("ARBCTL_ANVIL")
    if override:
        return Path(override)
    root = root or npm_dir()
    found = _find_anvil(root)
    if found is None:
        raise NpmError(
            f"anvil binary not found under {root}/node_modules/@foundry-rs; expected the "
            f"optional package {_platform_package()} — run `scripts/devnet-setup.sh` (or "
            "delete the directory and retry) and check npm is not configured to omit "
            "optional dependencies"
        )
    return found


def package_path(relative: str, root: Path | None = None) -> Path:
    """A file inside an installed package, e.g. `@uniswap/v2-core/build/UniswapV2Pair.json`."""
    return (root or npm_dir()) / "node_modules" / relative


def _platform_package() -> str:
    system = {"linux": "linux", "darwin": "darwin", "win32": "win32"}.get(sys.platform, "")
    arch = _ARCH.get(platform.machine().lower(), platform.machine().lower())
    return f"@foundry-rs/anvil-{system}-{arch}"


def _find_anvil(root: Path) -> Path | None:
    name = "anvil.exe" if sys.platform == "win32" else "anvil"
    scope = root / "node_modules" / "@foundry-rs"
    candidates = [
        root / "node_modules" / _platform_package() / "bin" / name,
        scope / "anvil" / "dist" / name,
    ]
    for candidate in candidates:
        if candidate.is_file() and os.access(candidate, os.X_OK):
            return candidate
    return None


def _installed_version(root: Path, name: str) -> str | None:
    try:
        meta = json.loads(package_path(f"{name}/package.json", root).read_text())
    except (OSError, ValueError):
        return None
    return meta.get("version")


def _install(root: Path, progress: Progress) -> None:
    npm = _require_tools()
    (root / "package.json").write_text(json.dumps(manifest(), indent=2) + "\n")
    names = ", ".join(f"{name}@{version}" for name, version in PACKAGES.items())
    progress(f"arbctl: installing {names} into {root} (first use, ~440 MB)…")
    started = time.monotonic()
    # --ignore-scripts: anvil's postinstall would fetch a binary from GitHub, which these
    # machines cannot reach and which the optional platform package already provides.
    command = [npm, "install", "--no-audit", "--no-fund", "--ignore-scripts", "--include=optional"]
    _run_streaming(command, root, progress)
    if not is_installed(root):
        raise NpmError(
            f"npm install finished but the packages in {root} are incomplete "
            f"(anvil binary {_platform_package()} missing?)"
        )
    progress(f"arbctl: devnet toolchain installed in {time.monotonic() - started:.1f} s")


def _require_tools() -> str:
    node, npm = shutil.which("node"), shutil.which("npm")
    if node is None or npm is None:
        missing = " and ".join(tool for tool, path in (("node", node), ("npm", npm)) if not path)
        raise NpmError(
            f"{missing} not found on PATH: the devnet installs anvil, the Uniswap V2 contracts "
            "and solc from npm. Install Node.js 18 or newer (which ships npm), e.g. "
            "`apt-get install nodejs npm`, then retry."
        )
    return npm


def _run_streaming(command: list[str], cwd: Path, progress: Progress) -> None:
    """Run npm, relaying each output line so a slow first install is visibly alive."""
    with subprocess.Popen(
        command,
        cwd=cwd,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
        text=True,
    ) as process:
        assert process.stdout is not None
        tail: list[str] = []
        for line in process.stdout:
            line = line.rstrip()
            if line:
                progress(f"  npm: {line}")
                tail = [*tail[-19:], line]
        code = process.wait()
    if code != 0:
        detail = "\n".join(tail)
        raise NpmError(f"`{' '.join(command)}` failed with exit code {code} in {cwd}:\n{detail}")


@contextmanager
def _locked(path: Path) -> Iterator[None]:
    with path.open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
