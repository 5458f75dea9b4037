"""The committed CLI reference is what the parsers say today."""

from __future__ import annotations

from pathlib import Path

from evosnn.cli import COMMANDS
from evosnn.cli.reference import render

PAGE = Path(__file__).resolve().parents[2] / "docs" / "reference" / "cli.md"


def test_the_committed_cli_reference_is_current() -> None:
    assert PAGE.read_text(encoding="utf-8") == render(), (
        "docs/reference/cli.md is stale: run `make cli-docs` and commit it"
    )


def test_every_command_and_flag_is_on_the_page() -> None:
    page = render()
    for command in COMMANDS:
        assert f"## `evosnn {command.name}`" in page
    assert "--gpus-per-worker" in page and "--space SPACE" in page
