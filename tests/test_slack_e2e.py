"""The Slack surface end to end: real Bolt over Socket Mode against a fake Slack, real agents and MCP.

No test here waits a fixed time or checks how fast something was: they wait for facts (`wait_until`), and
to show that something did *not* happen they wait for a later answer that proves the earlier event had its
chance. Pacing (one change per message per second) is checked on a fake clock in tests/test_replies.py.
"""

from __future__ import annotations

import asyncio
import re
from pathlib import Path

import pytest
from botocore.exceptions import NoCredentialsError
from strands.types.exceptions import ModelThrottledException

from slackbot.middleware import RESTARTING
from tests.fakes.brains import coordinator, default_brains
from tests.fakes.fake_cluster import FakeKubeAPI
from tests.fakes.scripted_model import Reply, Say, ScriptedModels, ToolCall, Turn
from tests.fakes.slack_api import BOT_USER, Message
from tests.slack_harness import HeldModel, running_bot, wait_until

PODS = ("web-6d4cf56db6-abcde", "crashy-7f9c", "imgpull-5b8d", "pending-0")


@pytest.fixture
def models() -> ScriptedModels:
    return ScriptedModels(default_brains(), chunk_size=6)


async def test_mention_is_answered_in_its_thread_streamed_natively(
    agent_env: Path, tmp_path: Path, models: ScriptedModels
) -> None:
    async with running_bot(models, tmp_path) as h:
        event = h.slack.mention("list the pods in default", channel="C1")
        envelope = await asyncio.to_thread(h.slack.send_event, event)
        ack = await asyncio.to_thread(h.slack.wait_ack, envelope)
        assert ack["acked"]  # acknowledged (how fast is measured in bench/slack_load.py, not here)
        replies = await h.final_reply("C1", event["ts"])
    assert len(replies) == 1
    reply = replies[0]
    assert reply.stream  # native streaming methods
    for pod in PODS:
        assert pod in reply.final_text
    titles = [c.get("title", "") for c in reply.chunks if c.get("type") == "task_update"]
    assert "Listing pods in default" in titles  # plain words, no tool names
    assert "Asking the Kubernetes specialist: list the pods in default" in titles
    assert not any("_" in t or "→" in t for t in titles), titles
    starts = h.slack.calls_of("chat.startStream")
    assert starts[0].params["recipient_user_id"] == "U1" and starts[0].params["thread_ts"] == event["ts"]
    assert h.unbudgeted_calls() == {}  # every Slack call of the reply spent the shared budget


async def test_answers_in_several_threads_share_one_budget(
    agent_env: Path, tmp_path: Path, models: ScriptedModels
) -> None:
    """Concurrent conversations in two modes: every call of every reply is granted by the bot's budget."""
    for streaming in ("native", "update"):
        async with running_bot(models, tmp_path, slack_streaming=streaming) as h:
            events = [h.slack.mention("list the pods in default", channel=c) for c in ("C1", "C2", "C3")]
            for event in events:
                await asyncio.to_thread(h.slack.send_event, event)
            for event in events:
                [reply] = await h.final_reply(event["channel"], event["ts"])
                assert "crashy-7f9c" in reply.final_text and reply.stream == (streaming == "native")
            assert h.unbudgeted_calls() == {}, streaming


@pytest.mark.parametrize(
    ("streaming", "final_method"), [("native", "chat.stopStream"), ("update", "chat.update")]
)
async def test_a_429_on_the_final_call_still_delivers_the_whole_answer(
    agent_env: Path, tmp_path: Path, models: ScriptedModels, streaming: str, final_method: str
) -> None:
    async with running_bot(models, tmp_path, slack_streaming=streaming) as h:
        h.slack.fail_next(final_method, status=429, retry_after=1)
        event = h.slack.mention("hello")  # a short answer: its one call of the method is the final one
        await asyncio.to_thread(h.slack.send_event, event)
        [reply] = await h.final_reply("C1", event["ts"])
    assert h.slack.rate_limited_count == 1
    assert reply.final_text.startswith("Hello! I'm sre-bot.")


