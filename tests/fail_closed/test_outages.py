"""A Redis restart or outage: no click is lost silently, and every process carries on afterwards."""

from __future__ import annotations

import os
import signal
import subprocess
import sys

import redis

from signoff import Status, lifecycle
from signoff.embedded_redis import EmbeddedRedis
from signoff.runtime import Runtime
from signoff.store import action_key
from tests.actions import send_email, update_crm
from tests.conftest import ROOT, Bot
from tests.helpers import wait_status, wait_worker_idle, when_key_changes
from tests.slack_helpers import approval_message, ephemeral_to, updated_with

ALICE = "U0ALICE"


def test_a_click_during_an_outage_is_not_lost_and_everything_rides_out_the_restart(
        tmp_path, workers, sandbox, slack_env) -> None:
    server = EmbeddedRedis(tmp_path / "own-redis")
    env = {**slack_env, "REDIS_URL": server.ensure_running()}
    worker = workers.start(extra_env=env)
    scheduler = subprocess.Popen([sys.executable, "-m", "signoff_app.cli", "scheduler"], cwd=ROOT,
                                 env={**os.environ, **env}, stderr=subprocess.DEVNULL)
    bot = Bot(env, sandbox)
    try:
        rt = Runtime(connection=redis.Redis.from_url(env["REDIS_URL"]))
        action = lifecycle.request(rt, send_email.action_type, {"to": "sarah@client.com", "subject": "Q3",
                                                                "body": "b"}, agent="finance-bot", reason="r")
        message = approval_message(sandbox, action.id)

        server.stop()
        status, _ = sandbox.interactions.click(message, "signoff_approve", ALICE)
        assert status == 200  # answered within Slack's 3 seconds, and told the truth:
        assert "not recorded" in ephemeral_to(sandbox, ALICE, "not recorded").text
        assert not message.edited and message.blocks[-1]["block_id"] == "signoff_decision"

        server.ensure_running()  # the same data directory: the action is still there, still waiting
        rt = Runtime(connection=redis.Redis.from_url(env["REDIS_URL"]))
        assert rt.store.get(action.id).status == Status.PENDING_APPROVAL
        sandbox.interactions.click(message, "signoff_approve", ALICE)
        try:
            assert wait_status(rt, action.id, Status.SUCCEEDED).decided_by == f"slack:{ALICE}"
        except AssertionError as failed:  # what the bot said is what explains it
            raise AssertionError(f"{failed}\nbot log:\n{''.join(bot.log[-30:])}") from None
        updated_with(sandbox, message, "Approved* by <@U0ALICE>")
        assert worker.poll() is None and scheduler.poll() is None and bot.process.poll() is None
    finally:
        bot.stop()
        scheduler.terminate()
        scheduler.wait(timeout=15)
        server.stop()


def test_a_worker_asked_to_stop_stops_at_once_even_though_it_rides_out_outages(rt, workers) -> None:
    # Riding out an outage must not turn into ignoring a stop: an idle worker told to stop exits cleanly.
    worker = workers.start()
    action = lifecycle.request(rt, update_crm.action_type, {"record_id": "r1", "field": "f", "value": "v"},
                               agent="crm-bot", reason="r")
    wait_status(rt, action.id, Status.SUCCEEDED)
    wait_worker_idle(rt, worker.pid)  # RQ answers a stop while idle differently from one mid-job
    os.killpg(worker.pid, signal.SIGTERM)
    assert worker.wait(timeout=10) == 0


def test_a_click_on_a_message_whose_post_was_not_recorded_is_still_decided(rt, sandbox, bot, slack_worker) -> None:
    # Redis went away just after the post, so the action does not know its message; the click does.
    action = lifecycle.request(rt, send_email.action_type, {"to": "sarah@client.com", "subject": "Q3", "body": "b"},
                               agent="finance-bot", reason="r")
    message = approval_message(sandbox, action.id)
    when_key_changes(rt, action_key(action.id), lambda: rt.store.get(action.id).slack.get("ts"),
                     "the post is recorded")
    rt.store.annotate(action.id, slack={})
    sandbox.interactions.click(message, "signoff_approve", ALICE)
    assert wait_status(rt, action.id, Status.SUCCEEDED).decided_by == f"slack:{ALICE}"
    updated_with(sandbox, message, "Approved* by <@U0ALICE>")  # the clicked message shows the decision


def test_a_scheduler_stopped_while_it_is_still_connecting_stops_quietly() -> None:
    import socket

    # A Redis that accepts the connection and never answers: the scheduler is caught mid-start.
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen()
        env = {**os.environ, "REDIS_URL": f"redis://127.0.0.1:{silent.getsockname()[1]}/0"}
        scheduler = subprocess.Popen([sys.executable, "-m", "signoff_app.cli", "scheduler"], cwd=ROOT, env=env,
                                     stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                                     start_new_session=True)
        try:
            peer, _ = silent.accept()
            with peer:
                assert peer.recv(1024)  # its first command: it is waiting for Redis's answer now
                scheduler.send_signal(signal.SIGTERM)
                _, said = scheduler.communicate(timeout=30)
        finally:
            if scheduler.poll() is None:
                os.killpg(scheduler.pid, signal.SIGKILL)
    assert scheduler.returncode == 0 and "Traceback" not in said, said[-3000:]
