"""The alert desk: stored notifications become one thread per alert group, in arrival order.

One worker reads the inbox (the listener stored each delivery before acknowledging it) and, per
notification: the first of a group posts the header and starts the investigation in its thread; a
repeat updates the header (count, last seen, the group's alerts); a resolve turns it resolved with how
long it fired; firing again later writes a short note in the same thread. At most ALERT_MAX_CONCURRENT
investigations run at once; the rest wait their turn. State is in the store, so a restart between
firing and resolving keeps the same thread.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
import time
from collections.abc import Callable
from typing import Any

from slack_sdk.errors import SlackApiError

from agents.gate.audit import AuditLog
from agents.state.alerts import AlertGroups, AlertInbox, GroupRecord, InboxItem
from slackbot.alerts.codec import notification_from_json
from slackbot.alerts.header import HeaderState, header_blocks
from slackbot.alerts.investigation import investigation_question
from slackbot.alerts.listener import ALERTS
from slackbot.alerts.model import Notification, PayloadError
from slackbot.alerts.routing import Route
from slackbot.conversations import Conversations, Question
from slackbot.rate_budget import RateBudget
from slackbot.replies import ReplyTarget
from slackbot.slack_errors import slack_error
from slackbot.threads import conversation_id

logger = logging.getLogger(__name__)

SPARE_POLL_SECONDS = 0.25  # how often a waiting alert post or header update looks for spare budget
RETRY_FIRST_SECONDS = 2.0  # Slack or the store failing for now: the item stays, tried again after this
RETRY_MAX_SECONDS = 60.0
# Several replicas' desks share one inbox: each delivery is leased to one desk while it works it (longer
# than a header post can wait in the rate budget), and each desk looks again every POLL_SECONDS, for
# deliveries another replica's listener stored or a dead desk left behind.
TAKE_SECONDS = 300.0
POLL_SECONDS = 10.0
# Slack errors no retry fixes: the item is set aside (logged, counted) instead of blocking the inbox
PERMANENT_SLACK_ERRORS = frozenset(
    {"channel_not_found", "not_in_channel", "is_archived", "invalid_auth", "account_inactive", "missing_scope",
     "not_authed", "restricted_action", "message_not_found", "cant_update_message"}
)  # fmt: skip
MAX_QUEUED_INVESTIGATIONS = 50  # waiting for a slot; beyond, a group gets its header and a note, no run
MAX_PLAIN_HEADER = 3000
STORM_NOTE = (
    "_Not investigated: too many alerts are waiting for an investigation (an alert storm). Ask here if "
    "you want this one looked at._"
)


class AlertDesk:
    """Works the inbox; `wake()` after storing, `run()` as a task for the bot's life."""

    def __init__(
        self,
        *,
        inbox: AlertInbox,
        groups: AlertGroups,
        client: Any,
        budget: RateBudget,
        conversations: Conversations,
        route: Callable[[Notification], Route],
        audit: AuditLog,
        team: str | None,
        max_concurrent: int,
        now: Callable[[], float] = time.time,
    ) -> None:
        self.inbox, self.groups = inbox, groups
        self.client, self.budget, self.conversations = client, budget, conversations
        self.route, self.audit, self.team, self.now = route, audit, team, now
        self._wake = asyncio.Event()
        self._slots = asyncio.Semaphore(max_concurrent)
        self._headers: dict[str, tuple[Notification, GroupRecord]] = {}  # latest state per group, unsent
        self._headers_waiting = asyncio.Event()
        self.tasks: set[asyncio.Task[None]] = set()

    def wake(self) -> None:
        self._wake.set()

    async def run(self) -> None:
        """Forever: whatever is pending (also what a previous process stored and did not finish)."""
        self._wake.set()  # the pending items of before a restart first
        flusher = asyncio.create_task(self._flush_headers())
        try:
            await self._work()
        finally:
            flusher.cancel()

    async def _work(self) -> None:
        retry = RETRY_FIRST_SECONDS
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), POLL_SECONDS)
            self._wake.clear()
            try:
                finished = await self._work_pending()
            except Exception:  # the store failed (locked, disk full): try again, never stop working
                logger.exception("the alert inbox could not be read")
                finished = False
            if finished:
                retry = RETRY_FIRST_SECONDS
                continue
            await asyncio.sleep(retry)  # Slack or the store failed for a while: later, in the same order
            retry = min(retry * 2, RETRY_MAX_SECONDS)
            self._wake.set()

    async def _work_pending(self) -> bool:
        """Handle what is pending, in order; False at the first one that failed for now (it stays).

        A delivery another desk holds is skipped with the rest of its group: that desk works them in order.
        """
        busy: set[str] = set()
        for item in await asyncio.to_thread(self.inbox.pending):
            if item.group_key in busy or not await asyncio.to_thread(
                self.inbox.take, item.delivery_id, TAKE_SECONDS
            ):
                busy.add(item.group_key)
                continue
            if not await self._handle_safely(item):
                return False
        return True

    async def _handle_safely(self, item: InboxItem) -> bool:
        """Handle one item; True when it is finished with (done, or set aside as never postable)."""
        try:
            await self.handle(item)
        except SlackApiError as exc:
            code = slack_error(exc)
            if code not in PERMANENT_SLACK_ERRORS:
                logger.warning("alert %s not posted yet (%s): will retry", item.group_key[:80], code)
                return False
            logger.error(
                "alert %s could not be posted: %s", item.group_key[:80], code
            )  # not in the channel …
            ALERTS.labels("desk", "refused", "slack").inc()
        except (PayloadError, KeyError, ValueError):  # a stored item no code can post: set aside, logged
            logger.exception("alert %s could not be read", item.group_key[:80])
            ALERTS.labels("desk", "refused", "internal").inc()
        except Exception:  # Slack unreachable, a timeout, the store busy: the item stays, tried again
            logger.warning("alert %s not handled yet: will retry", item.group_key[:80], exc_info=True)
            return False
        await asyncio.to_thread(self.inbox.done, item.delivery_id)
        return True

    async def handle(self, item: InboxItem) -> None:
        notification = notification_from_json(item.payload)
        route = self.route(notification)
        key, now = notification.group_key, self.now()
        before = await asyncio.to_thread(self.groups.get, key)
        if before is None:
            await asyncio.to_thread(self.groups.claim_new, key, route.channel, now)
        record = await asyncio.to_thread(self.groups.record, key, notification.status, now, item.delivery_id)
        if not record.thread_ts:
            record = await self._post_header(notification, record)
            if notification.status == "firing":
                await self._investigate(notification, record, route)
            return
        await self._update_header(notification, record)
        if before is not None and before.status == "resolved" and notification.status == "firing":
            await self._say(record, f"_Firing again since {_time(now)} UTC._")
            await self._investigate(notification, record, route)

    def _state(self, notification: Notification, record: GroupRecord) -> HeaderState:
        resolved = record.resolved_at if notification.status == "resolved" else None
        fired_for = dt.timedelta(seconds=resolved - record.fired_at) if resolved and record.fired_at else None
        return HeaderState(
            notification=notification,
            first_seen=_utc(record.first_seen),
            last_seen=_utc(record.last_seen),
            count=record.count,
            resolved_at=_utc(resolved) if resolved else None,
            fired_for=fired_for,
            investigating=record.investigations > 0,
        )

    async def _post_header(self, notification: Notification, record: GroupRecord) -> GroupRecord:
        text, blocks = header_blocks(self._state(notification, record))
        await self._spare("chat.postMessage", record.channel)
        try:
            posted = await self.client.chat_postMessage(channel=record.channel, text=text, blocks=blocks)
        except SlackApiError as exc:
            if slack_error(exc) not in ("invalid_blocks", "msg_too_long"):
                raise
            # whatever an alert's text did to the blocks, the group still gets its thread and investigation
            await self._spare("chat.postMessage", record.channel)
            posted = await self.client.chat_postMessage(channel=record.channel, text=text[:MAX_PLAIN_HEADER])
        ts = str(posted["ts"])
        await asyncio.to_thread(self.groups.set_thread, record.group_key, ts, ts)
        return await asyncio.to_thread(self.groups.get, record.group_key) or record

    async def _update_header(self, notification: Notification, record: GroupRecord) -> None:
        """Queue the header's new state; `_flush_headers` sends the latest one per group when spare."""
        self._headers[record.group_key] = (notification, record)
        self._headers_waiting.set()

    async def _flush_headers(self) -> None:
        """Header updates are chat.update calls, the method people's answers and approval cards finish
        with: they take only spare budget (people's calls keep their reserve), and a group's header
        changed ten times while waiting is updated once, to its latest state."""
        while True:
            await self._headers_waiting.wait()
            self._headers_waiting.clear()
            while self._headers:
                await self._spare("chat.update")
                key = next(iter(self._headers))
                notification, record = self._headers.pop(key)
                text, blocks = header_blocks(self._state(notification, record))
                try:
                    await self.client.chat_update(
                        channel=record.channel, ts=record.header_ts, text=text, blocks=blocks
                    )
                except SlackApiError as exc:  # Slack said no to this state: the next state tries again
                    logger.warning("alert header not updated: %s", slack_error(exc))
                except Exception:  # a timeout, the network: keep this state unless a newer one came
                    logger.warning("alert header not updated; will retry", exc_info=True)
                    self._headers.setdefault(key, (notification, record))
                    await asyncio.sleep(RETRY_FIRST_SECONDS)

    async def _spare(self, method: str, channel: str | None = None) -> None:
        """Wait for `method`'s budget beyond what people's calls need now: the budget's reserve and its
        waiters (polled: the budget signals no refill). People's posts in the alert channel go first."""
        while True:
            if self.budget.try_take(method, channel):
                return
            await asyncio.sleep(SPARE_POLL_SECONDS)

    async def _say(self, record: GroupRecord, text: str) -> None:
        await self._spare("chat.postMessage", record.channel)
        await self.client.chat_postMessage(channel=record.channel, thread_ts=record.thread_ts, text=text)

    async def _investigate(self, notification: Notification, record: GroupRecord, route: Route) -> None:
        """Once per firing episode; waits for a free slot in the background, never holding the inbox."""
        if not await asyncio.to_thread(self.groups.note_investigation, record.group_key):
            return
        question = Question(
            text=investigation_question(notification, route.cluster),
            target=ReplyTarget(record.channel, record.thread_ts, None, self.team),
            conversation_id=conversation_id(
                team=self.team, channel=record.channel, thread_ts=record.thread_ts
            ),
            user_id="",
            clusters=(route.cluster,) if route.cluster else (),
        )
        if len(self.tasks) >= MAX_QUEUED_INVESTIGATIONS:  # a storm: headers yes, a model run per group no
            ALERTS.labels(notification.source, "refused", "storm").inc()
            await self._say(record, STORM_NOTE)
            return
        self.audit.write(
            "alert",
            source=notification.source,
            group_key=notification.group_key,
            title=notification.title,
            cluster=route.cluster,
            channel=record.channel,
            thread_ts=record.thread_ts,
            delivery_id=notification.delivery_id,
        )
        ALERTS.labels(notification.source, "investigated", "").inc()
        task = asyncio.create_task(self._in_slot(question, record))
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)

    async def _in_slot(self, question: Question, queued: GroupRecord) -> None:
        async with self._slots:
            now = await asyncio.to_thread(self.groups.get, queued.group_key)
            if now is not None and (now.status != "firing" or now.episodes != queued.episodes):
                # resolved (or resolved and fired again: that episode has its own) while waiting its turn
                await self._say(queued, "_Not investigated: the alert resolved before its turn came._")
                return
            await self.conversations.submit(question)


def _utc(seconds: float) -> dt.datetime:
    return dt.datetime.fromtimestamp(seconds, dt.UTC)


def _time(seconds: float) -> str:
    return _utc(seconds).strftime("%Y-%m-%d %H:%M")
