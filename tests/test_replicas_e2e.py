"""Three replicas of `sre-bot run`, as a Deployment of three runs them: one fake Slack sharing the app's
envelopes over their connections (each to one, in turn, as Slack does), their state in DynamoDB and S3
(moto), nothing on a shared disk. Every question is answered once, a follow-up landing on another
replica knows the thread, a redelivered event changes nothing wherever it lands, and a double click whose
two clicks reach two replicas runs the change once."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from slackbot.approvals.cards import APPROVE_ACTION
from tests.conftest import PROJECT_ROOT
from tests.fakes.fake_cluster import FakeKubeAPI
from tests.fakes.openai_api import FakeOpenAI
from tests.fakes.slack_api import APP_TOKEN, BOT_TOKEN, BOT_USER, FakeSlack, Message
from tests.replica_processes import replica_processes
from tests.state_backends import new_shared_state

REPLICAS = 3
WEB_PATH = "/apis/apps/v1/namespaces/default/deployments/web"


def poll(condition: Callable[[], object], what: str, within: float = 90) -> None:
    deadline = time.monotonic() + within
    while not condition():
        assert time.monotonic() < deadline, f"not within {within}s: {what}"
        time.sleep(0.05)


@dataclass
class Replicas:
    slack: FakeSlack
    model: FakeOpenAI
    procs: list[subprocess.Popen[bytes]]
    table: str


@contextlib.contextmanager
def running_replicas(tmp_path: Path, hold: dict[str, threading.Event] | None = None) -> Iterator[Replicas]:
    """REPLICAS `sre-bot run` processes on one fake Slack and model, the state in the (already
    configured) shared table and bucket; stopped (SIGTERM, then SIGKILL) at the end."""
    table, bucket = new_shared_state()
    with FakeSlack(spread=True) as slack, FakeOpenAI(chunk_size=8, hold=hold) as model:
        env = {
            **os.environ,
            "SLACK_BOT_TOKEN": BOT_TOKEN,
            "SLACK_APP_TOKEN": APP_TOKEN,
            "SLACK_API_URL": slack.api_url,
            "OPENAI_BASE_URL": model.base_url,
            "STATE_BACKEND": "aws",
            "STATE_TABLE": table,
            "SESSION_BUCKET": bucket,
            "REPLICA_COUNT": str(REPLICAS),
            "HEALTH_PORT": "0",
            "EKS_MCP_ALLOW_WRITE": "true",
            "APPROVER_USER_IDS": "U2",
            "MODEL_MAX_WAIT_SECONDS": "300",  # a held answer is not given up on
            "PYTHONPATH": str(PROJECT_ROOT),
        }
        with replica_processes(env, tmp_path, REPLICAS, slack, within=90) as procs:
            try:
                yield Replicas(slack, model, procs, table)
            finally:
                for event in (hold or {}).values():  # a held answer must not keep a replica from stopping
                    event.set()


@pytest.fixture
def shared_state(agent_env: Path, monkeypatch: pytest.MonkeyPatch, state_moto_url: str) -> None:
    """The shared state on its own moto (per-service endpoints); the agents' AWS stays where agent_env put it."""
    monkeypatch.setenv("AWS_ENDPOINT_URL_DYNAMODB", state_moto_url)
    monkeypatch.setenv("AWS_ENDPOINT_URL_S3", state_moto_url)


def answers(slack: FakeSlack, channel: str, thread_ts: str) -> list[Message]:
    """The bot's finished replies in a thread."""
    return [
        m
        for m in slack.thread(channel, thread_ts)
        if m.user == BOT_USER and not m.streaming and "Working on it" not in m.final_text
    ]


def ask(
    slack: FakeSlack, text: str, channel: str, thread_ts: str | None = None
) -> tuple[dict[str, Any], str]:
    event = slack.mention(text, channel=channel, thread_ts=thread_ts)
    envelope = slack.send_event(event, event_id=f"Ev-{event['ts']}")
    slack.wait_ack(envelope)
    return event, envelope


def coordinator_requests(model: FakeOpenAI, marker: str) -> list[str]:
    """The coordinator's model requests (as JSON text) whose last user message has `marker`."""
    found = []
    for body in list(model.requests):
        users = [
            m
            for m in body.get("messages", [])
            if m.get("role") == "user" and isinstance(m.get("content"), str | list)
        ]
        last = json.dumps(users[-1]) if users else ""
        tools = json.dumps(body.get("tools", []))
        if marker in last and "eks_assistant" in tools:
            found.append(json.dumps(body))
    return found


def test_three_replicas_answer_once_share_memory_ignore_redelivery_and_run_a_double_click_once(
    shared_state: None, tmp_path: Path, kube: FakeKubeAPI
) -> None:
    with running_replicas(tmp_path) as replicas:
        check_answers_memory_redelivery_and_clicks(replicas.slack, replicas.model, kube)


