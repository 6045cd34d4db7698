"""The documentation's commands are real: every `signoff …` line in a shell block of the README or
docs/ parses as the CLI parses it (the blocks that can run are run verbatim elsewhere: the README's
SDK example, the HTTP API's curl block)."""

from __future__ import annotations

import re
import shlex

import pytest

from signoff_app.cli import build_parser
from tests.conftest import ROOT

PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]


def _commands() -> list[tuple[str, str]]:
    found = []
    for page in PAGES:
        for block in re.findall(r"```(?:sh|console)\n(.*?)```", page.read_text(), flags=re.S):
            # A command inside $(…) counts too: `export SIGNOFF_AGENT_TOKEN=$(.venv/bin/signoff agents token …)`.
            found += [(page.name, inner) for inner in re.findall(r"\$\(((?:\.venv/bin/)?signoff [^)]*)\)", block)]
            for line in block.replace("\\\n", " ").splitlines():
                line = line.removeprefix("$ ").strip()
                words = shlex.split(line, comments=True) if line and "…" not in line else []
                while words and re.fullmatch(r"[A-Z_]+=.*", words[0]):  # VAR=value in front
                    words = words[1:]
                if words and words[0] in ("signoff", ".venv/bin/signoff"):
                    found.append((page.name, line))
    return found


COMMANDS = _commands()


def test_the_docs_show_signoff_commands() -> None:
    assert len(COMMANDS) >= 8  # the extraction finds them (the README, the API, hooks, MCP, stats...)


@pytest.mark.parametrize(("page", "line"), COMMANDS, ids=[f"{p}: {c[:60]}" for p, c in COMMANDS])
def test_each_signoff_command_in_the_docs_parses(page: str, line: str) -> None:
    words = shlex.split(line, comments=True)
    while re.fullmatch(r"[A-Z_]+=.*", words[0]):
        words = words[1:]
    line_args = [w for w in words[1:] if not w.startswith("$(")]
    try:
        build_parser().parse_args(line_args)
    except SystemExit as stopped:
        raise AssertionError(f"{page}: `{line}` is not a valid signoff command") from stopped
