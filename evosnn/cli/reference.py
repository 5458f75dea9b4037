"""The CLI reference page, generated from the argparse parsers themselves.

``python -m evosnn.cli.reference docs/reference/cli.md`` rewrites the page; a test fails while the
committed page differs from :func:`render` (so a changed flag cannot leave the docs behind). Help
is formatted 100 columns wide whatever the terminal, so the page depends only on the parsers.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path

from evosnn.cli import build_parser

__all__ = ["render", "write_reference"]

WIDTH = 100

HEADER = """# CLI reference

Generated from the argparse parsers by `python -m evosnn.cli.reference docs/reference/cli.md`
(`make cli-docs`); `tests/cli/test_reference.py` fails while this page is stale. Every command
reports bad input as one line, `evosnn: error: ...`, with exit status 2; `-v` adds the traceback
of the error's cause. Devices: `--device cpu|cuda|cuda:N` on the commands that run a network,
`--gpus-per-worker` for Ray workers.
"""


def _fixed_width(prog: str) -> argparse.HelpFormatter:
    return argparse.HelpFormatter(prog, width=WIDTH)


def _walk(parser: argparse.ArgumentParser) -> Iterator[argparse.ArgumentParser]:
    """``parser`` and every sub-command parser below it, in declaration order."""
    yield parser
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for sub in dict.fromkeys(action.choices.values()):
                yield from _walk(sub)


def render() -> str:
    """The page: one section per command (its help text verbatim), groups before their members."""
    sections = [HEADER]
    for parser in _walk(build_parser()):
        parser.formatter_class = _fixed_width
        title = parser.prog
        sections.append(f"## `{title}`\n\n```text\n{parser.format_help().rstrip()}\n```\n")
    return "\n".join(sections)


def write_reference(argv: Sequence[str] | None = None) -> int:
    """Write the page to the path given (stdout without one)."""
    args = list(sys.argv[1:] if argv is None else argv)
    text = render()
    if args:
        Path(args[0]).write_text(text, encoding="utf-8")
    else:
        sys.stdout.write(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(write_reference())
