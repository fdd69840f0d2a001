"""Replies on a fake clock and an in-process Slack: checked by fact, never by time.

Every Slack call a reply makes spends the shared budget (calls per method equal the budget's grants); no
message changes twice within a second of fake time; long answers are never cut mid-line or repeated; a
streamed answer is redacted as a whole.
"""

from __future__ import annotations

import itertools
from collections import Counter
from dataclasses import dataclass

import pytest
from slack_sdk.errors import SlackApiError

from slackbot import replies
from slackbot.rate_budget import RateBudget, Tier
from slackbot.replies import NativeStreamReply, Reply, ReplyTarget, StepView, StreamUnavailable, UpdateReply
from tests.fakes.slack_api import FakeClock


def test_slack_error_survives_bodies_that_are_not_json() -> None:
    from slack_sdk.errors import SlackApiError
    from slack_sdk.web.slack_response import SlackResponse

    from slackbot.slack_errors import slack_error

    def response(data: object, status: int) -> SlackResponse:
        return SlackResponse(
            client=None,
            http_verb="GET",
            api_url="u",
            req_args={},
            data=data,  # type: ignore[arg-type]
            headers={},
            status_code=status,
        )

    assert (
        slack_error(SlackApiError("x", response({"ok": False, "error": "not_in_channel"}, 200)))
        == "not_in_channel"
    )
    assert slack_error(SlackApiError("x", response("405: Method Not Allowed", 405))) == "http_405"


@dataclass(frozen=True)
class SlackCall:
    method: str
    message: str  # the ts of the message the call created or changed
    at: float  # the fake clock when the call was made


class RecordingSlack:
    """Just enough of AsyncWebClient for replies: what a person would read, and every call with its
    (fake) time; methods in `failing` answer with an error."""

    def __init__(self, clock: FakeClock | None = None, failing: tuple[str, ...] = ()) -> None:
        self.clock = clock or FakeClock()
        self.failing = failing
        self.calls: list[SlackCall] = []
        self.streamed = ""
        self.posts: list[str] = []
        self._ts = itertools.count(1)

    def _call(self, method: str, ts: object = None) -> str:
        message = str(ts) if ts is not None else f"2.{next(self._ts)}"
        self.calls.append(SlackCall(method, message, self.clock.now()))
        if method in self.failing:
            raise SlackApiError("failed", {"ok": False, "error": "cant_update_message"})
        return message

    def per_method(self) -> Counter[str]:
        return Counter(c.method for c in self.calls)

    async def chat_startStream(self, **kwargs: object) -> dict[str, str]:
        return {"ts": self._call("chat.startStream")}

    async def _chunks(self, chunks: object) -> None:
        for chunk in chunks or []:  # type: ignore[attr-defined]
            if chunk.get("type") == "markdown_text":
                self.streamed += chunk["text"]
                assert len(self.streamed) <= 12_000, "a streamed message outgrew Slack's limit"

    async def chat_appendStream(self, ts: str, chunks: object = None, **kwargs: object) -> dict[str, bool]:
        self._call("chat.appendStream", ts)
        await self._chunks(chunks)
        return {"ok": True}

    async def chat_stopStream(self, ts: str, chunks: object = None, **kwargs: object) -> dict[str, bool]:
        self._call("chat.stopStream", ts)
        await self._chunks(chunks)
        return {"ok": True}

    async def chat_postMessage(
        self, blocks: list[dict[str, str]] | None = None, **kwargs: object
    ) -> dict[str, str]:
        ts = self._call("chat.postMessage")
        if blocks:
            self.posts.append(blocks[0]["text"])
        return {"ts": ts}

    async def chat_update(self, ts: str, **kwargs: object) -> dict[str, bool]:
        self._call("chat.update", ts)
        return {"ok": True}

    async def chat_delete(self, ts: str, **kwargs: object) -> dict[str, bool]:
        self._call("chat.delete", ts)
        return {"ok": True}


