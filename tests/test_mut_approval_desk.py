"""The approval desk, driven directly: each check of a click in order, what is audited, counted, shown, resumed.

Written for mutation testing (tests/MUTATION.md). tests/test_approvals_slack.py shows approvals end to end
(real Bolt, fake Slack, agents, the real EKS server: seconds per test); here `ApprovalDesk` runs in
milliseconds with a real `SqliteApprovalStore` in tmp_path, a real `RateBudget` on a `FakeClock`, a fake
Slack client that records every call, a fake `Conversations` that records every resume, and a fake
`time.time` for the desk (expiry and recovery boundaries to the second). The store's own claims read the
real time: the approvals here expire in 2033 unless a test says otherwise.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from slack_sdk.errors import SlackApiError

from agents.events import ApprovalRequired
from agents.fleet import Fleet
from agents.metrics import REGISTRY
from agents.settings import Settings
from agents.state.approvals import (
    APPROVED,
    DENIED,
    EXECUTED,
    EXECUTING,
    EXPIRED,
    FAILED,
    PENDING,
    Approval,
    SqliteApprovalStore,
)
from slackbot.approvals import desk as approval_desk
from slackbot.approvals.approvers import Approvers
from slackbot.approvals.cards import (
    APPROVE_ACTION,
    DENY_ACTION,
    call_markdown,
    card_text,
    decided_card,
    pending_card,
)
from slackbot.approvals.desk import CUT_OFF, STALE, UNRECORDED, ApprovalDesk, register
from slackbot.config import ApproverSettings
from slackbot.conversations import Question
from slackbot.fleet import SlackClusterConfig
from slackbot.formatting import SAFE_TEXT, clip, split_markdown, to_mrkdwn
from slackbot.rate_budget import RateBudget
from slackbot.replies import ReplyTarget, StepView, markdown_blocks
from tests.fakes.audit import Audit
from tests.fakes.slack_api import FakeClock

NOW = 2_000_000_000.0  # the desk's time (2033): later than the real time the store's claims read
TTL = 900
DAY = 24 * 3600.0
HASH = "f" * 64
DELETE = {"operation": "delete", "kind": "Deployment", "api_version": "apps/v1", "name": "web"}
LOGGER = "slackbot.approvals.desk"
OUTCOMES = ("approved", "denied", "expired", "executed", "failed")
NOT_KNOWN = "This approval is not known to me; nothing was changed."
NOT_APPROVER = (
    "Only configured approvers can decide on changes (APPROVER_USER_IDS / APPROVER_USERGROUP). "
    "Nothing was changed."
)
SELF = "You asked for this change, so another approver must decide (REQUIRE_SEPARATE_APPROVER). Nothing was changed."
EXPIRED_TEXT = "This request expired before anyone decided; nothing was changed."


# --- fakes ------------------------------------------------------------------------------------------------


class DeskTime:
    """What the desk reads as `time.time()`."""

    def __init__(self) -> None:
        self.t = NOW

    def time(self) -> float:
        return self.t


def slack_error(error: str) -> SlackApiError:
    return SlackApiError("failed", SimpleNamespace(data={"ok": False, "error": error}, status_code=200))


class Slack:
    """An AsyncWebClient that records each call as (method, arguments); `fail` makes a method raise."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, dict[str, Any]]] = []
        self.fail: dict[str, SlackApiError] = {}
        self.group: Any = []
        self._ts = itertools.count(100)

    def _call(self, method: str, arguments: dict[str, Any]) -> None:
        self.calls.append((method, arguments))
        if method in self.fail:
            raise self.fail[method]

    async def chat_postMessage(self, **arguments: Any) -> dict[str, Any]:
        self._call("chat.postMessage", arguments)
        return {"ok": True, "ts": f"{next(self._ts)}.000"}

    async def chat_update(self, **arguments: Any) -> dict[str, Any]:
        self._call("chat.update", arguments)
        return {"ok": True}

    async def chat_postEphemeral(self, **arguments: Any) -> dict[str, Any]:
        self._call("chat.postEphemeral", arguments)
        return {"ok": True}

    async def usergroups_users_list(self, **arguments: Any) -> dict[str, Any]:
        self._call("usergroups.users.list", arguments)
        return {"ok": True, "users": self.group}

    def methods(self) -> list[str]:
        return [method for method, _ in self.calls]

    def told(self) -> list[dict[str, Any]]:
        return [arguments for method, arguments in self.calls if method == "chat.postEphemeral"]

    def updates(self) -> list[dict[str, Any]]:
        return [arguments for method, arguments in self.calls if method == "chat.update"]


class Runner:
    def __init__(self) -> None:
        self.paused: dict[str, set[str]] = {}
        self.asked: list[str] = []
        self.broken: set[str] = set()

    async def paused_on(self, conversation_id: str) -> set[str]:
        self.asked.append(conversation_id)
        if conversation_id in self.broken:
            raise ValueError("corrupt session file")
        return set(self.paused.get(conversation_id, set()))


@dataclass
class Resumed:
    question: Question
    responses: dict[str, Any]
    after: Any


class Conversations:
    def __init__(self) -> None:
        self.runner = Runner()
        self.resumed: list[Resumed] = []
        self.busy: set[str] = set()  # threads another replica is answering (their lease is held)
        self.held: list[str] = []  # the threads recovery held, in order

    async def paused_on(self, conversation_id: str) -> set[str]:
        return await self.runner.paused_on(conversation_id)

    @contextlib.asynccontextmanager
    async def exclusive(self, conversation_id: str) -> AsyncIterator[bool]:
        free = conversation_id not in self.busy
        if free:
            self.held.append(conversation_id)
        yield free

    def resume(self, question: Question, responses: dict[str, Any], after: Any = None) -> None:
        self.resumed.append(Resumed(question, responses, after))


@dataclass
class World:
    desk: ApprovalDesk
    store: SqliteApprovalStore
    slack: Slack
    budget: RateBudget
    clock: FakeClock
    conversations: Conversations
    audit: Audit
    time: DeskTime
    metrics: dict[str, float] = field(default_factory=dict)

    def counted(self) -> dict[str, float]:
        """Increments of sre_bot_approvals_total since the world was made, by outcome (non-zero only)."""
        now = counts()
        return {o: now[o] - self.metrics[o] for o in OUTCOMES if now[o] != self.metrics[o]}

    def granted(self) -> dict[str, float]:
        return {method: n for method, n in self.budget.granted.items() if n}


def counts() -> dict[str, float]:
    return {o: REGISTRY.get_sample_value("sre_bot_approvals_total", {"outcome": o}) or 0.0 for o in OUTCOMES}