async def test_dm_is_answered_in_the_dm_thread(
    agent_env: Path, tmp_path: Path, models: ScriptedModels
) -> None:
    async with running_bot(models, tmp_path) as h:
        event = h.slack.dm("hello")
        await asyncio.to_thread(h.slack.send_event, event)
        replies = await h.final_reply("D1", event["ts"])
    assert replies[0].final_text.startswith("Hello! I'm sre-bot")


async def test_slash_command_starts_a_thread_naming_the_requester(
    agent_env: Path, tmp_path: Path, models: ScriptedModels
) -> None:
    async with running_bot(models, tmp_path) as h:
        envelope = await asyncio.to_thread(
            h.slack.send_slash_command, "list the pods in default", user_id="U7"
        )
        ack = await asyncio.to_thread(h.slack.wait_ack, envelope)
        assert ack["acked"]  # acknowledged (how fast is measured in bench/slack_load.py, not here)

        def roots() -> list[Message]:
            return sorted(
                (
                    m
                    for m in list(h.slack.messages.values())
                    if m.channel == "C1" and m.thread_ts is None and m.user == BOT_USER
                ),
                key=lambda m: float(m.ts),
            )

        await wait_until(roots, "the thread root naming the requester")
        first = roots()[0]
        replies = await h.final_reply("C1", first.ts)
        # a question that merely starts with "help" is a question, not the usage text
        helped = await asyncio.to_thread(
            h.slack.wait_ack, h.slack.send_slash_command("help me with the pods in default")
        )
        await wait_until(lambda: len(roots()) >= 2, "a second thread root")
        second = roots()[1]
        help_me = await h.final_reply("C1", second.ts)
    assert first.text == "<@U7> asked: list the pods in default"
    assert len(roots()) == 2  # both answered: one root each, none twice
    assert "crashy-7f9c" in replies[0].final_text
    assert "text" not in (helped["ack"] or {})
    assert "crashy-7f9c" in help_me[0].final_text


async def test_slash_help_and_bad_input_get_short_answers(
    agent_env: Path, tmp_path: Path, models: ScriptedModels
) -> None:
    async with running_bot(models, tmp_path) as h:
        helped = await asyncio.to_thread(h.slack.wait_ack, h.slack.send_slash_command("help"))
        bare = await asyncio.to_thread(h.slack.wait_ack, h.slack.send_slash_command(""))
        unknown = await asyncio.to_thread(h.slack.wait_ack, h.slack.send_slash_command("frobnicate"))
        huge = await asyncio.to_thread(h.slack.wait_ack, h.slack.send_slash_command("why " * 10_000))
        empty = h.slack.mention("")
        await asyncio.to_thread(h.slack.send_event, empty)
        long_dm = h.slack.dm("x" * 40_000)
        await asyncio.to_thread(h.slack.send_event, long_dm)
        await wait_until(lambda: h.bot_messages("C1", empty["ts"]), "the answer to an empty mention")
        await wait_until(lambda: h.bot_messages("D1", long_dm["ts"]), "the answer to a huge DM")
        await wait_until(
            lambda: any(m.text.endswith("asked: frobnicate") for m in list(h.slack.messages.values())),
            "the thread root of the one-word question",
        )
        proof = h.slack.mention("hello", channel="C2")  # answered after all of the above had their turn
        await asyncio.to_thread(h.slack.send_event, proof)
        await h.final_reply("C2", proof["ts"])
    for ack in (helped, bare):
        text = ack["ack"]["text"]
        assert (
            "/k8s list the pods in default" in text and "cluster `fake-k3s`" in text and "read-only" in text
        )
        assert ack["ack"]["response_type"] == "ephemeral"
        assert "*Answers about*: Kubernetes/EKS, AWS cost (FinOps)\n" in text
        assert "*Not set up*: Metrics (Prometheus): PROMETHEUS_URL is not set" in text  # and how to enable it
    assert "text" not in (unknown["ack"] or {})  # one word other than help/status is a question
    assert "39,999 characters; I take at most 8,000" in huge["ack"]["text"]
    [empty_reply] = h.slack.thread("C1", empty["ts"])
    assert "Ask me something after the mention" in empty_reply.text
    [long_reply] = h.slack.thread("D1", long_dm["ts"])
    assert "40,000 characters; I take at most 8,000" in long_reply.text
    # none of the refused inputs reached the model: only the one-word question and the proof
    assert sorted(t.user_text for t in models.models["coordinator"].requests) == ["frobnicate", "hello"]


