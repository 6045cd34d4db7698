"""The agent frameworks are optional extras: the core install and `import signoff` do without them."""

from __future__ import annotations

import re
import subprocess
import sys
from importlib.metadata import PackageNotFoundError, requires

FRAMEWORKS = {"langchain", "langchain-core", "langgraph", "openai-agents", "openai", "pydantic-ai-slim", "mcp",
              "fastmcp"}


def _name(requirement: str) -> str:
    return re.split(r"[\s\[<>=!~;(]", requirement, maxsplit=1)[0].lower().replace("_", "-")


def _core_closure(dist: str, seen: set[str]) -> set[str]:
    """Everything `pip install <dist>` brings, read from the installed packages' own metadata."""
    try:
        wanted = requires(dist) or []
    except PackageNotFoundError:
        return seen
    for requirement in wanted:
        if "extra ==" in requirement:
            continue  # only an extra asks for it
        name = _name(requirement)
        if name not in seen:
            seen.add(name)
            _core_closure(name, seen)
    return seen


def test_pip_install_signoff_brings_no_agent_framework() -> None:
    closure = _core_closure("signoff", set())
    assert "slack-bolt" in closure and "rq" in closure  # the walk itself works
    assert closure.isdisjoint(FRAMEWORKS), closure & FRAMEWORKS


def test_import_signoff_imports_no_agent_framework() -> None:
    check = ("import sys, signoff, signoff.sdk, signoff.runs; "
             "print(sorted(m for m in sys.modules if m.split('.')[0] in "
             "{'langchain', 'langgraph', 'agents', 'pydantic_ai', 'mcp', 'fastmcp', 'openai'}))")
    out = subprocess.run([sys.executable, "-c", check], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