def settings(**overrides: Any) -> tuple[Settings, ApproverSettings]:
    """The agents' settings and Slack's approver settings, each from its own part of `overrides`."""
    values: dict[str, Any] = {"approver_user_ids": "U2,U3", "approval_ttl_seconds": TTL, **overrides}
    own = {k: v for k, v in values.items() if k in ApproverSettings.model_fields}
    rest = {k: v for k, v in values.items() if k not in own}
    return Settings(_env_file=None, **rest), ApproverSettings(_env_file=None, **own)  # type: ignore[call-arg]


@pytest.fixture
def desk_time(monkeypatch: pytest.MonkeyPatch) -> DeskTime:
    fake = DeskTime()
    monkeypatch.setattr(approval_desk, "time", fake)
    return fake


@pytest.fixture
def make(tmp_path: Path, desk_time: DeskTime) -> Any:
    def build(store: Any = None, fleet: Any = None, **overrides: Any) -> World:
        real = SqliteApprovalStore(tmp_path / "approvals.sqlite3")
        slack, clock, conversations, audit = Slack(), FakeClock(), Conversations(), Audit()
        budget = RateBudget(clock=clock)
        agents, approvers = settings(**overrides)
        desk = ApprovalDesk(
            agents,
            store if store is not None else real,
            slack,  # type: ignore[arg-type]
            budget,
            conversations,  # type: ignore[arg-type]
            audit,
            Approvers(approvers, slack, budget, fleet),  # type: ignore[arg-type]
        )
        return World(desk, real, slack, budget, clock, conversations, audit, desk_time, counts())

    return build


@pytest.fixture
def w(make: Any) -> World:
    return make()


def add(
    world: World,
    approval_id: str = "ap1",
    *,
    turn: str = "turn1",
    conversation: str = "C1:1.0",
    requester: str = "U1",
    channel: str = "C1",
    created: float = NOW - 10,
    expires: float = NOW + TTL,
    card_ts: str = "50.000",
    extra: dict[str, Any] | None = None,
    tool: str = "manage_k8s_resource",
) -> Approval:
    approval = Approval(
        id=approval_id,
        turn_id=turn,
        conversation_id=conversation,
        interrupt_id=f"int-{approval_id}",
        tool=tool,
        arguments=dict(DELETE),
        call_hash=HASH,
        summary="Delete Deployment web (apps/v1) in namespace default",
        requester=requester,
        place={"channel": channel, "thread_ts": "1.0"},
        created_at=created,
        expires_at=expires,
        agent="eks_assistant",
        extra={"tool_use_id": f"tu-{approval_id}", "team_id": "T1"} if extra is None else extra,
    )
    world.store.add(approval)
    if card_ts:
        world.store.set_card(approval_id, card_ts)
    return approval


def status(world: World, approval_id: str = "ap1") -> str:
    approval = world.store.get(approval_id)
    assert approval is not None
    return approval.status


def body(user: str | None = "U2", channel: str | None = "C1") -> dict[str, Any]:
    found: dict[str, Any] = {}
    if user is not None:
        found["user"] = {"id": user}
    if channel is not None:
        found["channel"] = {"id": channel}
    return found


async def click(
    world: World,
    value: Any = "ap1",
    user: str | None = "U2",
    channel: str | None = "C1",
    action: str = APPROVE_ACTION,
    payload: dict[str, Any] | None = None,
) -> None:
    acks: list[int] = []

    async def ack() -> None:
        acks.append(world.desk.deciding)

    given: dict[str, Any] = {"action_id": action}
    if value is not None:
        given["value"] = value
    await world.desk.on_action(ack, body(user, channel) if payload is None else payload, given)
    assert acks == [1]  # acknowledged first, counted as being decided
    assert world.desk.deciding == 0


def context_line(blocks: list[dict[str, Any]]) -> str:
    return " ".join(e["text"] for b in blocks if b["type"] == "context" for e in b["elements"])


def approved_response(approval_id: str = "ap1", by: str = "U2") -> dict[str, Any]:
    return {
        "approval_id": approval_id,
        "tool": "manage_k8s_resource",
        "tool_use_id": f"tu-{approval_id}",
        "approved": True,
        "hash": HASH,
        "by": by,
    }


# --- wiring -----------------------------------------------------------------------------------------------


def test_the_desk_starts_with_nothing_being_decided(w: World) -> None:
    assert w.desk.deciding == 0


def test_both_buttons_are_handled_by_the_desk(w: World) -> None:
    handlers: list[tuple[str, Any]] = []

    class App:
        def action(self, action_id: str) -> Any:
            return lambda handler: handlers.append((action_id, handler))

    register(App(), w.desk)
    assert handlers == [(APPROVE_ACTION, w.desk.on_action), (DENY_ACTION, w.desk.on_action)]


# --- cards ------------------------------------------------------------------------------------------------


def paused(*pending: ApprovalRequired) -> tuple[Question, Any]:
    question = Question(
        text="delete deployment web",
        target=ReplyTarget("C1", "1.0", "U1", "T1"),
        conversation_id="C1:1.0",
        user_id="U1",
    )
    return question, SimpleNamespace(approvals=list(pending), steps={})


def required(n: int = 1, arguments: dict[str, Any] | None = None) -> ApprovalRequired:
    return ApprovalRequired(
        interrupt_id=f"int-{n}",
        agent="eks_assistant",
        tool="manage_k8s_resource",
        arguments=dict(DELETE) if arguments is None else arguments,
        call_hash=f"{n}" * 64,
        summary=f"Delete Deployment web{n}",
        tool_use_id=f"tu-{n}",
    )


async def test_a_paused_answer_gets_one_stored_approval_an_audit_record_and_a_card_per_call(w: World) -> None:
    question, renderer = paused(required(1), required(2))
    await w.desk.post_cards(question, renderer, "turn9")
    stored = w.store.turn("turn9")
    assert len(stored) == 2
    for n, approval in enumerate(stored, start=1):
        assert len(approval.id) == 24  # new_approval_id(): unguessable
        assert approval == Approval(
            id=approval.id,
            turn_id="turn9",
            conversation_id="C1:1.0",
            interrupt_id=f"int-{n}",
            tool="manage_k8s_resource",
            arguments=DELETE,
            call_hash=f"{n}" * 64,
            summary=f"Delete Deployment web{n}",
            requester="U1",
            place={"channel": "C1", "thread_ts": "1.0"},
            created_at=NOW,
            expires_at=NOW + TTL,
            status=PENDING,
            card=f"{99 + n}.000",
            agent="eks_assistant",
            extra={"tool_use_id": f"tu-{n}", "team_id": "T1"},
        )
    assert stored[0].id != stored[1].id
    assert w.audit.records == [
        {
            "event": "approval_requested",
            "approval_id": a.id,
            "tool": "manage_k8s_resource",
            "cluster": None,
            "arguments": DELETE,
            "summary": a.summary,
            "requester": "U1",
            "conversation_id": "C1:1.0",
            "call_hash": a.call_hash,
        }
        for a in stored
    ]
    for a in stored:  # the cards were posted before their ts was known
        a.card = ""
    assert w.slack.calls == [
        (
            "chat.postMessage",
            {"channel": "C1", "thread_ts": "1.0", "text": card_text(a), "blocks": pending_card(a)},
        )
        for a in stored
    ]
    assert w.slack.calls[0][1]["text"] == "Approval needed: Delete Deployment web1"
    assert w.granted() == {"chat.postMessage": 2}
    assert w.counted() == {}


