"""Option values are checked without pydantic, with typer's usage errors (exit 2)."""

from __future__ import annotations

import pytest
from typer.models import OptionInfo
from typer.testing import CliRunner

from arbctl.cli import app
from arbctl.coercion import converter_for

NO_ENGINE = ["--socket", "/tmp/arbctl-no-such-engine.sock"]


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["events", "--limit", "0"], "0 is not in the range x>=1"),
        (["events", "--limit", "many"], "'many' is not an integer"),
        (["kill", "-r", "x", "--grace", "-1"], "-1 is not in the range x>=0"),
        (["pnl", "--period", "fortnight"], "'fortnight' is not one of 'today'"),
    ],
    ids=["below-min", "not-a-number", "negative-grace", "unknown-choice"],
)
def test_bad_option_values_are_usage_errors(argv: list[str], message: str) -> None:
    result = CliRunner().invoke(app, [*argv, *NO_ENGINE], terminal_width=200)
    assert result.exit_code == 2
    assert message in result.output


def test_good_values_reach_the_command_converted() -> None:
    result = CliRunner().invoke(app, ["pnl", "--period", "7d", "--json", *NO_ENGINE])
    assert result.exit_code == 3  # parsed fine; no engine to answer


def test_repeatable_options_collect_every_value() -> None:
    convert = converter_for(list[str], OptionInfo())
    assert convert is not None and convert(("state", "trade")) == ["state", "trade"]


def test_types_it_does_not_know_are_left_to_typer() -> None:
    assert converter_for(complex, OptionInfo()) is None
