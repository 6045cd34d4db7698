"""Everything a process needs to work on actions, built once from one Redis connection."""

from __future__ import annotations

from functools import cached_property

import redis
import structlog
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from rq import Queue
from rq.serializers import JSONSerializer

from policies.loader import load_policy
from policies.rules import Policy
from policies.signals import Signals
from signoff.catalog import Catalog
from signoff.config import Settings, get_settings
from signoff.connection import connect
from signoff.logging import configure_logging
from signoff.signing import MissingDecisionKey, MissingVerifyKey, decision_key, verify_key
from signoff.store import ActionStore

#: Routing and running actions. Slack calls go on their own queue so a slow Slack never delays a run.
ACTIONS_QUEUE = "signoff"
SLACK_QUEUE = "signoff-slack"
QUEUES = (ACTIONS_QUEUE, SLACK_QUEUE)
#: Job payloads are JSON, never pickle: a payload written by anyone with Redis access runs no code when loaded.
JOB_SERIALIZER = JSONSerializer


class Runtime:
    def __init__(self, connection: redis.Redis | None = None, settings: Settings | None = None) -> None:
        self.settings = settings or get_settings()
        if not structlog.is_configured():  # an application's own structlog set-up is left alone
            configure_logging(self.settings.log_format, self.settings.log_level, self.settings.library_log_level)
        self.connection = connection if connection is not None else connect()

    @cached_property
    def store(self) -> ActionStore:
        return ActionStore(self.connection)

    @cached_property
    def catalog(self) -> Catalog:
        return Catalog(self.connection)

    @cached_property
    def signals(self) -> Signals:
        return Signals(self.connection)

    @cached_property
    def policy(self) -> Policy:
        return load_policy(self.settings.policy)

    @cached_property
    def actions_queue(self) -> Queue:
        return Queue(ACTIONS_QUEUE, connection=self.connection, serializer=JOB_SERIALIZER)

    @cached_property
    def slack_queue(self) -> Queue:
        return Queue(SLACK_QUEUE, connection=self.connection, serializer=JOB_SERIALIZER)

    @cached_property
    def decision_key(self) -> bytes | None:
        return decision_key(self.settings)

    def require_decision_key(self) -> bytes:
        """The key that signs decisions; without it a process may neither decide nor run (fail closed)."""
        if self.decision_key is None:
            raise MissingDecisionKey()
        return self.decision_key

    @cached_property
    def verify_key(self) -> Ed25519PublicKey | None:
        return verify_key(self.settings, self.decision_key)

    def require_verify_key(self) -> Ed25519PublicKey:
        """The public key that checks run permits; without it nothing may run here (fail closed)."""
        if self.verify_key is None:
            raise MissingVerifyKey()
        return self.verify_key

    @property
    def slack_enabled(self) -> bool:
        return self.settings.slack_bot_token is not None