async def test_a_card_waits_for_the_budget_of_its_own_channel(w: World) -> None:
    w.budget.penalize("chat.postMessage", 30.0, channel="C1")  # Slack said 429 for C1 only
    await w.desk.post_cards(*paused(required()), "turn9")
    assert w.clock.sleeps == [30.0]
    assert w.slack.methods() == ["chat.postMessage"]


async def test_a_call_too_long_for_its_card_is_posted_in_full_just_above_it(w: World) -> None:
    big = {"operation": "create", "kind": "ConfigMap", "body": {"data": {"k": "v" * 14000}}}
    w.budget.penalize("chat.postMessage", 30.0, channel="C1")
    await w.desk.post_cards(*paused(required(1, big)), "turn9")
    [approval] = w.store.turn("turn9")
    full = f"*Exact call for approval* (hash `{'1' * 12}`, secrets redacted):\n{call_markdown(approval)}"
    parts = split_markdown(full)
    assert len(parts) == 3  # one long line, cut in pieces
    approval.card = ""
    assert w.slack.calls == [
        *(
            (
                "chat.postMessage",
                {
                    "channel": "C1",
                    "thread_ts": "1.0",
                    "text": clip(to_mrkdwn(part), SAFE_TEXT),
                    "blocks": markdown_blocks(part),
                },
            )
            for part in parts
        ),
        (
            "chat.postMessage",
            {
                "channel": "C1",
                "thread_ts": "1.0",
                "text": card_text(approval),
                "blocks": pending_card(approval),
            },
        ),
    ]
    # the parts and the card spend C1's budget: Retry-After, then the burst the 429 halved (5 → 2)
    assert w.clock.sleeps == [30.0, 1.0, 1.0]
    assert w.granted() == {"chat.postMessage": 4}
    assert status(w, approval.id) == PENDING and w.store.get(approval.id).card == "103.000"  # type: ignore[union-attr]


async def test_refreshing_a_card_shows_the_approval_as_it_is_now(w: World) -> None:
    add(w)
    await w.desk.refresh_card("ap1")
    pending = w.store.get("ap1")
    assert pending is not None
    assert w.slack.calls == [
        (
            "chat.update",
            {"channel": "C1", "ts": "50.000", "text": card_text(pending), "blocks": pending_card(pending)},
        )
    ]
    assert w.store.claim("ap1", DENIED, "U3", now=NOW)
    await w.desk.refresh_card("ap1")
    denied = w.store.get("ap1")
    assert denied is not None
    assert w.slack.calls[1] == (
        "chat.update",
        {"channel": "C1", "ts": "50.000", "text": card_text(denied), "blocks": decided_card(denied)},
    )
    assert "Denied by <@U3>" in context_line(w.slack.calls[1][1]["blocks"])
    assert w.granted() == {"chat.update": 2}


async def test_no_card_no_update(w: World) -> None:
    add(w, card_ts="")
    await w.desk.refresh_card("ap1")
    await w.desk.refresh_card("nonexistent")
    assert w.slack.calls == []
    assert w.granted() == {}


async def test_a_card_that_cannot_be_updated_is_logged_and_nothing_else_fails(
    w: World, caplog: pytest.LogCaptureFixture
) -> None:
    add(w)
    w.slack.fail["chat.update"] = slack_error("message_not_found")
    with caplog.at_level(logging.WARNING, logger=LOGGER):
        await w.desk.refresh_card("ap1")
    assert caplog.record_tuples == [
        (LOGGER, logging.WARNING, "could not update approval card ap1: message_not_found")
    ]
    assert w.granted() == {"chat.update": 1}


# --- clicks: each check in order --------------------------------------------------------------------------


@pytest.mark.parametrize("value", ["forged", "", None])
async def test_a_click_naming_no_approval_is_refused_and_audited(w: World, value: Any) -> None:
    add(w)
    await click(w, value, user="U2")
    assert w.audit.records == [
        {"event": "approval_rejected", "reason": "unknown_approval", "user": "U2", "value": value}
    ]
    assert w.slack.calls == [("chat.postEphemeral", {"channel": "C1", "user": "U2", "text": NOT_KNOWN})]
    assert w.granted() == {"chat.postEphemeral": 1}
    assert status(w) == PENDING
    assert w.conversations.resumed == []


async def test_a_click_in_another_channel_than_the_card_is_refused_as_unknown(w: World) -> None:
    add(w)
    await click(w, user="U2", channel="C9")
    assert w.audit.records == [
        {"event": "approval_rejected", "reason": "unknown_approval", "user": "U2", "value": "ap1"}
    ]
    assert w.slack.calls == [("chat.postEphemeral", {"channel": "C9", "user": "U2", "text": NOT_KNOWN})]
    assert status(w) == PENDING


async def test_the_channel_of_a_click_may_come_from_its_container(w: World) -> None:
    add(w)
    await click(w, payload={"user": {"id": "U2"}, "container": {"channel_id": "C1"}, "channel": {}})
    assert status(w) == APPROVED


async def test_a_click_without_user_or_channel_is_refused_as_unknown(w: World) -> None:
    add(w)
    await click(w, payload={})
    assert w.audit.records == [
        {"event": "approval_rejected", "reason": "unknown_approval", "user": "", "value": "ap1"}
    ]
    assert w.slack.calls == [("chat.postEphemeral", {"channel": "", "user": "", "text": NOT_KNOWN})]
    await click(w, payload={"user": None, "channel": None, "container": None})
    assert w.slack.told()[1] == {"channel": "", "user": "", "text": NOT_KNOWN}