async def test_follow_up_in_the_thread_uses_the_earlier_context(
    agent_env: Path, tmp_path: Path, models: ScriptedModels
) -> None:
    async with running_bot(models, tmp_path) as h:
        first = h.slack.mention("why is crashy-7f9c failing?")
        await asyncio.to_thread(h.slack.send_event, first)
        await h.final_reply("C1", first["ts"])
        follow = h.slack.mention("and what do its logs say now?", thread_ts=first["ts"])
        await asyncio.to_thread(h.slack.send_event, follow)
        replies = await h.final_reply("C1", first["ts"], count=2)
    assert "DATABASE_URL is not set" in replies[0].final_text
    assert models.models["coordinator"].requests[-1].history == ["why is crashy-7f9c failing?"]
    assert "DATABASE_URL is not set" in replies[1].final_text


async def test_redelivery_and_own_or_bot_messages_get_no_second_answer(
    agent_env: Path, tmp_path: Path, models: ScriptedModels
) -> None:
    async with running_bot(models, tmp_path) as h:
        event = h.slack.mention("hello")
        await asyncio.to_thread(h.slack.send_event, event, event_id="Ev1")
        await asyncio.to_thread(
            h.slack.send_event, event, event_id="Ev1", retry_attempt=1, retry_reason="timeout"
        )
        await h.final_reply("C1", event["ts"])
        noises = [
            {**h.slack.dm("edited"), "subtype": "message_changed"},
            {**h.slack.dm("from a bot"), "bot_id": "B2"},
            {**h.slack.dm("mine"), "user": BOT_USER},
        ]
        for noise in noises:
            await asyncio.to_thread(h.slack.send_event, noise)
        proof = h.slack.dm("hello again", channel="D2")  # answered after the noise had its turn
        await asyncio.to_thread(h.slack.send_event, proof)
        await h.final_reply("D2", proof["ts"])
    assert len(h.slack.thread("C1", event["ts"])) == 1
    assert all(h.bot_messages("D1", noise["ts"]) == [] for noise in noises)
    assert [t.user_text for t in models.models["coordinator"].requests] == ["hello", "hello again"]


async def test_a_429_then_success_loses_nothing(
    agent_env: Path, tmp_path: Path, models: ScriptedModels
) -> None:
    async with running_bot(models, tmp_path) as h:
        h.slack.fail_next("chat.startStream", status=429, retry_after=1)
        event = h.slack.mention("list the pods in default")
        await asyncio.to_thread(h.slack.send_event, event)
        replies = await h.final_reply("C1", event["ts"])
        native_still_on = h.bot.conversations.native
    assert h.slack.rate_limited_count == 1
    # the sign of life does not wait out Retry-After: a placeholder shows instead, edited to the answer
    assert len(h.slack.calls_of("chat.startStream")) == 1
    assert len(replies) == 1 and not replies[0].stream and "crashy-7f9c" in replies[0].final_text
    assert native_still_on  # a 429 is not "native streaming unavailable": later questions try it again


