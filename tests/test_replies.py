"""The shared Slack budget: best-effort updates never spend what final messages were promised."""

from __future__ import annotations

import time

import pytest

from slackbot.rate_budget import RateBudget, Tier


async def test_pledged_finals_are_kept_out_of_best_effort_spending() -> None:
    budget = RateBudget({"chat.update": Tier(per_minute=60, burst=10)}, reserve_fraction=0.0)
    for _ in range(6):
        budget.pledge("chat.update")
    spent = sum(budget.try_take("chat.update") for _ in range(10))
    assert spent == 4  # 10 tokens, 6 promised to finals
    for _ in range(6):
        await budget.take("chat.update", pledged=True)
    assert budget.waited_seconds == 0  # the promised tokens were there: no final had to wait


async def test_a_429_blocks_the_method_for_everyone_until_retry_after() -> None:
    budget = RateBudget({"chat.update": Tier(per_minute=6000, burst=100)})
    budget.penalize("chat.update", retry_after=0.3)
    assert not budget.try_take("chat.update")
    started = time.monotonic()
    await budget.take("chat.update")
    assert time.monotonic() - started >= 0.25


def test_post_message_is_budgeted_per_channel() -> None:
    budget = RateBudget(reserve_fraction=0.0)
    assert sum(budget.try_take("chat.postMessage", "C1") for _ in range(10)) == 5
    assert budget.try_take("chat.postMessage", "C2")


def test_a_429_on_post_message_blocks_the_channel_it_was_for() -> None:
    from slack_sdk.http_retry.request import HttpRequest

    from slackbot.app import request_channel

    url = "https://slack.com/api/chat.postMessage"
    as_json = HttpRequest(method="POST", url=url, headers={}, data=b'{"channel": "C7", "text": "hi"}')
    as_form = HttpRequest(method="POST", url=url, headers={}, body_params={"channel": "C8"})
    assert request_channel(as_json) == "C7" and request_channel(as_form) == "C8"
    assert request_channel(HttpRequest(method="POST", url=url, headers={})) is None

    budget = RateBudget(reserve_fraction=0.0)
    budget.penalize("chat.postMessage", 5, "C7")
    assert not budget.try_take("chat.postMessage", "C7") and budget.try_take("chat.postMessage", "C8")
    budget.penalize("chat.postMessage", 5, None)  # channel unknown: every channel waits
    assert not budget.try_take("chat.postMessage", "C8")
    assert not budget.try_take("chat.postMessage", "C9")  # channels not seen before too


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


class RecordingSlack:
    """Just enough of AsyncWebClient for one native stream: records what a person would read."""

    def __init__(self) -> None:
        self.streamed = ""
        self.posts: list[str] = []

    async def chat_startStream(self, **kwargs: object) -> dict[str, str]:
        return {"ts": "1.0"}

    async def _chunks(self, chunks: object) -> None:
        for chunk in chunks or []:  # type: ignore[attr-defined]
            if chunk.get("type") == "markdown_text":
                self.streamed += chunk["text"]
                assert len(self.streamed) <= 12_000, "a streamed message outgrew Slack's limit"

    async def chat_appendStream(self, chunks: object = None, **kwargs: object) -> dict[str, bool]:
        await self._chunks(chunks)
        return {"ok": True}

    async def chat_stopStream(self, chunks: object = None, **kwargs: object) -> dict[str, bool]:
        await self._chunks(chunks)
        return {"ok": True}

    async def chat_postMessage(self, blocks: list[dict[str, str]], **kwargs: object) -> dict[str, str]:
        self.posts.append(blocks[0]["text"])
        return {"ts": f"2.{len(self.posts)}"}


PROSE = "\n".join(f"{i:04d}" + " the quick brown fox jumps over the lazy dog" * 2 for i in range(260))
CODE_ACROSS_THE_LIMIT = (
    "\n".join(f"line {i}:" + " words" * 12 for i in range(110))
    + "\n```\n"
    + "\n".join(f"pod/web-{i:04d}   Running   0   {i}m" for i in range(400))
    + "\n```\nThe end."
)


@pytest.mark.parametrize("step", [97, 1013])
@pytest.mark.parametrize("answer", [PROSE, CODE_ACROSS_THE_LIMIT], ids=["prose", "code across the limit"])
async def test_a_native_stream_longer_than_a_message_is_never_cut_mid_line_or_repeated(
    monkeypatch: pytest.MonkeyPatch, answer: str, step: int
) -> None:
    from slackbot import replies

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
    from slackbot import replies
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