@pytest.mark.parametrize(
    ("decided", "by", "said"),
    [
        (APPROVED, "U3", "This request was already approved by <@U3>; nothing more was done."),
        (DENIED, "U3", "This request was already denied by <@U3>; nothing more was done."),
        (EXPIRED, "system", "This request was already expired; nothing more was done."),
        (APPROVED, "", "This request was already approved; nothing more was done."),
    ],
)
async def test_a_second_click_is_told_who_decided_and_changes_nothing(
    w: World, decided: str, by: str, said: str
) -> None:
    add(w)
    assert w.store.claim("ap1", decided, by, now=NOW + TTL if decided == EXPIRED else NOW)
    before = w.store.get("ap1")
    await click(w, user="U2")
    assert w.slack.calls == [("chat.postEphemeral", {"channel": "C1", "user": "U2", "text": said})]
    assert w.audit.records == []
    assert w.store.get("ap1") == before
    assert w.conversations.resumed == []
    assert w.counted() == {}


async def test_a_click_at_the_expiry_second_expires_the_approval_and_resumes_the_answer(w: World) -> None:
    add(w)
    w.time.t = NOW + TTL  # exactly when it expires
    await click(w, user="U2")
    expired = w.store.get("ap1")
    assert expired is not None
    assert (expired.status, expired.decided_by, expired.decided_at) == (EXPIRED, "system", NOW + TTL)
    assert w.counted() == {"expired": 1}
    assert w.audit.records == [
        {
            "event": "approval_decision",
            "approval_id": "ap1",
            "decision": "expired",
            "by": "system",
            "tool": "manage_k8s_resource",
            "cluster": None,
        }
    ]
    assert w.slack.methods() == ["chat.update", "chat.postEphemeral"]
    assert w.slack.updates()[0]["blocks"] == decided_card(expired)
    assert context_line(w.slack.updates()[0]["blocks"]) == (
        ":hourglass: Expired before anyone decided; nothing was changed."
    )
    assert w.slack.told() == [{"channel": "C1", "user": "U2", "text": EXPIRED_TEXT}]
    [resumed] = w.conversations.resumed
    assert resumed.responses == {
        "int-ap1": {
            "approval_id": "ap1",
            "tool": "manage_k8s_resource",
            "tool_use_id": "tu-ap1",
            "approved": False,
            "reason": "expired",
            "by": "system",
        }
    }


async def test_a_click_a_second_before_expiry_still_decides(w: World) -> None:
    add(w)
    w.time.t = NOW + TTL - 1
    await click(w, user="U2")
    assert status(w) == APPROVED


async def test_an_expiry_the_desk_records_is_stamped_with_the_desks_time(w: World) -> None:
    approval = add(w)
    w.time.t = NOW + TTL + 5  # a click a few seconds after the expiry
    await w.desk.expire(approval)
    assert w.store.get("ap1").decided_at == NOW + TTL + 5  # type: ignore[union-attr]


async def test_expiring_early_records_the_expiry_time_and_a_second_expiry_does_nothing(w: World) -> None:
    approval = add(w)
    await w.desk.expire(approval)  # the desk's clock is before the expiry: the expiry time is recorded
    expired = w.store.get("ap1")
    assert expired is not None and (expired.status, expired.decided_at) == (EXPIRED, NOW + TTL)
    await w.desk.expire(approval)
    assert w.counted() == {"expired": 1}
    assert len(w.audit.records) == 1 and len(w.conversations.resumed) == 1
    assert w.slack.methods() == ["chat.update"]


async def test_someone_who_is_no_approver_is_refused_and_audited(w: World) -> None:
    add(w)
    await click(w, user="U9")
    assert w.audit.records == [
        {"event": "approval_rejected", "reason": "not_an_approver", "user": "U9", "approval_id": "ap1"}
    ]
    assert w.slack.calls == [("chat.postEphemeral", {"channel": "C1", "user": "U9", "text": NOT_APPROVER})]
    assert status(w) == PENDING
    assert w.counted() == {}
    assert w.conversations.resumed == []


async def test_an_unreadable_approver_group_refuses_the_click_with_the_reason(make: Any) -> None:
    w = make(approver_user_ids="", approver_usergroup="S123")
    add(w)
    w.slack.fail["usergroups.users.list"] = slack_error("not_allowed_token_type")
    await click(w, user="U9")
    assert w.audit.records == [
        {"event": "approval_rejected", "reason": "group_unreadable", "user": "U9", "approval_id": "ap1"}
    ]
    assert w.slack.told() == [
        {
            "channel": "C1",
            "user": "U9",
            "text": "I could not read the approver group S123 (Slack said `not_allowed_token_type`; the app "
            "needs the usergroups:read scope and APPROVER_USERGROUP must be the group's id). "
            "Nothing was changed.",
        }
    ]
    assert status(w) == PENDING


async def test_a_group_member_may_decide(make: Any) -> None:
    w = make(approver_user_ids="", approver_usergroup="S123")
    add(w)
    w.slack.group = ["U9"]
    await click(w, user="U9")
    assert w.store.get("ap1").decided_by == "U9"  # type: ignore[union-attr]


async def test_with_separate_approvers_required_the_requester_cannot_approve(make: Any) -> None:
    w = make(require_separate_approver=True)
    add(w, requester="U2")
    await click(w, user="U2")
    assert w.audit.records == [
        {"event": "approval_rejected", "reason": "self_approval", "user": "U2", "approval_id": "ap1"}
    ]
    assert w.slack.calls == [("chat.postEphemeral", {"channel": "C1", "user": "U2", "text": SELF})]
    assert status(w) == PENDING
    await click(w, user="U3")  # another approver may
    assert status(w) == APPROVED


def prod_led() -> Fleet[SlackClusterConfig]:
    """staging decided by the settings' approvers; prod by its own, ULEAD alone."""
    return Fleet[SlackClusterConfig](
        default="staging",
        clusters={
            "staging": SlackClusterConfig(kubeconfig_context="ctx-staging", writes=True),
            "prod": SlackClusterConfig(kubeconfig_context="ctx-prod", writes=True, approvers=("ULEAD",)),
        },
    )


def on(cluster: str) -> dict[str, Any]:
    return {"tool_use_id": "tu-ap1", "team_id": "T1", "cluster": cluster}