async def test_a_workspace_with_small_bursts_shows_every_question_a_reply_without_queueing(
    agent_env: Path, tmp_path: Path, models: ScriptedModels
) -> None:
    """Slack publishes no burst sizes. With only 2 calls at once per method, the question past the stream
    burst gets a placeholder at once instead of retrying chat.startStream; after that 429 the budget stops
    trying it (the next questions get placeholders without a refused call); every answer arrives whole."""
    channels = [f"C{i}" for i in range(6)]
    async with running_bot(models, tmp_path, rate_limits=True, burst=2) as h:
        events = [h.slack.mention("list the pods in default", channel=c) for c in channels]
        for event in events:  # one after the other, each once its reply shows
            await asyncio.to_thread(h.slack.send_event, event)
            await wait_until(lambda e=event: h.bot_messages(e["channel"], e["ts"]), "a sign of life")
        replies = [await h.final_reply(e["channel"], e["ts"], within=60) for e in events]
    starts = h.slack.calls_of("chat.startStream")
    refused = [c for c in starts if c.status == 429]
    assert len(refused) == 1, [c.status for c in starts]  # learnt from the first 429
    assert len({c.params["thread_ts"] for c in starts}) == len(starts)  # no start retried
    streamed = {c.params["thread_ts"] for c in starts if c.status == 200}
    for event, thread in zip(events, replies, strict=True):
        assert len(thread) == 1 and "crashy-7f9c" in thread[0].final_text
        assert thread[0].stream == (event["ts"] in streamed)
    assert len(streamed) == 2


def long_answer(turn: Turn) -> str:
    """Prose, then a code block longer than one message, so the cut must keep fences balanced."""
    prose = [f"{i:05d} " + ("lorem ipsum dolor sit amet " * 3) + "and so on" for i in range(100)]
    code = [f"{i:05d} pod/web-{i:04d}   Running   0   {i % 60}m" for i in range(100, 420)]
    return "\n".join(prose) + "\n```\n" + "\n".join(code) + "\n```\nThat is all."


async def test_an_answer_longer_than_slack_allows_continues_in_the_thread(
    agent_env: Path, tmp_path: Path
) -> None:
    models = ScriptedModels({**default_brains(), "coordinator": long_answer}, chunk_size=500)
    expected = long_answer(Turn("", [], "", []))
    assert len(expected) > 2 * 11_000
    for streaming in ("native", "update"):
        async with running_bot(models, tmp_path, slack_streaming=streaming) as h:
            event = h.slack.mention("write a lot")
            await asyncio.to_thread(h.slack.send_event, event)
            replies = await h.final_reply("C1", event["ts"], count=3)
        texts = [r.final_text.replace("\n\n_(continued below)_", "") for r in replies]
        assert len(texts) == 3, streaming
        assert all(len(r.final_text) <= 12_000 for r in replies)
        assert all(len(r.text) <= 4_000 for r in replies)
        for text in texts:  # each message renders on its own: whole lines, balanced code fences
            lines = text.strip("\n").split("\n")
            assert sum(line == "```" for line in lines) % 2 == 0, (streaming, text[:200])
            assert set(lines) <= set(expected.split("\n")), streaming
        joined = "\n".join(texts)
        for line in expected.splitlines():
            assert line in joined
        assert not [c for c in h.slack.calls if c.response.get("error")], streaming


def announces_then_routes(turn: Turn) -> Reply:
    """A coordinator that says what it will do before calling the specialist, as real models do."""
    reply = coordinator(turn)
    return Say("Let me check the pods.", reply) if isinstance(reply, ToolCall) else reply


async def test_text_before_a_tool_call_stays_in_one_clean_message(agent_env: Path, tmp_path: Path) -> None:
    models = ScriptedModels({**default_brains(), "coordinator": announces_then_routes}, chunk_size=6)
    for streaming in ("native", "update"):
        async with running_bot(models, tmp_path, slack_streaming=streaming) as h:
            event = h.slack.mention("list the pods in default")
            await asyncio.to_thread(h.slack.send_event, event)
            replies = await h.final_reply("C1", event["ts"])
        assert len(replies) == 1, streaming
        text = replies[0].final_text
        assert text.startswith("Let me check the pods.\n\n"), (streaming, text[:80])
        assert "continued below" not in text
        for pod in PODS:
            assert pod in text


