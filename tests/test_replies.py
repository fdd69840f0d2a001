"""The shared Slack budget: best-effort updates never spend what final messages were promised."""

from __future__ import annotations

import time

from slackbot.rate_budget import RateBudget, Tier


async def test_pledged_finals_are_kept_out_of_best_effort_spending() -> None:
    budget = RateBudget({"chat.update": Tier(per_minute=60, burst=10)}, reserve_fraction=0.0)
    for _ in range(6):
        budget.pledge("chat.update")
    spent = sum(budget.try_take("chat.update") for _ in range(10))
    assert spent == 4  # 10 tokens, 6 promised to finals
    started = time.monotonic()
    for _ in range(6):
        await budget.take("chat.update", pledged=True)
    assert time.monotonic() - started < 0.5  # the promised tokens were there


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
