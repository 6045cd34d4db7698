"""Changing a policy file as a person would: new rules inserted as text, comments and layout kept."""

from __future__ import annotations

from typing import Any

import yaml

from policies.vocabulary import PolicyError


def _rule_line(text: str, rule_name: str) -> tuple[int, int] | None:
    """The line and column of the rule named `rule_name` in the file's `rules:` list."""
    root = yaml.compose(text, Loader=yaml.SafeLoader)
    if not isinstance(root, yaml.MappingNode):
        return None
    rules = next((v for k, v in root.value if k.value == "rules"), None)
    if not isinstance(rules, yaml.SequenceNode):
        return None
    for item in rules.value:
        if isinstance(item, yaml.MappingNode) and any(k.value == "name" and v.value == rule_name
                                                      for k, v in item.value):
            return item.start_mark.line, item.start_mark.column
    return None


def rule_text(rule: dict[str, Any], comment: list[str], indent: int) -> str:
    """A rule as a `rules:` list item at `indent` columns, its comment lines above it."""
    body = yaml.safe_dump(rule, sort_keys=False, allow_unicode=True, width=100).rstrip("\n").split("\n")
    pad = " " * indent
    lines = [f"{pad}# {line}" for line in comment]
    lines += [f"{pad}- {body[0]}", *(f"{pad}  {line}" for line in body[1:])]
    return "\n".join(lines) + "\n\n"


def insert_before(text: str, rule_name: str, rule: dict[str, Any], comment: list[str]) -> str:
    """The file with `rule` added just before the rule named `rule_name`, so it is tried first."""
    found = _rule_line(text, rule_name)
    if found is None:
        raise PolicyError(f"no rule named {rule_name!r} in the rules list")
    line, column = found
    lines = text.splitlines(keepends=True)
    start = line
    while start > 0 and lines[start - 1].strip().startswith("#"):  # above the rule's own comment
        start -= 1
    return "".join(lines[:start]) + rule_text(rule, comment, max(column - 2, 0)) + "".join(lines[start:])