async def test_update_mode_when_native_streaming_is_unavailable(
    agent_env: Path, tmp_path: Path, models: ScriptedModels
) -> None:
    async with running_bot(models, tmp_path) as h:
        h.slack.fail_next("chat.startStream", status=200, error="unknown_method")
        event = h.slack.mention("list the pods in default")
        await asyncio.to_thread(h.slack.send_event, event)
        replies = await h.final_reply("C1", event["ts"])
        second = h.slack.mention("hello")
        await asyncio.to_thread(h.slack.send_event, second)
        await h.final_reply("C1", second["ts"])
    assert not replies[0].stream and "crashy-7f9c" in replies[0].final_text
    assert len(h.slack.calls_of("chat.startStream")) == 1  # not tried again after unknown_method
    assert h.unbudgeted_calls() == {}  # the failed start and every edit spent the shared budget


async def test_when_the_final_edit_fails_the_answer_is_posted_and_the_stale_placeholder_removed(
    agent_env: Path, tmp_path: Path, models: ScriptedModels
) -> None:
    async with running_bot(models, tmp_path, slack_streaming="update") as h:
        for _ in range(50):  # every edit of the placeholder fails
            h.slack.fail_next("chat.update", status=200, error="cant_update_message")
        event = h.slack.mention("list the pods in default")
        await asyncio.to_thread(h.slack.send_event, event)
        await h.final_reply("C1", event["ts"])  # returns once the reply is done, its clean-up included
        replies = h.bot_messages("C1", event["ts"])
    assert len(replies) == 1 and "crashy-7f9c" in replies[0].final_text
    assert len(h.slack.calls_of("chat.delete")) == 1
    assert h.unbudgeted_calls() == {}


def throttled(turn: Turn) -> str:
    raise ModelThrottledException("ThrottlingException: Too many requests")


async def test_error_paths_say_what_failed_with_a_correlation_id(
    agent_env: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, kube: FakeKubeAPI
) -> None:
    monkeypatch.setenv("MODEL_MAX_WAIT_SECONDS", "1")
    models = ScriptedModels({**default_brains(), "coordinator": throttled})
    async with running_bot(models, tmp_path) as h:
        event = h.slack.mention("list the pods")
        await asyncio.to_thread(h.slack.send_event, event)
        [reply] = await h.final_reply("C1", event["ts"])
    assert ":warning: *The model is throttled right now" in reply.final_text
    assert "Reference: `" in reply.final_text and "Traceback" not in reply.final_text

    def no_credentials(turn: Turn) -> str:
        raise NoCredentialsError()

    models = ScriptedModels({**default_brains(), "coordinator": no_credentials})
    async with running_bot(models, tmp_path) as h:
        event = h.slack.mention("list the pods")
        await asyncio.to_thread(h.slack.send_event, event)
        [reply] = await h.final_reply("C1", event["ts"])
    assert "rejected the credentials" in reply.final_text and "AWS_PROFILE" in reply.final_text
    assert "Reference: `" in reply.final_text

    kube.stop()  # cluster unreachable
    models = ScriptedModels(default_brains())
    async with running_bot(models, tmp_path) as h:
        event = h.slack.mention("list the pods in default")
        await asyncio.to_thread(h.slack.send_event, event)
        [reply] = await h.final_reply("C1", event["ts"])
    assert "Failed to list Pod resources" in reply.final_text
    assert any(c.get("status") == "error" for c in reply.chunks if c.get("type") == "task_update")
    # what failed and what to check come from code, not from the model's prose, with the log's id
    assert "**The cluster's API server could not be reached.** Ask again in a few minutes" in reply.final_text
    assert "Check KUBECONFIG / DEFAULT_CLUSTER" in reply.final_text  # the admin's line
    assert re.search(r"Reference: `[0-9a-f]{10}`", reply.final_text)

    monkeypatch.setenv("MCP_BIN_DIR", str(tmp_path / "nothing"))
    monkeypatch.setenv("PATH", "/usr/bin:/bin")
    async with running_bot(ScriptedModels(default_brains()), tmp_path) as h:
        event = h.slack.mention("list the pods in default")
        await asyncio.to_thread(h.slack.send_event, event)
        [reply] = await h.final_reply("C1", event["ts"])
    assert "Kubernetes/EKS is unavailable right now: the eks MCP server is not installed" in reply.final_text
    assert (
        "**The EKS MCP server is not installed.**" in reply.final_text and "Reference: `" in reply.final_text
    )