def check_answers_memory_redelivery_and_clicks(
    slack: FakeSlack, model: FakeOpenAI, kube: FakeKubeAPI
) -> None:
    channels = [f"C{i}" for i in range(1, 7)]
    firsts = [ask(slack, f"list the pods in default, ref{i}", c) for i, c in enumerate(channels)]
    for event, _ in firsts:
        poll(lambda e=event: answers(slack, e["channel"], e["ts"]), f"an answer in {event['channel']}")
    assert len({slack.envelopes[env]["connection"] for _, env in firsts}) == REPLICAS  # all three answered

    ask(slack, "hello", "C9")  # shifts the turn: each follow-up lands on another replica than its question
    follow_ups = [
        ask(slack, f"list the pods in default, follow-up {i}", e["channel"], e["ts"])
        for i, (e, _) in enumerate(firsts)
    ]
    for (first, first_env), (_, env) in zip(firsts, follow_ups, strict=True):
        assert slack.envelopes[env]["connection"] != slack.envelopes[first_env]["connection"]
        poll(
            lambda e=first: len(answers(slack, e["channel"], e["ts"])) == 2,
            f"the follow-up in {first['channel']}",
        )
    for i in range(len(channels)):
        [request] = coordinator_requests(model, f"follow-up {i}")[:1]
        assert f"ref{i}" in request  # the thread's first question, read back from S3 by another replica

    # Slack redelivers the first question of C1 (its ack was lost): it lands on the next replica
    first, _ = firsts[0]
    slack.wait_ack(
        slack.send_event(first, event_id=f"Ev-{first['ts']}", retry_attempt=1, retry_reason="timeout")
    )
    proof, _ = ask(slack, "hello", "C8")  # answered after the redelivery had its chance
    poll(lambda: answers(slack, "C8", proof["ts"]), "the later question answered")
    assert len(answers(slack, first["channel"], first["ts"])) == 2  # still the question and its follow-up

    # a change, and two clicks on its card reaching two replicas
    change, _ = ask(slack, "delete deployment web", "C1")
    poll(
        lambda: [
            m for m in slack.thread("C1", change["ts"]) if any(b.get("type") == "actions" for b in m.blocks)
        ],
        "the card",
    )
    [card] = [
        m for m in slack.thread("C1", change["ts"]) if any(b.get("type") == "actions" for b in m.blocks)
    ]
    actions = next(b for b in card.blocks if b.get("type") == "actions")
    approval = next(e["value"] for e in actions["elements"] if e["action_id"] == APPROVE_ACTION)
    clicks = [
        slack.send_block_action(APPROVE_ACTION, approval, user_id="U2", channel_id="C1", message_ts=card.ts)
        for _ in range(2)
    ]
    for envelope in clicks:
        slack.wait_ack(envelope)
    assert slack.envelopes[clicks[0]]["connection"] != slack.envelopes[clicks[1]]["connection"]
    poll(
        lambda: any("Successfully deleted" in m.final_text for m in answers(slack, "C1", change["ts"])),
        "the change ran",
    )
    proof, _ = ask(slack, "hello", "C7")
    poll(lambda: answers(slack, "C7", proof["ts"]), "a later question answered")
    assert [(m["method"], m["path"]) for m in kube.mutations()] == [("DELETE", WEB_PATH)]  # once
    assert sum("Successfully deleted" in m.final_text for m in answers(slack, "C1", change["ts"])) == 1


def test_a_replica_killed_mid_answer_leaves_no_reply_growing_and_its_thread_answers_again(
    shared_state: None, tmp_path: Path
) -> None:
    """kill -9 of the replica writing an answer: a survivor stops its stream and says to ask again (the
    dead replica's heartbeat lapses), and the next question in that thread is answered (its lease lapses)."""
    from agents.state.aws.replies import DynamoOpenReplies
    from agents.state.aws.table import Table
    from slackbot.recovery import STOPPED

    released = threading.Event()
    with running_replicas(tmp_path, hold={"coordinator:held answer": released}) as replicas:
        slack = replicas.slack
        event, _ = ask(slack, "list the pods in default, held answer", "C1")
        record = DynamoOpenReplies(Table(replicas.table))
        poll(lambda: record.all() and slack.calls_of("chat.appendStream"), "the answer half written")
        [entry] = record.all()
        victim = next(p for p in replicas.procs if f":{p.pid}:" in entry.owner)
        victim.send_signal(signal.SIGKILL)
        victim.wait(30)
        released.set()
        [reply] = [m for m in slack.thread("C1", event["ts"]) if m.user == BOT_USER]
        assert reply.streaming  # left growing by the dead replica
        poll(
            lambda: (
                not slack.messages[("C1", reply.ts)].streaming
                and any(STOPPED in m.text for m in slack.thread("C1", event["ts"]))
            ),
            "a survivor ended the dead replica's reply",
            within=120,
        )
        assert record.all() == []
        [note] = [m for m in slack.thread("C1", event["ts"]) if STOPPED in m.text]
        ask(slack, "list the pods in default", "C1", event["ts"])

        def answered_again() -> bool:
            later = [m for m in answers(slack, "C1", event["ts"]) if float(m.ts) > float(note.ts)]
            return any("crashy-7f9c" in m.final_text for m in later)

        poll(answered_again, "the thread answered again", within=150)
        assert len([m for m in slack.thread("C1", event["ts"]) if STOPPED in m.text]) == 1  # ended once
