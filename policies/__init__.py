"""Policy: which actions run, wait for a person, batch, run for later review, or escalate.

The policy language stands alone: it imports nothing of Signoff's, so it can be read, tested and
reused on its own (as OPA's engine is separate from what calls it).
"""

from policies.engine import Verdict, decide, explain, first_match
from policies.loader import load_policy, parse_policy
from policies.rules import Policy, Rule
from policies.subject import Subject
from policies.vocabulary import CATEGORIES, Mode, PolicyError

__all__ = ["CATEGORIES", "Mode", "Policy", "PolicyError", "Rule", "Subject", "Verdict", "decide", "explain",
           "first_match", "load_policy", "parse_policy"]
