"""Bolt listeners for the fleet: `/k8s clusters`, `/k8s use <cluster>`, and `use <cluster>` in a thread.

Commands are acked first thing; the work comes after. `/k8s clusters` answers ephemerally once the
probe (`agents.fleet.ReachProbe`: the running EKS server, a few seconds at most) has asked each cluster.
A slash command carries no thread, so `/k8s use` opens one whose root says which cluster it is about;
a mention (or DM) that is exactly `use <cluster>` sets the thread it was written in. Either way the
thread's cluster is set through `Conversations.in_turn`, so it takes effect in the order it was asked:
after the answer already running in that thread, before the next question.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

from slack_bolt.async_app import AsyncApp
from slack_bolt.middleware.async_middleware import AsyncMiddleware
from slack_sdk.errors import SlackApiError

from agents.fleet import ReachProbe
from slackbot.clusters import NO_CLUSTER, FleetView, use_request
from slackbot.conversations import Conversations
from slackbot.middleware import ephemeral, say_in_thread
from slackbot.safe_text import escape_mrkdwn, mention
from slackbot.threads import cannot_post, conversation_id, open_thread

logger = logging.getLogger(__name__)

Answer = Callable[..., Awaitable[Any]]
NAME_ONE = "Which cluster? `/k8s use <cluster>` keeps a new thread on it."
MOVES = "Naming another cluster in a question moves the thread to it."


async def is_clusters(body: dict[str, Any]) -> bool:
    """`/k8s clusters`, alone."""
    return str(body.get("text") or "").strip().lower() == "clusters"


async def is_use(body: dict[str, Any]) -> bool:
    """`/k8s use` alone or with one word (more words are a question that starts with "use")."""
    words = str(body.get("text") or "").split()
    return bool(words) and words[0].lower() == "use" and len(words) <= 2


class ClusterCommands:
    """The fleet's listeners; `view` words the answers, `probe` says which clusters answer."""

    def __init__(self, conversations: Conversations, view: FleetView, probe: ReachProbe) -> None:
        self.conversations = conversations
        self.view = view
        self.probe = probe

    def register(self, app: AsyncApp, draining: AsyncMiddleware) -> None:
        """Ahead of the /k8s question listener: the first listener that matches takes the command."""
        app.command("/k8s", matchers=[is_clusters])(self.on_clusters)
        app.command("/k8s", matchers=[is_use], middleware=[draining])(self.on_use)

    async def on_clusters(self, ack: Answer, command: dict[str, Any], respond: Answer) -> None:
        await ack()
        fleet = self.view.fleet
        reach = await self.probe.check(fleet) if fleet is not None else {}
        await ephemeral(respond, self.view.listing(command.get("channel_id"), reach))

    async def on_use(self, ack: Answer, command: dict[str, Any], client: Any, respond: Answer) -> None:
        """`/k8s use <cluster>`: a new thread about that cluster."""
        await ack()
        name = use_request(str(command.get("text") or ""))
        refusal = self.refusal(name)
        if refusal is not None or name is None:  # (refusal names what is missing when name is None)
            await ephemeral(respond, refusal or NO_CLUSTER)
            return
        channel, user = command["channel_id"], command["user_id"]
        root = f"{mention(user)} used `/k8s use`. {self.view.thread_about(name)} Mention me here to ask."
        try:
            root_ts = await open_thread(client, self.conversations.budget, channel, root)
        except SlackApiError as exc:
            await ephemeral(respond, cannot_post(exc))
            return
        where = {"channel": channel, "ts": root_ts}
        self._set(
            conversation_id(team=command.get("team_id"), channel=channel, thread_ts=root_ts), name, where
        )

    async def use_here(self, event: dict[str, Any], team: str | None, name: str) -> None:
        """A mention or DM that is exactly `use <cluster>`: the thread it was written in is about it."""
        refusal = self.refusal(name)
        if refusal is not None:
            await say_in_thread(self.conversations.client, self.conversations.budget, event, refusal)
            return
        thread_ts = event.get("thread_ts") or event["ts"]
        cid = conversation_id(team=team, channel=event["channel"], thread_ts=thread_ts)
        self._set(
            cid,
            name,
            event,
            confirm=f"{self.view.thread_about(name)} {MOVES}",
        )

    def refusal(self, name: str | None) -> str | None:
        """Why `name` cannot be a thread's cluster (none given, unknown, or the only one), or None."""
        view = self.view
        if name is None:
            return (
                f"{NAME_ONE} Known clusters: {escape_mrkdwn(view.fleet.known())}."
                if view.fleet
                else NO_CLUSTER
            )
        if not view.known(name):
            return view.unknown(name)
        if not view.from_file:
            return view.only_one(name)
        return None

    def _set(self, cid: str, name: str, where: dict[str, Any], confirm: str | None = None) -> None:
        conversations = self.conversations

        async def work() -> None:
            try:
                await conversations.set_thread_cluster(cid, name)
            except ValueError as exc:
                text = f"I could not keep this thread's cluster: {escape_mrkdwn(exc)}"
            else:
                if confirm is None:
                    return
                text = confirm
            await say_in_thread(conversations.client, conversations.budget, where, text)

        conversations.in_turn(cid, work)
