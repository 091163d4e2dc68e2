"""The migration runner: ordered, recorded, and refusing what it does not know."""

from __future__ import annotations

import pytest

from engine.ledger import migrations
from engine.ledger.migrations import Migration, MigrationError

STEPS = [Migration(1, "initial", ""), Migration(2, "more", ""), Migration(3, "even_more", "")]


@pytest.mark.parametrize("backend", ["sqlite", "postgres"])
def test_each_backend_ships_migrations_numbered_from_one(backend: migrations.Backend) -> None:
    found = migrations.load(backend)
    assert [m.version for m in found] == list(range(1, len(found) + 1))


def test_both_backends_are_at_the_same_schema_version() -> None:
    assert len(migrations.load("sqlite")) == len(migrations.load("postgres"))


def test_pending_lists_the_missing_versions_in_order() -> None:
    assert [m.version for m in migrations.pending(STEPS, {1})] == [2, 3]


def test_nothing_is_pending_on_an_up_to_date_database() -> None:
    assert migrations.pending(STEPS, {1, 2, 3}) == []


def test_a_version_this_release_does_not_know_is_refused() -> None:
    with pytest.raises(MigrationError, match="newer release"):
        migrations.pending(STEPS, {1, 2, 3, 4})


class RecordingTarget:
    def __init__(self, applied: set[int]) -> None:
        self.applied = set(applied)
        self.ran: list[int] = []

    async def applied_versions(self) -> set[int]:
        return set(self.applied)

    async def apply(self, migration: Migration, applied_at: float) -> None:
        self.ran.append(migration.version)
        self.applied.add(migration.version)


async def test_migrate_applies_only_what_is_missing_in_order() -> None:
    target = RecordingTarget({1})
    assert await migrations.migrate(target, STEPS) == 2
    assert target.ran == [2, 3]


async def test_migrating_twice_applies_nothing_the_second_time() -> None:
    target = RecordingTarget(set())
    await migrations.migrate(target, STEPS)
    assert await migrations.migrate(target, STEPS) == 0
