"""Conversation runner: one conversation per id (a front end's thread or session), with memory.

Questions in one conversation run in order (a lock per id); different conversations run concurrently.
Memory lives behind `SessionStore` (agents/state/sessions.py), so replicas can share it. Across replicas
a conversation's turn also holds its lease (agents/state/leases.py), renewed while it runs: a question
for a thread another replica is answering waits for it (bounded: then the asker is told so), and every
turn reads the conversation's memory afresh, as the other replica left it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
import time
import uuid
import weakref
from collections.abc import AsyncIterator, Sequence
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from agents.coordinator import Assistant
from agents.events import AgentEvent, ErrorEvent
from agents.failures import MODEL_FAILURES, describe_failure
from agents.fleet import CLUSTER_SCOPE, ClusterScope, Resolution, flag_resolution, resolve
from agents.gate.clusters import NO_CLUSTER
from agents.gate.write_gate import REQUEST_FACTS
from agents.metrics import ANSWER, ERRORS, QUESTIONS
from agents.state.leases import ThreadLeases
from agents.state.sessions import SessionStore
from agents.turn import answer_events

if TYPE_CHECKING:
    from strands.session import SessionManager

logger = logging.getLogger(__name__)

# The key in the coordinator's Strands agent state (saved with the conversation by the session
# manager) of the thread's cluster and the last question's clusters: a follow-up without a cluster
# name stays on the thread's, and a resume after an approval (no question text) keeps its clusters.
THREAD_CLUSTERS = "sre_bot_clusters"

LEASE_SECONDS = 30.0  # a replica that died frees its thread after this
RENEW_SECONDS = 10.0  # a running turn renews its lease this often (three tries before it lapses)
LEASE_WAIT_SECONDS = 120.0  # how long a question waits for another replica's turn in its thread
LEASE_POLL_SECONDS = 0.5


def replica_id() -> str:
    """This process among the replicas: host (the pod's name), pid, and a random part for restarts."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"


def new_correlation_id() -> str:
    return uuid.uuid4().hex[:10]


class ConversationRunner:
    """Runs questions through a fresh coordinator Agent per request, streaming typed events."""

    def __init__(
        self,
        assistant: Assistant,
        sessions: SessionStore | None,
        leases: ThreadLeases | None = None,
        *,
        owner: str | None = None,
        lease_wait: float = LEASE_WAIT_SECONDS,
    ) -> None:
        self.assistant = assistant
        self.sessions = sessions
        self.leases = leases
        self.owner = owner or replica_id()
        self.lease_wait = lease_wait
        self._locks: weakref.WeakValueDictionary[str, asyncio.Lock] = weakref.WeakValueDictionary()

    def exclusive(self, conversation_id: str) -> contextlib.AbstractAsyncContextManager[bool]:
        """Hold the conversation's lease only if it is free now: True when held (no other replica is
        answering there), False at once otherwise. For work beside the turns (restart recovery)."""
        return self._turn(conversation_id, wait=0.0)

    @contextlib.asynccontextmanager
    async def _turn(self, conversation_id: str | None, wait: float | None = None) -> AsyncIterator[bool]:
        """Hold the conversation's lease for one turn; yields False when another replica kept it longer
        than `lease_wait` (the turn must not run)."""
        leases = self.leases
        if leases is None or not conversation_id:
            yield True
            return
        key = f"thread:{conversation_id}"
        deadline = time.monotonic() + (self.lease_wait if wait is None else wait)
        while not await asyncio.to_thread(leases.acquire, key, self.owner, LEASE_SECONDS):
            if time.monotonic() >= deadline:
                yield False
                return
            await asyncio.sleep(LEASE_POLL_SECONDS)
        renewing = asyncio.create_task(self._renew(leases, key))
        try:
            yield True
        finally:
            renewing.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await renewing
            try:
                await asyncio.to_thread(leases.release, key, self.owner)
            except Exception:  # it expires by itself; the answer is what matters
                logger.warning("could not release the lease of %s", conversation_id, exc_info=True)

    async def _renew(self, leases: ThreadLeases, key: str) -> None:
        while True:
            await asyncio.sleep(RENEW_SECONDS)
            try:
                kept = await asyncio.to_thread(leases.renew, key, self.owner, LEASE_SECONDS)
            except Exception:
                logger.warning("could not renew the lease %s; trying again", key, exc_info=True)
                continue
            if not kept:  # stalled past the lease: another replica may be writing this thread now
                logger.error("lost the lease %s while answering: the thread's memory may miss this turn", key)
                return

    def _lock(self, conversation_id: str) -> asyncio.Lock:
        lock = self._locks.get(conversation_id)
        if lock is None:
            lock = asyncio.Lock()
            self._locks[conversation_id] = lock
        return lock

    async def ask(
        self,
        question: str,
        conversation_id: str | None = None,
        correlation_id: str | None = None,
        user: str | None = None,
        *,
        place_cluster: str | None = None,
        flag_clusters: Sequence[str] = (),
    ) -> AsyncIterator[AgentEvent]:
        """Answer `question`, yielding text deltas, tool steps, and a FinalAnswer or an ErrorEvent.

        `place_cluster` is the fleet cluster the front end binds to where the question was asked (a
        chat's channel); the question's clusters are resolved from it, the question and the thread.
        `flag_clusters` are the values of a `--cluster` option the front end parsed itself: they count
        exactly as a `--cluster` written in the question (first in the order; an unknown one is the
        answer, listing the known clusters, without a model call).
        """
        correlation_id = correlation_id or new_correlation_id()
        key = conversation_id or f"oneshot-{correlation_id}"
        lock = self._lock(key)  # held in a local: the weak dict keeps it only while someone uses it
        async with lock, self._turn(conversation_id) as held:
            if not held:
                yield _thread_busy(correlation_id)
                return
            QUESTIONS.inc()
            self.assistant.audit.write(
                "question",
                conversation_id=key,
                user=user,
                correlation_id=correlation_id,
                question=question[:2000],
            )
            flags = tuple(flag_clusters)
            async for event in self._run(
                question, conversation_id, correlation_id, user, place_cluster, flags
            ):
                yield event

    async def set_thread_cluster(self, conversation_id: str, cluster: str) -> None:
        """Make `cluster` the conversation's cluster: its later questions that name none are about it.

        Kept where the runner reads it (THREAD_CLUSTERS in the conversation's agent state), in order
        with the conversation's questions (its lock). A question naming another cluster still asks about
        that one. Raises ValueError without a fleet file, for a cluster outside it, or without memory.
        """
        assistant, sessions = self.assistant, self.sessions
        if assistant.fleet is None or not assistant.bind_clusters:
            raise ValueError("no fleet file (CLUSTERS_FILE): every question is about the one cluster")
        if cluster not in assistant.fleet.clusters:
            raise ValueError(f"There is no cluster {cluster!r}. Known clusters: {assistant.fleet.known()}.")
        if sessions is None:
            raise ValueError("no conversation memory (session store) to keep a thread's cluster in")

        def save() -> None:
            manager = sessions.manager(conversation_id)
            agent = assistant.build_agent(session_manager=manager)
            remembered = dict(agent.state.get(THREAD_CLUSTERS) or {})
            agent.state.set(THREAD_CLUSTERS, {**remembered, "thread": cluster})
            manager.sync_agent(agent)

        async with self._lock(conversation_id), self._turn(conversation_id) as held:
            if not held:
                raise ValueError(_thread_busy("").message + " " + _thread_busy("").action)
            await asyncio.to_thread(save)

    async def paused_on(self, conversation_id: str) -> set[str]:
        """The interrupt ids a conversation is paused on (empty when it is not paused)."""
        if self.sessions is None:
            return set()
        sessions = self.sessions

        def load() -> set[str]:
            return _paused_on(self.assistant.build_agent(session_manager=sessions.manager(conversation_id)))

        async with self._lock(conversation_id):
            return await asyncio.to_thread(load)

    async def resume(
        self,
        conversation_id: str,
        responses: dict[str, Any],
        correlation_id: str | None = None,
        user: str | None = None,
    ) -> AsyncIterator[AgentEvent]:
        """Continue a paused answer with the decisions on its approvals (interrupt id → response)."""
        correlation_id = correlation_id or new_correlation_id()
        blocks = [{"interruptResponse": {"interruptId": i, "response": r}} for i, r in responses.items()]
        async with self._lock(conversation_id), self._turn(conversation_id) as held:
            if not held:
                yield _thread_busy(correlation_id)
                return
            async for event in self._run(blocks, conversation_id, correlation_id, user):
                yield event

    async def _run(
        self,
        prompt: Any,
        conversation_id: str | None,
        correlation_id: str,
        user: str | None,
        place_cluster: str | None = None,
        flag_clusters: tuple[str, ...] = (),
    ) -> AsyncIterator[AgentEvent]:
        """One answer (or a resume) on a fresh coordinator Agent; any failure ends it as an ErrorEvent."""
        started = time.monotonic()
        cluster = NO_CLUSTER  # the errors' label until the request's clusters are known
        try:
            agent = self.assistant.build_agent(session_manager=self._session(conversation_id))
            if isinstance(prompt, str) and _paused_on(agent):
                # The conversation is paused on an approval: a new question cannot run until it is
                # decided (and the change shown on the card must stay exactly what runs).
                yield _approval_pending(correlation_id)
                return
            scope = self._scope(agent, prompt, place_cluster, flag_clusters)
            if isinstance(scope, ErrorEvent):  # an unknown --cluster: answered without a model call
                ERRORS.labels(scope.kind, cluster).inc()  # (none): the unknown name is the asker's, no label
                yield replace(scope, correlation_id=correlation_id)
                return
            cluster = cluster_label(scope)
            # a resume's steps finish calls started in an earlier run: their names are in the history
            names = {} if isinstance(prompt, str) else _tool_names(agent.messages, prompt)
            failures: list[BaseException] = []
            state = {
                # one-shot questions (the terminal) are keyed like their "question" audit record
                REQUEST_FACTS: {
                    "conversation_id": conversation_id or f"oneshot-{correlation_id}",
                    "correlation_id": correlation_id,
                    "user": user,
                },
                MODEL_FAILURES: failures,
                CLUSTER_SCOPE: scope,
            }
            raw = agent.stream_async(prompt, invocation_state=state)
            async for event in answer_events(raw, correlation_id, names, failures):
                yield event
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            logger.exception("answer failed [correlation_id=%s]", correlation_id)
            failure: ErrorEvent = describe_failure(exc, correlation_id, self.assistant.settings)
            ERRORS.labels(failure.kind, cluster).inc()
            yield failure
        finally:
            ANSWER.observe(time.monotonic() - started)

    def _scope(
        self, agent: Any, prompt: Any, place_cluster: str | None, flag_clusters: tuple[str, ...] = ()
    ) -> ClusterScope | ErrorEvent | None:
        """The request's clusters, remembered in the conversation's agent state; the prompt names them.

        A question resolves them (flag, question, the thread's, the place's, default); a resume keeps
        the interrupted question's. Only a fleet file resolves: a fleet of one is always its cluster,
        and a `flag_clusters` value other than it is refused as an unknown cluster.
        """
        assistant = self.assistant
        if assistant.fleet is None or not assistant.bind_clusters:
            flagged = flag_resolution(assistant.fleet, flag_clusters)
            if flagged is not None and flagged.error:
                return _unknown_cluster(flagged.error)
            return assistant.scope()
        remembered = agent.state.get(THREAD_CLUSTERS) or {}
        resolution: Resolution | None = None
        if isinstance(prompt, str):
            resolution = resolve(
                assistant.fleet,
                prompt,
                thread_cluster=remembered.get("thread"),
                place_cluster=place_cluster,
                flagged=flag_clusters,
            )
            if resolution.error:
                return _unknown_cluster(resolution.error)
        else:
            known = tuple(n for n in remembered.get("question", ()) if n in assistant.fleet.clusters)
            resolution = Resolution(known, remembered.get("source", "thread")) if known else None
        scope = assistant.scope(resolution)
        if scope is not None:
            thread = scope.clusters[0] if len(scope.clusters) == 1 else remembered.get("thread")
            agent.state.set(
                THREAD_CLUSTERS,
                {"thread": thread, "question": list(scope.clusters), "source": scope.resolution.source},
            )
        agent.system_prompt = assistant.system_prompt(scope)
        return scope

    def _session(self, conversation_id: str | None) -> SessionManager | None:
        """The conversation's memory (none for one-shot questions or without a session store)."""
        if self.sessions is None or not conversation_id:
            return None
        return self.sessions.manager(conversation_id)


def cluster_label(scope: ClusterScope | None) -> str:
    """A request's clusters as a metric label: fleet names only (several: sorted and comma-joined, so one
    set of clusters is one series), or "(none)" without any; never text of the question or the model."""
    return ",".join(sorted(scope.clusters)) if scope is not None and scope.clusters else NO_CLUSTER


def _approval_pending(correlation_id: str) -> ErrorEvent:
    return ErrorEvent(
        "approval_pending",
        "A change in this conversation is waiting for a decision on its approval card.",
        "",
        correlation_id,
        action="Approve or deny it (or let it expire), then ask again.",
    )


def _thread_busy(correlation_id: str) -> ErrorEvent:
    return ErrorEvent(
        "thread_busy",
        "Still working on the previous question in this thread.",
        "",
        correlation_id,
        action="Ask again once it is answered.",
    )


def _unknown_cluster(error: str) -> ErrorEvent:
    return ErrorEvent(
        "unknown_cluster", error, "", action="Ask again with one of the known clusters, or without --cluster."
    )


def _paused_on(agent: Any) -> set[str]:
    """The interrupt ids an agent restored from its session is paused on (empty when it is not).

    strands-agents 1.62 has no public accessor for an agent's interrupt state (only `take_snapshot`,
    whose "interrupt_state" entry is the same private object serialized), so this one function reads
    the private `_interrupt_state`; check it when upgrading Strands.
    """
    state = agent._interrupt_state
    return set(state.interrupts) if state.activated else set()


def _tool_names(messages: Any, blocks: Any) -> dict[str, str]:
    """toolUseId → tool name from the conversation so far and from approval responses (nested calls)."""
    names: dict[str, str] = {}
    for message in messages or []:
        for block in message.get("content", []) or []:
            if isinstance(block, dict) and "toolUse" in block:
                names[block["toolUse"]["toolUseId"]] = block["toolUse"]["name"]
    for block in blocks or []:
        response = (block.get("interruptResponse") or {}).get("response") if isinstance(block, dict) else None
        if isinstance(response, dict) and response.get("tool_use_id") and response.get("tool"):
            names[str(response["tool_use_id"])] = str(response["tool"])
    return names
