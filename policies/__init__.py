"""Policy: which actions run, wait for a person, batch, run for later review, or escalate."""

from policies.engine import Subject, explain, first_match
from policies.loader import load_policy, parse_policy
from policies.rules import Policy, Rule

__all__ = ["Policy", "Rule", "Subject", "explain", "first_match", "load_policy", "parse_policy"]
