"""Reads a policy file, naming the line of whatever is wrong in it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from policies.rules import Policy
from policies.vocabulary import PolicyError

BUILTIN_DIR = Path(__file__).parent


def resolve(name_or_path: str) -> Path:
    """'default' and 'approve_all' name the policies shipped here; anything else is a path."""
    builtin = BUILTIN_DIR / f"{name_or_path}.yml"
    if "/" not in name_or_path and builtin.exists():
        return builtin
    return Path(name_or_path)


def load_policy(name_or_path: str) -> Policy:
    path = resolve(name_or_path)
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise PolicyError(f"{path}: cannot read policy file ({exc.strerror})") from None
    try:
        if b"\0" in raw:
            raise UnicodeDecodeError("utf-8", raw, raw.index(b"\0"), raw.index(b"\0") + 1, "NUL byte")
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise PolicyError(f"{path}: not a policy file (binary, or not UTF-8 text at byte {exc.start})") from None
    return parse_policy(text, str(path))


def parse_policy(text: str, source: str = "<policy>") -> Policy:
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f":{mark.line + 1}" if mark else ""
        raise PolicyError(f"{source}{where}: not valid YAML: {getattr(exc, 'problem', exc)}") from None
    if not isinstance(data, dict):
        raise PolicyError(f"{source}:1: a policy is a mapping with a 'rules' list")
    try:
        return Policy.model_validate(data)
    except ValidationError as exc:
        lines = []
        for err in exc.errors():
            line = _line_of(root, err["loc"])
            path = ".".join(str(p) for p in err["loc"]) or "policy"
            lines.append(f"{source}:{line}: {path}: {err['msg'].removeprefix('Value error, ')}")
        raise PolicyError("\n".join(lines)) from None


def _line_of(node: Any, loc: tuple[Any, ...]) -> int:
    """The line of the deepest YAML node on the error's path (1-based)."""
    line = node.start_mark.line + 1 if node is not None else 1
    for part in loc:
        child = None
        if isinstance(node, yaml.MappingNode):
            child = next((v for k, v in node.value if k.value == part), None)
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int) and part < len(node.value):
            child = node.value[part]
        if child is None:
            break
        node, line = child, child.start_mark.line + 1
    return line