async def test_one_thread_in_order_different_threads_at_once(agent_env: Path, tmp_path: Path) -> None:
    models = ScriptedModels(default_brains(), chunk_size=4, delay=0.01)
    async with running_bot(models, tmp_path) as h:
        first = h.slack.mention("list the pods in default", channel="C1")
        follow = h.slack.mention("hello again", channel="C1", thread_ts=first["ts"])
        other = h.slack.mention("list the pods in default", channel="C2")
        for event in (first, follow, other):
            await asyncio.to_thread(h.slack.send_event, event)
        replies = await h.final_reply("C1", first["ts"], count=2)
        await h.final_reply("C2", other["ts"])
    assert "crashy-7f9c" in replies[0].final_text and replies[1].final_text.startswith("Hello!")
    coordinator = models.models["coordinator"]
    texts = [t.user_text for t in coordinator.requests]
    # the follow-up ran only after the first answer in its thread was complete, and saw it as history
    hello_at = texts.index("hello again")
    assert coordinator.requests[hello_at].history == ["list the pods in default"]
    first_done = max(i for i, t in enumerate(texts[:hello_at]) if t == "list the pods in default")
    assert coordinator.times[hello_at] > coordinator.times[first_done]
    # the other channel's question did not wait for thread C1: both were asked before either finished
    pods_requests = [i for i, t in enumerate(texts) if t == "list the pods in default"]
    assert len(pods_requests) >= 4 and pods_requests[1] < hello_at


async def test_assistant_threads_get_prompts_status_and_title(
    agent_env: Path, tmp_path: Path, models: ScriptedModels
) -> None:
    async with running_bot(models, tmp_path) as h:
        started = {
            "type": "assistant_thread_started",
            "assistant_thread": {
                "user_id": "U1",
                "channel_id": "D1",
                "thread_ts": "1700000000.000001",
                "context": {},
            },
            "event_ts": "1700000000.000002",
        }
        await asyncio.to_thread(h.slack.send_event, started, event_id="EvSTART1")
        await asyncio.to_thread(  # Slack redelivers the thread start: one greeting
            h.slack.send_event, started, event_id="EvSTART1", retry_attempt=1, retry_reason="timeout"
        )
        question = h.slack.dm("list the pods in default", thread_ts="1700000000.000001")
        await asyncio.to_thread(h.slack.send_event, question)
        replies = await h.final_reply("D1", "1700000000.000001", count=2)
    prompts = h.slack.calls_of("assistant.threads.setSuggestedPrompts")
    assert prompts and prompts[0].params["prompts"][0]["title"] == "Failing pods"
    assert [c.params["status"] for c in h.slack.calls_of("assistant.threads.setStatus")] == ["is thinking…"]
    assert h.slack.calls_of("assistant.threads.setTitle")[0].params["title"] == "list the pods in default"
    assert replies[0].text.startswith("Hi! Ask me")
    assert "crashy-7f9c" in replies[1].final_text
    questions = [t for t in models.models["coordinator"].requests if not t.tool_results]
    assert len(questions) == 1  # answered once, not also as a plain DM
    assert h.unbudgeted_calls() == {}  # greeting, prompts, status and title spent the shared budget


async def test_shutdown_ends_every_started_reply(agent_env: Path, tmp_path: Path) -> None:
    models = ScriptedModels(default_brains())
    held = models.models["coordinator"] = HeldModel(coordinator)  # the answer stays in flight
    try:
        async with running_bot(models, tmp_path) as h:
            first = h.slack.mention("list the pods in default")
            queued = h.slack.mention("hello", thread_ts=first["ts"])
            for event in (first, queued):
                await asyncio.to_thread(h.slack.send_event, event)
            await wait_until(
                lambda: held.asked.is_set() and len(h.bot_messages("C1", first["ts"])) == 2,
                "the first answer at the model and both replies started",
            )
            await h.bot.conversations.drain(0.1)  # SIGTERM with (almost) no grace
            await wait_until(
                lambda: not any(m.streaming for m in h.bot_messages("C1", first["ts"])),
                "both replies ended",
            )
            replies = h.bot_messages("C1", first["ts"])
    finally:
        held.release()
    assert len(replies) == 2
    for reply in replies:
        assert not reply.streaming and "Working on it" not in reply.final_text
        assert "Interrupted: the bot is restarting" in reply.final_text