PROSE = "\n".join(f"{i:04d}" + " the quick brown fox jumps over the lazy dog" * 2 for i in range(260))
CODE_ACROSS_THE_LIMIT = (
    "\n".join(f"line {i}:" + " words" * 12 for i in range(110))
    + "\n```\n"
    + "\n".join(f"pod/web-{i:04d}   Running   0   {i}m" for i in range(400))
    + "\n```\nThe end."
)


STEPS = [StepView("t1", "eks_assistant → list Pod in default"), StepView("t2", "kubectl logs crashy")]


async def converse(reply: Reply, clock: FakeClock, answer: str, step: int = 211) -> None:
    """A model writing `answer` to a started reply, a piece every 0.3 s of fake time, with tool steps."""
    for n, end in enumerate(range(0, len(answer), step)):
        clock.advance(0.3)
        steps = [
            StepView(s.id, s.title, "complete" if i < n // 5 else "in_progress") for i, s in enumerate(STEPS)
        ]
        await reply.show(answer[:end], steps[: 1 + n // 5])
    await reply.finish(answer, STEPS)


async def started_reply(mode: str, slack: RecordingSlack, budget: RateBudget) -> Reply:
    """A reply as Conversations starts one: a native stream when it starts, else a placeholder."""
    target = ReplyTarget("C1", "1.0", "U1", "T1")
    if mode == "native":
        native = NativeStreamReply(slack, budget, target)  # type: ignore[arg-type]
        try:
            await native.start()
            return native
        except StreamUnavailable:
            pass
    fallback = UpdateReply(slack, budget, target)  # type: ignore[arg-type]
    await fallback.start()
    return fallback


Scenario = tuple[str, tuple[str, ...], set[str]]
SCENARIOS: list[Scenario] = [
    ("native", (), {"chat.startStream", "chat.appendStream", "chat.stopStream", "chat.postMessage"}),
    (
        "native",
        ("chat.stopStream",),
        {"chat.startStream", "chat.appendStream", "chat.stopStream", "chat.postMessage"},
    ),
    ("native", ("chat.startStream",), {"chat.startStream", "chat.postMessage", "chat.update"}),
    ("update", (), {"chat.postMessage", "chat.update"}),
    ("update", ("chat.update",), {"chat.postMessage", "chat.update", "chat.delete"}),
]


@pytest.mark.parametrize(
    ("mode", "failing", "expected"),
    SCENARIOS,
    ids=["native", "stop fails", "start fails", "update", "final edit fails"],
)
async def test_every_slack_call_of_a_reply_spends_the_shared_budget(
    mode: str, failing: tuple[str, ...], expected: set[str]
) -> None:
    """Calls per method equal the tokens the budget granted: a call that bypasses it shows as a gap."""
    clock = FakeClock()
    slack = RecordingSlack(clock, failing)
    budget = RateBudget(clock=clock)
    await converse(await started_reply(mode, slack, budget), clock, PROSE)
    calls = slack.per_method()
    assert set(calls) == expected  # every path of the scenario was taken
    assert calls == {method: n for method, n in budget.granted.items() if n}


@pytest.mark.parametrize("mode", ["native", "update"])
async def test_no_message_changes_twice_within_a_second_until_the_final_which_never_waits(mode: str) -> None:
    """Slack allows about one change per message per second: the fake clock at every call proves the
    growing answer keeps to it, and that the final change goes out the moment the answer is complete."""
    clock = FakeClock()
    slack = RecordingSlack(clock)
    budget = RateBudget(tiers={}, clock=clock)
    target = ReplyTarget("C1", "1.0", "U1", "T1")
    reply: Reply = (NativeStreamReply if mode == "native" else UpdateReply)(slack, budget, target)  # type: ignore[arg-type]
    await reply.start()
    pieces = iter(range(97, len(PROSE), 97))  # a piece every 0.1 s of fake time
    for end in itertools.islice(pieces, 80):
        clock.advance(0.1)
        await reply.show(PROSE[:end], [])
    changed = len(slack.calls)
    for end in itertools.islice(pieces, 20):  # end right after a change
        clock.advance(0.1)
        await reply.show(PROSE[:end], [])
        if len(slack.calls) > changed:
            break
    clock.advance(0.1)
    await reply.finish(PROSE[: end + 500], [])
    by_message: dict[str, list[float]] = {}
    for call in slack.calls:
        by_message.setdefault(call.message, []).append(call.at)
    [changes] = by_message.values()
    assert len(changes) >= 8  # it did keep the message growing
    gaps = [b - a for a, b in itertools.pairwise(changes[:-1])]
    assert min(gaps) >= 1.0, gaps
    assert changes[-1] - changes[-2] == pytest.approx(0.1) and clock.sleeps == []  # the final did not wait


async def test_a_second_conversation_waits_for_the_token_the_first_spent() -> None:
    """Two threads in two channels, one budget: the second final waits exactly for a refill."""
    clock = FakeClock()
    slack = RecordingSlack(clock)
    # one chat.update at a time, and each channel's one post spent by its placeholder
    tiers = {"chat.update": Tier(per_minute=30, burst=1), "chat.postMessage": Tier(per_minute=60, burst=1)}
    budget = RateBudget(tiers, reserve_fraction=0.0, clock=clock)
    first = UpdateReply(slack, budget, ReplyTarget("C1", "1.0"))  # type: ignore[arg-type]
    second = UpdateReply(slack, budget, ReplyTarget("C2", "2.0"))  # type: ignore[arg-type]
    await first.start()
    await second.start()
    await first.finish("one", [])
    await second.finish("two", [])
    # the first final goes at once; the second waits for one token at 30/min: 2 s
    assert clock.sleeps == [2.0]
    assert [c.method for c in slack.calls] == ["chat.postMessage"] * 2 + ["chat.update"] * 2


@pytest.mark.parametrize("step", [97, 1013])
@pytest.mark.parametrize("answer", [PROSE, CODE_ACROSS_THE_LIMIT], ids=["prose", "code across the limit"])
async def test_a_native_stream_longer_than_a_message_is_never_cut_mid_line_or_repeated(
    monkeypatch: pytest.MonkeyPatch, answer: str, step: int
) -> None:
    monkeypatch.setattr(replies, "MIN_UPDATE_INTERVAL", 0.0)  # every show() may update
    slack = RecordingSlack()
    reply = replies.NativeStreamReply(slack, RateBudget(tiers={}), replies.ReplyTarget("C1", "1.0"))  # type: ignore[arg-type]
    await reply.start()
    for end in range(0, len(answer), step):  # tokens arriving in odd-sized pieces
        await reply.show(answer[:end], [])
    await reply.finish(answer, [])
    messages = [slack.streamed.replace("\n\n_(continued below)_", ""), *slack.posts]
    assert len(messages) >= 2 and "(continued below)" in slack.streamed
    expected_lines = set(answer.split("\n")) | {"```"}
    for text in messages:
        lines = [line for line in text.split("\n") if line]
        assert set(lines) <= expected_lines, "a line was cut in two"
        assert sum(line == "```" for line in lines) % 2 == 0, "unbalanced code fence"
    shown = [line for text in messages for line in text.split("\n") if line and line != "```"]
    assert shown == [line for line in answer.split("\n") if line != "```"]  # all of it, once, in order


PLANTED = (
    "Found it: token xoxb-123-456-abc in the env, key AKIAABCDEFGHIJKLMNOP, a header\n"
    "Authorization: Bearer abcdefghijklmnopqrstuvwxyz012345 and <!channel> <@U999>.\n"
    "-----BEGIN RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEAxyz\nq1w2e3r4t5y6\n-----END RSA PRIVATE KEY-----\n"
    "Rotate them all."
)
FRAGMENTS = ("xoxb-1", "456-abc", "AKIAAB", "abcdefghijklmnop", "MIIEow", "q1w2e3", "<!channel>", "<@U999>")


@pytest.mark.parametrize("step", [1, 2, 7])
async def test_a_streamed_answer_is_redacted_as_a_whole_never_chunk_by_chunk(
    monkeypatch: pytest.MonkeyPatch, step: int
) -> None:
    """A secret split across streamed chunks is not redacted in either chunk: only settled text is
    streamed, redacted as a whole, and what was streamed is never taken back."""
    from slackbot.outbound import answer_markdown

    monkeypatch.setattr(replies, "MIN_UPDATE_INTERVAL", 0.0)
    slack = RecordingSlack()
    reply = replies.NativeStreamReply(slack, RateBudget(tiers={}), replies.ReplyTarget("C1", "1.0"))  # type: ignore[arg-type]
    await reply.start()
    for end in range(0, len(PLANTED), step):
        await reply.show(PLANTED[:end], [])
        for fragment in FRAGMENTS:
            assert fragment not in slack.streamed, (end, slack.streamed)
    await reply.finish(PLANTED, [])
    assert slack.posts == []  # the stream never had to be abandoned and the answer posted again
    assert slack.streamed == answer_markdown(PLANTED)
    assert slack.streamed.count("[redacted]") == 4 and "&lt;!channel&gt;" in slack.streamed


@pytest.mark.parametrize("mode", ["native", "update"])
async def test_a_429_on_a_growing_answer_skips_that_change_instead_of_waiting_it_out(mode: str) -> None:
    """Through the bot's real client: an intermediate change Slack refuses with 429 is not retried (the
    next change carries the text anyway); the final change still waits out Retry-After and lands."""
    from slackbot.client import web_client
    from slackbot.config import SlackSettings
    from tests.fakes.slack_api import BOT_TOKEN, FakeSlack

    slack = FakeSlack().start()
    try:
        budget = RateBudget(tiers={})
        client = web_client(SlackSettings(slack_bot_token=BOT_TOKEN, slack_api_url=slack.api_url), budget)
        target = ReplyTarget("C1", "1.0", "U1", "T1")
        reply: Reply = (NativeStreamReply if mode == "native" else UpdateReply)(client, budget, target)
        method = "chat.appendStream" if mode == "native" else "chat.update"
        await reply.start()
        reply.pacer.last = float("-inf")  # type: ignore[attr-defined]
        slack.fail_next(method, status=429, retry_after=1)
        await reply.show("first words of the answer and more", [])
        assert [c.status for c in slack.calls_of(method)] == [429]  # refused, and not retried
        await reply.finish("first words of the answer and more, all of it.", [])
        [message] = [m for m in slack.messages.values() if m.thread_ts == "1.0"]
        assert message.final_text.startswith("first words of the answer and more, all of it.")
    finally:
        slack.stop()


async def test_when_chat_update_is_spent_the_final_shows_at_once_as_a_new_message() -> None:
    """Many answers ending at once can spend chat.update (Tier 3) for a while; chat.postMessage is counted
    per channel. The answer then shows at once as a new message in the thread, the placeholder goes."""
    clock = FakeClock()
    slack = RecordingSlack(clock)
    budget = RateBudget(
        {"chat.update": Tier(per_minute=30, burst=1), "chat.delete": Tier(60, 5)},
        reserve_fraction=0.0,
        clock=clock,
    )
    first = UpdateReply(slack, budget, ReplyTarget("C1", "1.0"))  # type: ignore[arg-type]
    second = UpdateReply(slack, budget, ReplyTarget("C2", "2.0"))  # type: ignore[arg-type]
    await first.start()
    await second.start()
    await first.finish("one", [])  # the one chat.update token
    await second.finish("two", [])
    assert clock.sleeps == []  # nobody waited
    calls = [(c.method, c.message) for c in slack.calls]
    first_placeholder, second_placeholder = calls[0][1], calls[1][1]
    assert calls[2] == ("chat.update", first_placeholder)
    assert [c[0] for c in calls[3:]] == ["chat.postMessage", "chat.delete"]
    assert calls[4][1] == second_placeholder != calls[3][1]
    assert slack.posts == ["two"]
    assert dict(budget.granted) == {"chat.postMessage": 3, "chat.update": 1, "chat.delete": 1}
    assert budget.try_take("chat.update") is False  # the second's pledge was released, not left behind…
    clock.advance(2)
    assert budget.try_take("chat.update")  # …so the refilled token is free for best-effort calls