async def test_a_clusters_own_approvers_alone_decide_its_changes(make: Any) -> None:
    """A settings-wide approver's click on a prod card is refused and nothing runs; ULEAD's runs it once."""
    w = make(fleet=prod_led())
    add(w, extra=on("prod"))
    await click(w, user="U2")  # in APPROVER_USER_IDS, not among prod's approvers
    assert w.audit.records == [
        {"event": "approval_rejected", "reason": "not_a_cluster_approver", "user": "U2", "approval_id": "ap1"}
    ]
    assert w.slack.told() == [
        {
            "channel": "C1",
            "user": "U2",
            "text": "Only the approvers of cluster prod (<@ULEAD>) can decide on its changes "
            "(clusters.prod.approvers in CLUSTERS_FILE). Nothing was changed.",
        }
    ]
    assert status(w) == PENDING and w.conversations.resumed == []
    await click(w, user="ULEAD")
    assert status(w) == APPROVED and len(w.conversations.resumed) == 1
    await click(w, user="ULEAD")  # decided: a second click runs nothing more
    assert len(w.conversations.resumed) == 1


async def test_a_cluster_without_its_own_approvers_is_decided_by_the_settings_approvers(make: Any) -> None:
    w = make(fleet=prod_led())
    add(w, extra=on("staging"))
    await click(w, user="ULEAD")  # prod's approver is nobody's approver on staging
    assert [r["reason"] for r in w.audit.records] == ["not_an_approver"]
    await click(w, user="U2")
    assert status(w) == APPROVED
    [decision] = [r for r in w.audit.records if r["event"] == "approval_decision"]
    assert decision["cluster"] == "staging"  # the audit names the cluster a decision was about


async def test_a_clusters_own_approver_is_still_not_the_requester_when_separate_approvers_are_required(
    make: Any,
) -> None:
    w = make(fleet=prod_led(), require_separate_approver=True)
    add(w, extra=on("prod"), requester="ULEAD")
    await click(w, user="ULEAD")
    assert [r["reason"] for r in w.audit.records] == ["self_approval"]
    assert status(w) == PENDING


async def test_a_change_for_a_cluster_the_fleet_no_longer_has_cannot_be_approved(make: Any) -> None:
    w = make(fleet=prod_led())
    add(w, extra=on("qa"))
    await click(w, user="U2")
    assert [r["reason"] for r in w.audit.records] == ["unknown_cluster"]
    assert status(w) == PENDING and w.conversations.resumed == []


async def test_without_separate_approvers_required_the_requester_may_approve(w: World) -> None:
    add(w, requester="U2")
    await click(w, user="U2")
    assert status(w) == APPROVED


async def test_an_approval_is_claimed_counted_audited_shown_and_resumes_the_answer(w: World) -> None:
    add(w)
    await click(w, user="U2")
    approved = w.store.get("ap1")
    assert approved is not None
    assert (approved.status, approved.decided_by) == (APPROVED, "U2")
    assert approved.decided_at > 0
    assert w.counted() == {"approved": 1}
    assert w.audit.records == [
        {
            "event": "approval_decision",
            "approval_id": "ap1",
            "decision": "approved",
            "by": "U2",
            "tool": "manage_k8s_resource",
            "cluster": None,
            "call_hash": HASH,
            "conversation_id": "C1:1.0",
        }
    ]
    assert w.slack.calls == [
        (
            "chat.update",
            {"channel": "C1", "ts": "50.000", "text": card_text(approved), "blocks": decided_card(approved)},
        )
    ]
    assert context_line(w.slack.updates()[0]["blocks"]).startswith(
        ":hourglass_flowing_sand: Approved by <@U2>"
    )
    assert w.granted() == {"chat.update": 1}
    [resumed] = w.conversations.resumed
    assert resumed.responses == {"int-ap1": approved_response()}
    assert resumed.question == Question(
        text="",
        target=ReplyTarget("C1", "1.0", "U1", "T1"),
        conversation_id="C1:1.0",
        user_id="U1",
        received=resumed.question.received,
    )
    assert resumed.after is not None


async def test_a_denial_is_claimed_counted_audited_and_resumes_the_answer_as_denied(w: World) -> None:
    add(w)
    await click(w, user="U3", action=DENY_ACTION)
    denied = w.store.get("ap1")
    assert denied is not None and (denied.status, denied.decided_by) == (DENIED, "U3")
    assert w.counted() == {"denied": 1}
    assert w.audit.records == [
        {
            "event": "approval_decision",
            "approval_id": "ap1",
            "decision": "denied",
            "by": "U3",
            "tool": "manage_k8s_resource",
            "cluster": None,
            "call_hash": HASH,
            "conversation_id": "C1:1.0",
        }
    ]
    assert "Denied by <@U3>" in context_line(w.slack.updates()[0]["blocks"])
    [resumed] = w.conversations.resumed
    assert resumed.responses == {
        "int-ap1": {
            "approval_id": "ap1",
            "tool": "manage_k8s_resource",
            "tool_use_id": "tu-ap1",
            "approved": False,
            "reason": "denied",
            "by": "U3",
        }
    }


class RacingStore:
    """The real store, where someone else's claim lands (or the row vanishes) just before the desk's."""

    def __init__(self, store: SqliteApprovalStore, rival: str | None) -> None:
        self.store, self.rival = store, rival

    def __getattr__(self, name: str) -> Any:
        return getattr(self.store, name)

    def claim(self, approval_id: str, status: str, by: str, now: float | None = None) -> bool:
        if self.rival is None:
            self.store._db.execute("DELETE FROM approvals WHERE id = ?", (approval_id,))
        else:
            assert self.store.claim(approval_id, DENIED, self.rival)
        return self.store.claim(approval_id, status, by, now)


@pytest.mark.parametrize(("rival", "said"), [("U3", "denied"), (None, "gone")])
async def test_a_click_that_loses_the_race_is_told_and_changes_nothing(
    make: Any, tmp_path: Path, rival: str | None, said: str
) -> None:
    w = make(store=RacingStore(SqliteApprovalStore(tmp_path / "approvals.sqlite3"), rival))
    add(w)
    await click(w, user="U2")
    assert w.slack.calls == [
        (
            "chat.postEphemeral",
            {
                "channel": "C1",
                "user": "U2",
                "text": f"Someone else decided first ({said}); nothing more was done.",
            },
        )
    ]
    assert w.audit.records == []
    assert w.counted() == {}
    assert w.conversations.resumed == []


async def test_a_refusal_that_cannot_be_shown_is_dropped_quietly(w: World) -> None:
    w.slack.fail["chat.postEphemeral"] = slack_error("channel_not_found")
    await click(w, "forged", user="U2")
    assert w.slack.methods() == ["chat.postEphemeral"]