async def test_a_question_during_shutdown_is_told_to_come_back(agent_env: Path, tmp_path: Path) -> None:
    models = ScriptedModels(default_brains())
    held = models.models["coordinator"] = HeldModel(coordinator)  # the answer stays in flight
    try:
        async with running_bot(models, tmp_path) as h:
            first = h.slack.mention("list the pods in default")
            await asyncio.to_thread(h.slack.send_event, first)
            await wait_until(held.asked.is_set, "the first answer at the model")
            draining = asyncio.create_task(h.bot.conversations.drain(30))
            await wait_until(lambda: h.bot.conversations.closing, "the bot draining")
            late = h.slack.mention("hello", channel="C2")
            await asyncio.to_thread(h.slack.wait_ack, await asyncio.to_thread(h.slack.send_event, late))
            await wait_until(lambda: h.bot_messages("C2", late["ts"]), "the note to the late question")
            [note] = h.bot_messages("C2", late["ts"])
            # told at once, while the first answer was still held at the model
            assert h.slack.calls_of("chat.stopStream") == [] and not draining.done()
            held.release()
            await draining
            [answer] = await h.final_reply("C1", first["ts"])
    finally:
        held.release()
    assert note.text == RESTARTING
    assert "crashy-7f9c" in answer.final_text  # the answer in flight was finished, not cut


async def test_slash_command_in_a_channel_without_the_bot_says_how_to_fix_it(
    agent_env: Path, tmp_path: Path, models: ScriptedModels
) -> None:
    async with running_bot(models, tmp_path) as h:
        envelope = await asyncio.to_thread(h.slack.send_slash_command, "list the pods", channel_id="CX9")
        await asyncio.to_thread(h.slack.wait_ack, envelope)
        await wait_until(lambda: h.slack.responses, "the ephemeral answer to the command")
        proof = h.slack.mention("hello")  # answered after the command had its turn
        await asyncio.to_thread(h.slack.send_event, proof)
        await h.final_reply("C1", proof["ts"])
    assert "invite me first: `/invite @sre-bot`" in h.slack.responses[-1]["text"]
    assert h.slack.responses[-1]["response_type"] == "ephemeral"
    assert [t.user_text for t in models.models["coordinator"].requests] == [
        "hello"
    ]  # the command asked nothing


async def test_each_reply_in_flight_is_recorded_under_this_replica_until_it_ends(
    agent_env: Path, tmp_path: Path
) -> None:
    """What a survivor needs to end this replica's replies if it dies (tests/test_recovery.py): recorded
    while the answer grows, gone once it ended, for both ways a reply grows."""
    models = ScriptedModels(default_brains())
    held = models.models["coordinator"] = HeldModel(coordinator)
    try:
        async with running_bot(models, tmp_path) as h:
            record = h.core.stores.open_replies
            assert record is not None and h.bot.recovery is not None
            event = h.slack.mention("hello")
            await asyncio.to_thread(h.slack.send_event, event)
            await wait_until(lambda: held.asked.is_set() and record.all(), "the answer in flight, recorded")
            [entry] = record.all()
            [reply] = h.bot_messages("C1", event["ts"])
            assert entry.owner == h.core.runner.owner
            assert entry.place == {
                "channel": "C1",
                "thread_ts": event["ts"],
                "ts": reply.ts,
                "kind": "stream",
            }
            held.release()
            await h.final_reply("C1", event["ts"])
            assert record.all() == []
    finally:
        held.release()
