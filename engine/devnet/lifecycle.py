"""Bring a whole devnet up or down in one call: toolchain, anvil, world, files.

A devnet is one state directory: anvil's handle and log, `world.json`, the engine config
and the operator key. `up` leaves nothing half-made: if deploying fails, the anvil it
started is stopped again. `down` is idempotent, so CI can call it unconditionally.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from engine.devnet import anvil, npm, operator_files
from engine.devnet import world as world_records
from engine.devnet.errors import DevnetError
from engine.devnet.npm import Progress
from engine.devnet.world import World


class AlreadyRunning(DevnetError):
    """A devnet already runs for this state directory; `world` describes it."""

    def __init__(self, handle: anvil.AnvilHandle, world: World | None) -> None:
        super().__init__(f"a devnet is already running on {handle.url} (pid {handle.pid})")
        self.handle = handle
        self.world = world


@dataclass(frozen=True, slots=True)
class Devnet:
    handle: anvil.AnvilHandle
    world: World
    state: Path


def up(state: Path, port: int | None = None, progress: Progress = npm.stderr_progress) -> Devnet:
    """Install if needed, start anvil, deploy, write config and key; all or nothing."""
    existing = anvil.read_handle(state)
    if existing is not None and anvil.is_running(existing):
        raise AlreadyRunning(existing, world_records.load(state))
    npm.ensure_installed(progress=progress)
    handle = anvil.start(state, port)
    anvil.write_handle(state, handle)
    progress(f"arbctl: anvil {handle.pid} answers on {handle.url}")
    try:
        from engine.devnet.deploy import deploy_world  # web3: only once we really deploy

        world = deploy_world(handle.url, state, progress)
        world_records.save(state, world)
    except BaseException:
        down(state)
        raise
    return Devnet(handle=handle, world=world, state=state)


def down(state: Path) -> bool:
    """Stop anvil and delete this devnet's files (not its log); False if nothing ran."""
    handle = anvil.read_handle(state)
    stopped = handle is not None and anvil.stop(handle)
    anvil.remove_handle(state)
    world_records.remove(state)
    for name in (operator_files.KEY_FILE, operator_files.CONFIG_FILE):
        (state / name).unlink(missing_ok=True)
    return stopped