async def test_deciding_counts_the_clicks_acknowledged_and_not_yet_decided(w: World) -> None:
    add(w)
    add(w, "ap2", turn="turn2")
    release = asyncio.Event()
    seen: list[int] = []

    async def slow_ack() -> None:
        seen.append(w.desk.deciding)
        await release.wait()

    async def ack() -> None:
        seen.append(w.desk.deciding)

    first = asyncio.create_task(
        w.desk.on_action(slow_ack, body(), {"action_id": APPROVE_ACTION, "value": "ap1"})
    )
    await asyncio.sleep(0)
    await w.desk.on_action(ack, body(), {"action_id": APPROVE_ACTION, "value": "ap2"})
    assert seen == [1, 2]
    assert w.desk.deciding == 1
    release.set()
    await first
    assert w.desk.deciding == 0
    assert (status(w, "ap1"), status(w, "ap2")) == (APPROVED, APPROVED)


async def test_a_click_that_fails_is_no_longer_counted_as_being_decided(w: World) -> None:
    async def ack() -> None:
        raise RuntimeError("socket closed")

    with pytest.raises(RuntimeError):
        await w.desk.on_action(ack, body(), {"action_id": APPROVE_ACTION, "value": "ap1"})
    assert w.desk.deciding == 0
    assert w.slack.calls == []


# --- resume -----------------------------------------------------------------------------------------------


async def test_a_turn_resumes_only_when_its_last_approval_is_decided_and_only_once(w: World) -> None:
    add(w, "ap1", created=NOW - 10)
    add(w, "ap2", created=NOW - 5, extra={})
    await click(w, "ap1", user="U2")
    assert w.conversations.resumed == []  # ap2 still pending
    await click(w, "ap2", user="U3", action=DENY_ACTION)
    [resumed] = w.conversations.resumed
    assert resumed.responses == {
        "int-ap1": approved_response(),
        "int-ap2": {
            "approval_id": "ap2",
            "tool": "manage_k8s_resource",
            "tool_use_id": "",
            "approved": False,
            "reason": "denied",
            "by": "U3",
        },
    }
    assert list(resumed.responses) == ["int-ap1", "int-ap2"]
    await w.desk._resume_if_decided("turn1")  # a late second trigger (the sweeper, a second click)
    assert len(w.conversations.resumed) == 1


async def test_an_unknown_turn_is_not_resumed(w: World) -> None:
    await w.desk._resume_if_decided("nothing")
    assert w.conversations.resumed == []


async def test_the_resumed_answer_goes_to_the_first_approvals_thread_without_a_team(w: World) -> None:
    add(w, "ap1", extra={}, requester="U7")
    add(w, "ap2", created=NOW - 5, channel="C2", requester="U8")
    assert w.store.claim("ap1", APPROVED, "U2", now=NOW)
    assert w.store.claim("ap2", APPROVED, "U2", now=NOW)
    await w.desk._resume_if_decided("turn1")
    [resumed] = w.conversations.resumed
    assert resumed.question.target == ReplyTarget("C1", "1.0", "U7", None)
    assert (resumed.question.text, resumed.question.user_id) == ("", "U7")
    assert resumed.responses["int-ap1"]["tool_use_id"] == ""


@pytest.mark.parametrize(
    ("state", "detail", "response"),
    [
        (EXECUTING, "", {"approved": True, "hash": HASH, "by": "U2"}),
        (EXECUTED, "", {"approved": True, "hash": HASH, "by": "U2"}),
        (FAILED, "pods are forbidden", {"approved": True, "hash": HASH, "by": "U2"}),
        (
            FAILED,
            CUT_OFF,
            {"approved": False, "reason": "not_run", "message": f"Not run: {CUT_OFF}. Tell the user."},
        ),
        (
            FAILED,
            UNRECORDED,
            {"approved": False, "reason": "not_run", "message": f"Not run: {UNRECORDED}. Tell the user."},
        ),
        (
            FAILED,
            STALE,
            {"approved": False, "reason": "not_run", "message": f"Not run: {STALE}. Tell the user."},
        ),
    ],
)
async def test_what_the_gate_is_told_for_each_state_of_an_approved_call(
    w: World, state: str, detail: str, response: dict[str, Any]
) -> None:
    add(w)
    assert w.store.claim("ap1", APPROVED, "U2", now=NOW)
    if state != EXECUTING:
        assert w.store.finish("ap1", state, detail)
    else:
        assert w.store.start_execution("ap1", HASH)
    await w.desk._resume_if_decided("turn1")
    [resumed] = w.conversations.resumed
    assert resumed.responses == {
        "int-ap1": {"approval_id": "ap1", "tool": "manage_k8s_resource", "tool_use_id": "tu-ap1", **response}
    }


async def outcomes(w: World, steps: dict[str, StepView]) -> None:
    [resumed] = w.conversations.resumed
    await resumed.after(SimpleNamespace(steps=steps, approvals=[]))


async def test_after_the_resumed_answer_each_approved_call_is_recorded_once_with_its_outcome(
    w: World,
) -> None:
    for n in range(1, 5):
        add(w, f"ap{n}", created=NOW - 10 + n, card_ts=f"5{n}.000")
    add(w, "ap5", created=NOW - 1, card_ts="55.000")
    for n in range(1, 5):
        assert w.store.claim(f"ap{n}", APPROVED, "U2", now=NOW)
    assert w.store.start_execution("ap2", HASH)  # the gate claimed it
    assert w.store.claim("ap5", DENIED, "U3", now=NOW)
    await w.desk._resume_if_decided("turn1")
    w.store._db.execute("DELETE FROM approvals WHERE id = 'ap4'")  # gone meanwhile
    steps = {
        "tu-ap1": StepView("tu-ap1", "Deleting", "complete", "done"),
        "tu-ap2": StepView("tu-ap2", "Deleting", "error", "forbidden: no RBAC"),
    }
    await outcomes(w, steps)
    assert [(status(w, f"ap{n}"), w.store.get(f"ap{n}").detail) for n in (1, 2, 3, 5)] == [  # type: ignore[union-attr]
        (EXECUTED, ""),
        (FAILED, "forbidden: no RBAC"),
        (FAILED, "the call did not run"),
        (DENIED, ""),
    ]
    assert w.counted() == {"executed": 1, "failed": 2}
    assert w.audit.records == [
        {
            "event": "execution_result",
            "approval_id": "ap1",
            "tool": "manage_k8s_resource",
            "cluster": None,
            "outcome": "executed",
            "detail": "",
        },
        {
            "event": "execution_result",
            "approval_id": "ap2",
            "tool": "manage_k8s_resource",
            "cluster": None,
            "outcome": "failed",
            "detail": "forbidden: no RBAC",
        },
        {
            "event": "execution_result",
            "approval_id": "ap3",
            "tool": "manage_k8s_resource",
            "cluster": None,
            "outcome": "failed",
            "detail": "the call did not run",
        },
    ]
    assert [u["ts"] for u in w.slack.updates()] == ["51.000", "52.000", "53.000"]
    lines = [context_line(u["blocks"]) for u in w.slack.updates()]
    assert lines[0].startswith(":white_check_mark: Approved by <@U2>") and lines[0].endswith("; executed.")
    assert lines[1].endswith("; failed: forbidden: no RBAC")
    assert lines[2].endswith("; failed: the call did not run")
    await outcomes(w, steps)  # a second run records nothing again
    assert w.counted() == {"executed": 1, "failed": 2}
    assert len(w.audit.records) == 3 and len(w.slack.updates()) == 3


