"""The shared Slack budget, on a fake clock: every wait is checked exactly, none is spent.

Best-effort updates never spend what final messages were promised; when tokens run out a final waits
exactly as long as the tier needs to refill one; a 429 holds its method (or channel) for Retry-After.
"""

from __future__ import annotations

import pytest

from slackbot.rate_budget import RateBudget, Tier
from tests.fakes.slack_api import FakeClock


async def test_pledged_finals_are_kept_out_of_best_effort_spending() -> None:
    clock = FakeClock()
    budget = RateBudget({"chat.update": Tier(per_minute=60, burst=10)}, reserve_fraction=0.0, clock=clock)
    for _ in range(6):
        budget.pledge("chat.update")
    spent = sum(budget.try_take("chat.update") for _ in range(10))
    assert spent == 4  # 10 tokens, 6 promised to finals
    for _ in range(6):
        await budget.take("chat.update", pledged=True)
    assert clock.sleeps == []  # the promised tokens were there: no final had to wait
    assert budget.granted["chat.update"] == 10


async def test_when_tokens_run_out_a_final_waits_exactly_for_the_next_one() -> None:
    clock = FakeClock()
    budget = RateBudget({"chat.update": Tier(per_minute=30, burst=2)}, reserve_fraction=0.0, clock=clock)
    await budget.take("chat.update")
    await budget.take("chat.update")
    assert clock.sleeps == []  # the burst
    await budget.take("chat.update")
    assert clock.sleeps == [2.0]  # 30 a minute: one token every 2 s
    clock.advance(0.5)  # a quarter of a token refilled meanwhile
    await budget.take("chat.update")
    assert clock.sleeps == [2.0, 1.5]
    assert not budget.try_take("chat.update")  # best effort never waits
    assert budget.granted["chat.update"] == 4


async def test_one_budget_is_shared_by_every_conversation() -> None:
    """Finals of different conversations (threads, channels) draw on one bucket per method."""
    clock = FakeClock()
    budget = RateBudget({"chat.stopStream": Tier(per_minute=60, burst=1)}, reserve_fraction=0.0, clock=clock)
    await budget.take("chat.stopStream", "C1")
    await budget.take("chat.stopStream", "C2")  # another channel's answer waits for the same bucket
    assert clock.sleeps == [1.0]


async def test_a_429_holds_the_method_for_everyone_for_exactly_retry_after() -> None:
    clock = FakeClock()
    budget = RateBudget(
        {"chat.update": Tier(per_minute=60, burst=10), "chat.delete": Tier(per_minute=60, burst=10)},
        clock=clock,
    )
    budget.penalize("chat.update", retry_after=5)
    assert not budget.try_take("chat.update")
    await budget.take("chat.delete")  # other methods are not held
    assert clock.sleeps == []
    await budget.take("chat.update")
    assert clock.sleeps == [5.0]  # 5 s of refill then cover the token: no second wait


async def test_a_429_on_post_message_holds_the_channel_it_was_for() -> None:
    clock = FakeClock()
    budget = RateBudget(reserve_fraction=0.0, clock=clock)
    budget.penalize("chat.postMessage", 3, "C7")
    assert not budget.try_take("chat.postMessage", "C7") and budget.try_take("chat.postMessage", "C8")
    await budget.take("chat.postMessage", "C8")
    assert clock.sleeps == []
    await budget.take("chat.postMessage", "C7")
    assert clock.sleeps == [3.0]
    budget.penalize("chat.postMessage", 4, None)  # channel unknown: every channel waits
    assert not budget.try_take("chat.postMessage", "C8")
    await budget.take("chat.postMessage", "C9")  # channels not seen before too
    assert clock.sleeps == [3.0, 4.0]


def test_post_message_is_budgeted_per_channel() -> None:
    budget = RateBudget(reserve_fraction=0.0, clock=FakeClock())
    assert sum(budget.try_take("chat.postMessage", "C1") for _ in range(10)) == 5
    assert budget.try_take("chat.postMessage", "C2")


def test_the_channel_of_a_rate_limited_post_is_read_from_json_and_form_bodies() -> None:
    from slack_sdk.http_retry.request import HttpRequest

    from slackbot.client import request_channel

    url = "https://slack.com/api/chat.postMessage"
    as_json = HttpRequest(method="POST", url=url, headers={}, data=b'{"channel": "C7", "text": "hi"}')
    as_form = HttpRequest(method="POST", url=url, headers={}, body_params={"channel": "C8"})
    assert request_channel(as_json) == "C7" and request_channel(as_form) == "C8"
    assert request_channel(HttpRequest(method="POST", url=url, headers={})) is None


@pytest.mark.parametrize("tiers", [None, {}], ids=["tiered", "untiered"])
async def test_granted_counts_every_token_handed_out_net_of_refunds(
    tiers: dict[str, Tier] | None,
) -> None:
    """The ledger the reply tests compare Slack calls with: untiered methods count too."""
    budget = RateBudget(tiers, clock=FakeClock())
    assert budget.try_take("chat.startStream") and budget.try_take("chat.stopStream")
    budget.refund("chat.stopStream")
    await budget.take("chat.update")
    await budget.take("chat.postMessage", "C1")
    granted = {method: n for method, n in budget.granted.items() if n}
    assert granted == {"chat.startStream": 1, "chat.update": 1, "chat.postMessage": 1}


@pytest.mark.parametrize(
    ("url", "body", "data", "channel"),
    [
        ("https://slack.com/api/chat.update", {"channel": "C9"}, None, None),  # limited per method
        ("https://slack.com/api/chat.postMessage", None, b'{"channel": "C7", "text": "x"}', "C7"),
        ("https://slack.com/api/chat.postMessage", {"channel": "C8"}, None, "C8"),
    ],
)
async def test_slacks_429_reaches_the_shared_budget(
    url: str, body: dict[str, str] | None, data: bytes | None, channel: str | None
) -> None:
    """The retry handler slack_sdk calls on a 429 holds the budget for Retry-After, for everyone."""
    from slack_sdk.http_retry import HttpRequest, HttpResponse, RetryState

    from slackbot.client import BudgetedRateLimitHandler

    clock = FakeClock()
    budget = RateBudget(clock=clock)
    handler = BudgetedRateLimitHandler(budget)
    method = url.rsplit("/", 1)[-1]
    request = HttpRequest(method="POST", url=url, headers={}, body_params=body, data=data)
    response = HttpResponse(status_code=429, headers={"Retry-After": ["7"]})
    await handler.prepare_for_next_attempt_async(state=RetryState(), request=request, response=response)
    assert handler.seen == 1
    assert not budget.try_take(method, channel)  # held for everyone…
    await budget.take(method, channel)
    assert sum(clock.sleeps) == pytest.approx(7.0)  # …for exactly Retry-After
    if channel is not None:
        assert budget.try_take(method, "C-other")  # a 429 for one channel leaves the others alone
