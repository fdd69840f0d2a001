"""Ending the replies a dead replica left growing (agents/state/replies.py keeps who writes which).

Every replica renews a lease of its own (`replica:<id>`) as a heartbeat. Another replica that can take
that lease knows its holder stopped (killed, its node lost) and ends each of its replies in flight,
each taken once from the shared record, so two survivors never both do: a native stream is stopped (it
would otherwise show as still streaming) and a note in the thread says to ask again. With the local
backend the "survivor" is the restarted process: it ends what the killed one left.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from itertools import groupby

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from agents.state.leases import ThreadLeases
from agents.state.replies import OpenReplies
from slackbot.rate_budget import RateBudget
from slackbot.replies import NativeStreamReply, Reply, ReplyTarget

logger = logging.getLogger(__name__)

HEARTBEAT_SECONDS = 10.0
ALIVE_SECONDS = 30.0  # a replica silent this long is taken for dead
SWEEP_SECONDS = 15.0
STOPPED = "_Interrupted: the bot instance answering this stopped before it finished. Ask again._"


def alive_key(owner: str) -> str:
    return f"replica:{owner}"


def reply_place(reply: Reply, target: ReplyTarget) -> dict[str, str] | None:
    """Where a started reply is, as a survivor needs it (None: the reply has no message yet)."""
    ts = getattr(reply, "ts", None)
    if ts is None:
        return None
    kind = "stream" if isinstance(reply, NativeStreamReply) else "update"
    return {"channel": target.channel, "thread_ts": target.thread_ts, "ts": str(ts), "kind": kind}


class Recovery:
    """The heartbeat of this replica and the sweep for the replies of dead ones."""

    def __init__(
        self,
        replies: OpenReplies,
        leases: ThreadLeases,
        client: AsyncWebClient,
        budget: RateBudget,
        owner: str,
    ) -> None:
        self.replies, self.leases, self.client, self.budget, self.owner = (
            replies,
            leases,
            client,
            budget,
            owner,
        )

    async def beat(self) -> None:
        """Show this replica alive for ALIVE_SECONDS more."""
        await asyncio.to_thread(self.leases.acquire, alive_key(self.owner), self.owner, ALIVE_SECONDS)

    async def sweep_once(self) -> int:
        """End the replies of replicas that stopped; returns how many this replica ended."""
        records = await asyncio.to_thread(self.replies.all)
        others = sorted((r for r in records if r.owner != self.owner), key=lambda r: r.owner)
        ended = 0
        for owner, theirs in groupby(others, key=lambda r: r.owner):
            # taking its heartbeat lease succeeds only when it lapsed: that replica is gone
            if not await asyncio.to_thread(self.leases.acquire, alive_key(owner), self.owner, ALIVE_SECONDS):
                continue
            for record in theirs:
                if await asyncio.to_thread(self.replies.take, record.id, owner):
                    logger.warning("ending reply %s left by stopped replica %s", record.id, owner)
                    await self._end(record.place)
                    ended += 1
        return ended

    async def run(self) -> None:
        """Beat and sweep until cancelled; a failure is logged and tried again next time."""
        loop = asyncio.get_running_loop()
        next_sweep = loop.time()
        while True:
            try:
                await self.beat()
                if loop.time() >= next_sweep:
                    next_sweep = loop.time() + SWEEP_SECONDS
                    await self.sweep_once()
            except asyncio.CancelledError:
                raise
            except Exception:
                logger.warning("replica heartbeat or sweep failed; trying again", exc_info=True)
            await asyncio.sleep(HEARTBEAT_SECONDS)

    async def _end(self, place: dict[str, str]) -> None:
        channel, thread_ts, ts = place.get("channel", ""), place.get("thread_ts", ""), place.get("ts", "")
        if place.get("kind") == "stream":
            with contextlib.suppress(SlackApiError):  # Slack may have ended an idle stream itself
                await self.budget.take("chat.stopStream")
                await self.client.chat_stopStream(channel=channel, ts=ts)
        try:
            await self.budget.take("chat.postMessage", channel)
            await self.client.chat_postMessage(channel=channel, thread_ts=thread_ts, text=STOPPED)
        except SlackApiError as exc:
            logger.warning("could not end reply %s in %s: %s", ts, channel, exc)