# --- the sweeper ------------------------------------------------------------------------------------------


async def test_the_sweep_expires_what_is_overdue_shows_it_and_resumes_each_finished_turn(w: World) -> None:
    add(w, "ap1", turn="turn1", expires=1000.0)  # long overdue in real time
    add(w, "ap2", turn="turn2", expires=1000.0, created=NOW - 5)
    add(w, "ap3", turn="turn2", created=NOW - 1)  # still open: turn2 waits for it
    await w.desk.sweep_once()
    assert (status(w, "ap1"), status(w, "ap2"), status(w, "ap3")) == (EXPIRED, EXPIRED, PENDING)
    assert w.counted() == {"expired": 2}
    assert w.audit.records == [
        {
            "event": "approval_decision",
            "approval_id": f"ap{n}",
            "decision": "expired",
            "by": "system",
            "tool": "manage_k8s_resource",
            "cluster": None,
        }
        for n in (1, 2)
    ]
    assert [context_line(u["blocks"]) for u in w.slack.updates()] == [
        ":hourglass: Expired before anyone decided; nothing was changed."
    ] * 2
    assert [r.question.conversation_id for r in w.conversations.resumed] == ["C1:1.0"]
    assert w.conversations.resumed[0].responses["int-ap1"]["reason"] == "expired"


async def test_the_sweeper_sweeps_every_fifteen_seconds(w: World, monkeypatch: pytest.MonkeyPatch) -> None:
    slept: list[float] = []

    class Stop(Exception):
        pass

    async def sleep(seconds: float) -> None:
        slept.append(seconds)
        if len(slept) == 2:
            raise Stop
        add(w, "ap2", turn="turn2", expires=1000.0)  # overdue by the next sweep

    add(w, "ap1", expires=1000.0)
    monkeypatch.setattr(approval_desk.asyncio, "sleep", sleep)
    with pytest.raises(Stop):
        await w.desk.sweep()
    assert slept == [15.0, 15.0]
    assert (status(w, "ap1"), status(w, "ap2")) == (EXPIRED, EXPIRED)


# --- restart recovery -------------------------------------------------------------------------------------


async def test_recovery_resumes_a_paused_turn_with_the_approved_call_still_to_run(
    w: World, caplog: pytest.LogCaptureFixture
) -> None:
    add(w)
    assert w.store.claim("ap1", APPROVED, "U2", now=NOW - TTL)  # exactly the TTL ago: still fresh
    w.conversations.runner.paused["C1:1.0"] = {"int-ap1"}
    with caplog.at_level(logging.INFO, logger=LOGGER):
        await w.desk.recover()
    assert w.conversations.runner.asked == ["C1:1.0"]
    assert status(w) == APPROVED
    assert w.audit.records == [] and w.slack.calls == [] and w.counted() == {}
    [resumed] = w.conversations.resumed
    assert resumed.responses == {"int-ap1": approved_response()}
    assert caplog.record_tuples == [(LOGGER, logging.INFO, "resuming turn turn1 left paused by a restart")]


@pytest.mark.parametrize(
    ("running", "paused", "decided", "detail"),
    [
        (True, {"int-ap1"}, NOW - 60, CUT_OFF),
        (True, set(), NOW - 60, UNRECORDED),
        (False, {"int-ap1"}, NOW - TTL - 1, STALE),
        (True, {"int-ap1"}, NOW - TTL - 1, CUT_OFF),
    ],
)
async def test_recovery_marks_a_call_it_must_not_run_as_failed_and_says_why(
    w: World, running: bool, paused: set[str], decided: float, detail: str
) -> None:
    add(w, created=decided - 10)
    assert w.store.claim("ap1", APPROVED, "U2", now=decided)
    if running:
        assert w.store.start_execution("ap1", HASH)
    w.conversations.runner.paused["C1:1.0"] = paused
    await w.desk.recover()
    failed = w.store.get("ap1")
    assert failed is not None and (failed.status, failed.detail) == (FAILED, detail)
    assert w.counted() == {"failed": 1}
    assert w.audit.records == [
        {
            "event": "execution_result",
            "approval_id": "ap1",
            "tool": "manage_k8s_resource",
            "cluster": None,
            "outcome": "not_run",
            "detail": detail,
        }
    ]
    [update] = w.slack.updates()
    assert update["blocks"] == decided_card(failed)
    if paused:
        [resumed] = w.conversations.resumed
        assert resumed.responses["int-ap1"] == {
            "approval_id": "ap1",
            "tool": "manage_k8s_resource",
            "tool_use_id": "tu-ap1",
            "approved": False,
            "reason": "not_run",
            "message": f"Not run: {detail}. Tell the user.",
        }
    else:
        assert w.conversations.resumed == []  # nothing waits for it


async def test_recovery_leaves_a_turn_alone_while_another_replica_answers_in_its_thread(
    w: World, caplog: pytest.LogCaptureFixture
) -> None:
    """A replica starting while another runs an approved change (STATE_BACKEND=aws): the change looks cut
    off (executing, the thread paused in memory) but is running; recovery must not mark it not run."""
    add(w)
    assert w.store.claim("ap1", APPROVED, "U2", now=NOW - 60)
    assert w.store.start_execution("ap1", HASH)
    w.conversations.runner.paused["C1:1.0"] = {"int-ap1"}
    w.conversations.busy.add("C1:1.0")
    with caplog.at_level(logging.INFO, logger=LOGGER):
        await w.desk.recover()
    assert status(w) == EXECUTING and w.audit.records == [] and w.slack.calls == []
    assert w.conversations.resumed == [] and w.conversations.runner.asked == []
    assert caplog.record_tuples == [
        (LOGGER, logging.INFO, "turn turn1: its thread is busy on another replica; not recovered here")
    ]
    w.conversations.busy.clear()  # that replica died: its lease lapsed
    await w.desk.recover()
    assert status(w) == FAILED and w.conversations.held == ["C1:1.0"]


