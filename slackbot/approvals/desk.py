"""Approvals in Slack: post the card, authorize the click, claim it once, update the card, resume.

Order of checks on a click: the approval exists (a forged id names none) → it is still pending (a replay
or a second click finds it decided) → it has not expired → the user may decide (`approvers`: listed, or in
the group, and not their own request when separate approvers are required) → atomic claim (two approvers
at once: one wins). Only then does the conversation resume with the decision, and the write gate runs
the call only if the decision names the frozen call's hash.

The store knows nothing of Slack: the desk keeps the card's channel and thread in the approval's `place`
and the card's ts in its `card`.

Why one module of ~360 lines: a card's whole life (posted, clicked, claimed, shown, resumed, swept,
recovered after a restart) is one state machine whose races are read against each other; who may
approve (approvers.py) and what the card says (cards.py) already live apart.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from agents.gate.audit import AuditLog
from agents.metrics import APPROVALS
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
    ApprovalStore,
    new_approval_id,
)
from slackbot.approvals.approvers import Approvers
from slackbot.approvals.cards import (
    APPROVE_ACTION,
    DENY_ACTION,
    call_fits,
    call_markdown,
    card_text,
    decided_card,
    pending_card,
)
from slackbot.conversations import Conversations, Question
from slackbot.formatting import split_markdown
from slackbot.rate_budget import RateBudget
from slackbot.renderer import Renderer
from slackbot.replies import ReplyTarget, post_parts
from slackbot.safe_text import mention
from slackbot.slack_errors import slack_error

logger = logging.getLogger(__name__)

SWEEP_SECONDS = 15.0
RECOVERY_SECONDS = 24 * 3600.0  # how far back a restart looks for decisions it must finish
CUT_OFF = "the bot restarted while this change was running; check the current state before retrying"
UNRECORDED = "the bot restarted before recording the result; check the current state"
STALE = (
    "the bot was down for longer than APPROVAL_TTL_SECONDS after the approval, so it was not run; ask again"
)


def place(target: ReplyTarget) -> dict[str, str]:
    """Where a card goes, as the approval keeps it: the Slack channel and thread of the question.

    The keys are the names of the columns older versions kept them in (agents/state/approvals.py's
    upgrade turns those columns into these entries)."""
    return {"channel": target.channel, "thread_ts": target.thread_ts}


def card_channel(approval: Approval) -> str:
    return approval.place["channel"]


class ApprovalDesk:
    def __init__(
        self,
        settings: Settings,
        store: ApprovalStore,
        client: AsyncWebClient,
        budget: RateBudget,
        conversations: Conversations,
        audit: AuditLog,
        approvers: Approvers,
    ) -> None:
        self.settings = settings
        self.store = store
        self.client = client
        self.budget = budget
        self.conversations = conversations
        self.audit = audit
        self.approvers = approvers
        self._resumed: set[str] = set()  # turns this process resumed (a turn is resumed once)
        self.deciding = 0  # clicks acknowledged and not yet decided (tests wait on it; never on time)

    # cards --------------------------------------------------------------------------------------

    async def post_cards(self, question: Question, renderer: Renderer, turn_id: str) -> None:
        now = time.time()
        for pending in renderer.approvals:
            approval = Approval(
                id=new_approval_id(),
                turn_id=turn_id,
                conversation_id=question.conversation_id,
                interrupt_id=pending.interrupt_id,
                tool=pending.tool,
                arguments=pending.arguments,
                call_hash=pending.call_hash,
                summary=pending.summary,
                requester=question.user_id,
                place=place(question.target),
                created_at=now,
                expires_at=now + self.settings.approval_ttl_seconds,
                agent=pending.agent,
                extra={
                    "tool_use_id": pending.tool_use_id,
                    "team_id": question.target.team_id,
                    **({"cluster": pending.cluster} if pending.cluster else {}),
                },
            )
            self.store.add(approval)
            self.audit.write(
                "approval_requested",
                approval_id=approval.id,
                tool=approval.tool,
                cluster=approval.extra.get("cluster"),  # the fleet cluster the gate bound it to, or None
                arguments=approval.arguments,
                summary=approval.summary,
                requester=approval.requester,
                conversation_id=approval.conversation_id,
                call_hash=approval.call_hash,
            )
            if not call_fits(approval):  # the approver must be able to read everything the hash covers
                full = f"*Exact call for approval* (hash `{approval.call_hash[:12]}`, secrets redacted):\n"
                await post_parts(
                    self.client, self.budget, question.target, split_markdown(full + call_markdown(approval))
                )
            await self.budget.take("chat.postMessage", question.target.channel)
            response = await self.client.chat_postMessage(
                channel=question.target.channel,
                thread_ts=question.target.thread_ts,
                text=card_text(approval),
                blocks=pending_card(approval),
            )
            self.store.set_card(approval.id, str(response["ts"]))

    async def refresh_card(self, approval_id: str) -> None:
        approval = self.store.get(approval_id)
        if approval is None or not approval.card:
            return
        blocks = pending_card(approval) if approval.status == PENDING else decided_card(approval)
        await self.budget.take("chat.update")
        try:
            await self.client.chat_update(
                channel=card_channel(approval), ts=approval.card, text=card_text(approval), blocks=blocks
            )
        except SlackApiError as exc:
            logger.warning("could not update approval card %s: %s", approval_id, slack_error(exc))

    # clicks -------------------------------------------------------------------------------------

    async def _tell(self, channel: str, user: str, text: str) -> None:
        with contextlib.suppress(SlackApiError):
            await self.budget.take("chat.postEphemeral")
            await self.client.chat_postEphemeral(channel=channel, user=user, text=text)

    async def on_action(
        self, ack: Callable[..., Awaitable[Any]], body: dict[str, Any], action: dict[str, Any]
    ) -> None:
        """Acknowledge at once (Slack's 3 s), then decide; `deciding` counts clicks still being decided."""
        self.deciding += 1
        try:
            await ack()
            await self._decide(body, action)
        finally:
            self.deciding -= 1

    async def _decide(self, body: dict[str, Any], action: dict[str, Any]) -> None:
        user = str((body.get("user") or {}).get("id", ""))
        where = str(
            (body.get("channel") or {}).get("id") or (body.get("container") or {}).get("channel_id", "")
        )
        approval = await self._pending(user, where, action)
        if approval is None:
            return
        cluster = approval.extra.get("cluster")  # the fleet cluster the gate bound the call to
        refusal = await self.approvers.refusal(user, approval.requester, str(cluster) if cluster else None)
        if refusal is not None:
            self.audit.write("approval_rejected", reason=refusal.reason, user=user, approval_id=approval.id)
            await self._tell(where, user, refusal.message)
            return
        approve = action.get("action_id") == APPROVE_ACTION
        if not self.store.claim(approval.id, APPROVED if approve else DENIED, user):
            latest = self.store.get(approval.id)
            await self._tell(
                where,
                user,
                f"Someone else decided first ({latest.status if latest else 'gone'}); nothing more was done.",
            )
            return
        await self._decided(approval, approve, user)

    async def _pending(self, user: str, where: str, action: dict[str, Any]) -> Approval | None:
        """The approval a click in channel `where` names, if it can still be decided; else tell `user` why not."""
        approval = self.store.get(str(action.get("value", "")))
        if approval is None or card_channel(approval) != where:
            self.audit.write(
                "approval_rejected", reason="unknown_approval", user=user, value=action.get("value")
            )
            await self._tell(where, user, "This approval is not known to me; nothing was changed.")
            return None
        if approval.status != PENDING:
            who = f" by {mention(approval.decided_by)}" if approval.decided_by not in ("", "system") else ""
            await self._tell(
                where, user, f"This request was already {approval.status}{who}; nothing more was done."
            )
            return None
        if time.time() >= approval.expires_at:
            await self.expire(approval)
            await self._tell(where, user, "This request expired before anyone decided; nothing was changed.")
            return None
        return approval

    async def _decided(self, approval: Approval, approve: bool, user: str) -> None:
        """After this click claimed `approval`: count it, record it, show it, let the answer go on."""
        APPROVALS.labels("approved" if approve else "denied").inc()
        self.audit.write(
            "approval_decision",
            approval_id=approval.id,
            decision="approved" if approve else "denied",
            by=user,
            tool=approval.tool,
            cluster=approval.extra.get("cluster"),
            call_hash=approval.call_hash,
            conversation_id=approval.conversation_id,
        )
        await self.refresh_card(approval.id)
        await self._resume_if_decided(approval.turn_id)

    async def expire(self, approval: Approval) -> None:
        if self.store.claim(approval.id, EXPIRED, "system", now=max(time.time(), approval.expires_at)):
            await self._expired(approval)

    async def sweep(self) -> None:
        """Expire overdue approvals every SWEEP_SECONDS, so cards say so even if nobody clicks."""
        while True:
            await self.sweep_once()
            await asyncio.sleep(SWEEP_SECONDS)

    async def sweep_once(self) -> None:
        for approval in await asyncio.to_thread(self.store.expire_due):
            await self._expired(approval)

    async def _expired(self, approval: Approval) -> None:
        """After this process expired `approval`: count it, record it, show it, let the answer go on."""
        APPROVALS.labels("expired").inc()
        self.audit.write(
            "approval_decision",
            approval_id=approval.id,
            decision="expired",
            by="system",
            tool=approval.tool,
            cluster=approval.extra.get("cluster"),
        )
        await self.refresh_card(approval.id)
        await self._resume_if_decided(approval.turn_id)

    # restart recovery ---------------------------------------------------------------------------

    async def recover(self) -> None:
        """After a restart, finish what a crash left between a decision and the resumed answer.

        Runs before the socket connects, so no click on this replica races it. Other replicas may be
        answering (STATE_BACKEND=aws): a turn is only looked at while its thread's lease is free, so a
        change another replica is running now is never taken for one a crash cut off. A decided turn
        whose conversation is still paused is resumed: an approved call not yet run runs once, unless the
        approval is older than APPROVAL_TTL_SECONDS (the bot was down too long: it is not run); one that
        was running when its process died is not run again. Cards say which.
        """
        now = time.time()
        decided = await asyncio.to_thread(self.store.decided_since, now - RECOVERY_SECONDS)
        for turn_id in dict.fromkeys(a.turn_id for a in decided):
            try:
                await self._recover_turn(turn_id, now)
            except Exception:  # one broken turn (a corrupt session file) must not stop the bot
                logger.exception("could not recover approval turn %s", turn_id)

    async def _recover_turn(self, turn_id: str, now: float) -> None:
        approvals = self.store.turn(turn_id)
        if not approvals or any(a.status == PENDING for a in approvals):
            return
        async with self.conversations.exclusive(approvals[0].conversation_id) as free:
            if not free:  # a replica is answering there now: what looks cut off may be running
                logger.info("turn %s: its thread is busy on another replica; not recovered here", turn_id)
                return
            resume = await self._settle_cut_off(approvals, now)
        if resume:
            logger.info("resuming turn %s left paused by a restart", turn_id)
            await self._resume_if_decided(turn_id)

    async def _settle_cut_off(self, approvals: list[Approval], now: float) -> bool:
        """Mark the calls a crash cut off (or that waited too long) as not run; True when the turn is
        still paused on them and should be resumed."""
        paused = await self.conversations.paused_on(approvals[0].conversation_id)
        for a in approvals:
            if a.status == EXECUTING:
                detail = CUT_OFF if a.interrupt_id in paused else UNRECORDED
            elif a.status == APPROVED and a.decided_at < now - self.settings.approval_ttl_seconds:
                detail = STALE
            else:
                continue
            if self.store.finish(a.id, FAILED, detail):
                APPROVALS.labels("failed").inc()
                self.audit.write(
                    "execution_result",
                    approval_id=a.id,
                    tool=a.tool,
                    cluster=a.extra.get("cluster"),
                    outcome="not_run",
                    detail=detail,
                )
                await self.refresh_card(a.id)
        return bool(paused & {a.interrupt_id for a in approvals})

    # resume -------------------------------------------------------------------------------------

    async def _resume_if_decided(self, turn_id: str) -> None:
        approvals = self.store.turn(turn_id)
        if not approvals or any(a.status == PENDING for a in approvals):
            return
        if turn_id in self._resumed:  # two last decisions at once (two clicks, a click and the sweeper)
            return
        self._resumed.add(turn_id)
        first = approvals[0]
        responses: dict[str, Any] = {}
        for a in approvals:
            # what the gate is told; tool and tool_use_id name the resumed call's step in the reply
            response: dict[str, Any] = {
                "approval_id": a.id,
                "tool": a.tool,
                "tool_use_id": a.extra.get("tool_use_id", ""),
            }
            if a.status == FAILED and a.detail in (CUT_OFF, UNRECORDED, STALE):  # set by restart recovery
                response.update(
                    approved=False, reason="not_run", message=f"Not run: {a.detail}. Tell the user."
                )
            # Approved ones carry the approval: the gate runs the call only if it can claim it (once).
            elif a.status in (APPROVED, EXECUTING, EXECUTED, FAILED):
                response.update(approved=True, hash=a.call_hash, by=a.decided_by)
            else:
                response.update(
                    approved=False, reason="expired" if a.status == EXPIRED else "denied", by=a.decided_by
                )
            responses[a.interrupt_id] = response
        question = Question(
            text="",
            target=ReplyTarget(
                card_channel(first), first.place["thread_ts"], first.requester, first.extra.get("team_id")
            ),
            conversation_id=first.conversation_id,
            user_id=first.requester,
        )

        async def record_outcomes(renderer: Renderer) -> None:
            for a in (self.store.get(x.id) for x in approvals):
                if a is None or a.status not in (APPROVED, EXECUTING):
                    continue  # denied, expired, or finished before (e.g. by restart recovery)
                step = renderer.steps.get(str(a.extra.get("tool_use_id", "")))
                ok = step is not None and step.status == "complete"
                detail = "" if ok else (step.detail if step is not None else "the call did not run")
                if not self.store.finish(a.id, EXECUTED if ok else FAILED, detail):
                    continue  # recorded already
                APPROVALS.labels("executed" if ok else "failed").inc()
                self.audit.write(
                    "execution_result",
                    approval_id=a.id,
                    tool=a.tool,
                    cluster=a.extra.get("cluster"),
                    outcome="executed" if ok else "failed",
                    detail=detail,
                )
                await self.refresh_card(a.id)

        self.conversations.resume(question, responses, after=record_outcomes)


def register(app: Any, desk: ApprovalDesk) -> None:
    app.action(APPROVE_ACTION)(desk.on_action)
    app.action(DENY_ACTION)(desk.on_action)
