"""The V3 chain fixture: one anvil with the real contracts per test module (v3chain.py)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from engine.devnet import anvil, npm
from engine.devnet.chain import connect
from tests.market.v3.v3chain import Chain, build


@pytest.fixture(scope="module")
def chain(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Chain]:
    root = npm.ensure_installed(progress=lambda _line: None)
    handle = anvil.start(tmp_path_factory.mktemp("anvil-v3"))
    try:
        yield build(connect(handle.url), root)
    finally:
        anvil.stop(handle)