async def test_recovery_looks_back_one_day(w: World) -> None:
    add(w, "ap1", turn="turn1", created=NOW - DAY - 10)
    add(w, "ap2", turn="turn2", created=NOW - DAY - 10, conversation="C1:2.0")
    assert w.store.claim("ap1", DENIED, "U2", now=NOW - DAY)
    assert w.store.claim("ap2", DENIED, "U2", now=NOW - DAY - 1)
    w.conversations.runner.paused = {"C1:1.0": {"int-ap1"}, "C1:2.0": {"int-ap2"}}
    await w.desk.recover()
    assert w.conversations.runner.asked == ["C1:1.0"]
    assert [r.question.conversation_id for r in w.conversations.resumed] == ["C1:1.0"]


async def test_recovery_looks_at_each_turn_once_and_leaves_undecided_turns_alone(w: World) -> None:
    add(w, "ap1", turn="turn1")
    add(w, "ap2", turn="turn1", created=NOW - 5)
    add(w, "ap3", turn="turn2", conversation="C1:2.0")
    add(w, "ap4", turn="turn2", conversation="C1:2.0", created=NOW - 5)
    for approval_id in ("ap1", "ap2", "ap3"):
        assert w.store.claim(approval_id, DENIED, "U2", now=NOW - 60)
    w.conversations.runner.paused = {"C1:1.0": {"int-ap2"}, "C1:2.0": {"int-ap3"}}
    await w.desk.recover()
    assert w.conversations.runner.asked == ["C1:1.0"]
    [resumed] = w.conversations.resumed
    assert list(resumed.responses) == ["int-ap1", "int-ap2"]


async def test_recovery_does_not_resume_a_turn_that_is_no_longer_paused(
    w: World, caplog: pytest.LogCaptureFixture
) -> None:
    add(w)
    assert w.store.claim("ap1", DENIED, "U2", now=NOW - 60)
    w.conversations.runner.paused["C1:1.0"] = {"int-other"}
    with caplog.at_level(logging.INFO, logger=LOGGER):
        await w.desk.recover()
    assert w.conversations.runner.asked == ["C1:1.0"]
    assert w.conversations.resumed == []
    assert caplog.record_tuples == []


async def test_one_broken_turn_does_not_stop_the_recovery_of_the_others(
    w: World, caplog: pytest.LogCaptureFixture
) -> None:
    add(w, "ap1", turn="turn1", conversation="C1:1.0", created=NOW - 20)
    add(w, "ap2", turn="turn2", conversation="C1:2.0", created=NOW - 10)
    for approval_id in ("ap1", "ap2"):
        assert w.store.claim(approval_id, DENIED, "U2", now=NOW - 60)
    w.conversations.runner.broken = {"C1:1.0"}
    w.conversations.runner.paused["C1:2.0"] = {"int-ap2"}
    with caplog.at_level(logging.ERROR, logger=LOGGER):
        await w.desk.recover()
    assert w.conversations.runner.asked == ["C1:1.0", "C1:2.0"]
    assert [r.question.conversation_id for r in w.conversations.resumed] == ["C1:2.0"]
    [record] = caplog.records
    assert (record.levelno, record.getMessage()) == (logging.ERROR, "could not recover approval turn turn1")
    assert record.exc_info is not None and str(record.exc_info[1]) == "corrupt session file"


async def test_a_call_decided_before_another_of_its_turn_does_not_hide_the_others_outcome(w: World) -> None:
    add(w, "ap1", created=NOW - 20, card_ts="51.000")
    add(w, "ap2", created=NOW - 10, card_ts="52.000")
    assert w.store.claim("ap1", DENIED, "U3", now=NOW)
    assert w.store.claim("ap2", APPROVED, "U2", now=NOW)
    await w.desk._resume_if_decided("turn1")
    await outcomes(w, {"tu-ap2": StepView("tu-ap2", "Deleting", "complete")})
    assert (status(w, "ap1"), status(w, "ap2")) == (DENIED, EXECUTED)
    assert w.counted() == {"executed": 1}


class FinishedElsewhere:
    """The real store, where the first approval's outcome is recorded by someone else just before the desk."""

    def __init__(self, store: SqliteApprovalStore) -> None:
        self.store = store

    def __getattr__(self, name: str) -> Any:
        return getattr(self.store, name)

    def finish(self, approval_id: str, status: str, detail: str = "") -> bool:
        if approval_id == "ap1":
            assert self.store.finish(approval_id, EXECUTED)
        return self.store.finish(approval_id, status, detail)


async def test_an_outcome_recorded_elsewhere_is_not_recorded_again_and_the_next_one_is(
    make: Any, tmp_path: Path
) -> None:
    w = make(store=FinishedElsewhere(SqliteApprovalStore(tmp_path / "approvals.sqlite3")))
    add(w, "ap1", created=NOW - 20, card_ts="51.000")
    add(w, "ap2", created=NOW - 10, card_ts="52.000")
    for approval_id in ("ap1", "ap2"):
        assert w.store.claim(approval_id, APPROVED, "U2", now=NOW)
    await w.desk._resume_if_decided("turn1")
    await outcomes(w, {})
    assert (status(w, "ap1"), status(w, "ap2")) == (EXECUTED, FAILED)
    assert w.counted() == {"failed": 1}
    assert [r["approval_id"] for r in w.audit.records] == ["ap2"]
    assert [u["ts"] for u in w.slack.updates()] == ["52.000"]


async def test_an_approval_stored_without_its_tool_use_id_is_matched_to_the_step_without_one(
    w: World,
) -> None:
    add(w, extra={})  # a row written before tool_use_id was kept
    assert w.store.claim("ap1", APPROVED, "U2", now=NOW)
    await w.desk._resume_if_decided("turn1")
    await outcomes(w, {"": StepView("", "Running the approved change", "complete")})
    assert status(w) == EXECUTED


async def test_recovery_finishes_every_call_of_a_turn_that_needs_it_whatever_comes_before(w: World) -> None:
    add(w, "ap1", created=NOW - 20)
    add(w, "ap2", created=NOW - 10)
    assert w.store.claim("ap1", DENIED, "U3", now=NOW - 60)
    assert w.store.claim("ap2", APPROVED, "U2", now=NOW - 60)
    assert w.store.start_execution("ap2", HASH)
    w.conversations.runner.paused["C1:1.0"] = {"int-ap2"}
    await w.desk.recover()
    assert (status(w, "ap1"), status(w, "ap2")) == (DENIED, FAILED)
    assert w.store.get("ap2").detail == CUT_OFF  # type: ignore[union-attr]
    assert w.counted() == {"failed": 1}
