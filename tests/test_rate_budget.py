"""The shared Slack budget, on a fake clock: every wait is checked exactly, none is spent.

Best-effort updates never spend what final messages were promised; when tokens run out a final waits
exactly as long as the tier needs to refill one; a 429 holds its method (or channel) for Retry-After.
"""

from __future__ import annotations

import contextlib

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
    assert await handler.can_retry_async(state=RetryState(), request=request, response=response)
    assert handler.seen == 1
    assert not budget.try_take(method, channel)  # held for everyone…
    await budget.take(method, channel)
    assert sum(clock.sleeps) == pytest.approx(7.0)  # …for exactly Retry-After
    if channel is not None:
        assert budget.try_take(method, "C-other")  # a 429 for one channel leaves the others alone


@pytest.mark.parametrize("why", ["one try", "retries spent"])
async def test_a_429_not_retried_still_holds_the_budget(why: str) -> None:
    """A call made in `one_try()` (a sign of life, a best-effort update), or one out of retries, is not
    retried; the budget still learns of the 429, so nobody else runs into it."""
    from slack_sdk.http_retry import HttpRequest, HttpResponse, RetryState

    from slackbot.client import BudgetedRateLimitHandler, one_try

    clock = FakeClock()
    budget = RateBudget(clock=clock)
    handler = BudgetedRateLimitHandler(budget, max_retry_count=2)
    request = HttpRequest(method="POST", url="https://slack.com/api/chat.startStream", headers={})
    response = HttpResponse(status_code=429, headers={"retry-after": ["4"]})
    state = RetryState(current_attempt=2 if why == "retries spent" else 0)
    with one_try() if why == "one try" else contextlib.nullcontext():
        assert not await handler.can_retry_async(state=state, request=request, response=response)
    assert handler.seen == 1 and not budget.try_take("chat.startStream")
    await budget.take("chat.startStream")
    assert sum(clock.sleeps) == pytest.approx(4.0)  # held for exactly Retry-After
    # outside one_try, with retries left, the same 429 is retried
    assert await handler.can_retry_async(state=RetryState(), request=request, response=response)


async def test_other_failures_are_left_to_slack_sdk() -> None:
    from slack_sdk.http_retry import HttpRequest, HttpResponse, RetryState

    from slackbot.client import BudgetedRateLimitHandler

    budget = RateBudget(clock=FakeClock())
    handler = BudgetedRateLimitHandler(budget)
    request = HttpRequest(method="POST", url="https://slack.com/api/chat.update", headers={})
    for response in (HttpResponse(status_code=500, headers={}), HttpResponse(status_code=200, headers={})):
        assert not await handler.can_retry_async(state=RetryState(), request=request, response=response)
    assert handler.seen == 0 and budget.try_take("chat.update")


def test_each_429_halves_the_burst_and_each_calm_minute_gives_one_call_back() -> None:
    """Slack publishes no burst sizes: the budget starts from the tier's guess and learns from 429s."""
    clock = FakeClock()
    budget = RateBudget(
        {"chat.startStream": Tier(per_minute=60, burst=20)}, reserve_fraction=0.0, clock=clock
    )

    def burst_now() -> int:  # calls allowed at once after a long refill
        clock.advance(120)
        taken = 0
        while budget.try_take("chat.startStream"):
            taken += 1
        return taken

    assert burst_now() == 20
    budget.penalize("chat.startStream", retry_after=1)
    clock.advance(1)
    # refill at 1/s starts from empty; the learnt burst caps it: 10
    clock.advance(30)
    assert sum(budget.try_take("chat.startStream") for _ in range(40)) == 10
    budget.penalize("chat.startStream", retry_after=1)
    budget.penalize("chat.startStream", retry_after=1)
    clock.advance(1 + 59)
    assert sum(budget.try_take("chat.startStream") for _ in range(40)) == 2  # 20 → 10 → 5 → 2
    clock.advance(1)  # a minute since the last 429 passed (Retry-After ends at t+1): one call back
    assert sum(budget.try_take("chat.startStream") for _ in range(40)) == 1
    clock.advance(59)
    assert sum(budget.try_take("chat.startStream") for _ in range(40)) == 3
    clock.advance(3600)
    assert burst_now() == 20  # back to the tier's guess, never above it


def test_a_burst_never_shrinks_below_one_call() -> None:
    clock = FakeClock()
    budget = RateBudget({"chat.update": Tier(per_minute=60, burst=2)}, reserve_fraction=0.0, clock=clock)
    for _ in range(5):
        budget.penalize("chat.update", retry_after=1)
    clock.advance(2)
    assert budget.try_take("chat.update")


@pytest.mark.parametrize("share", [1, 3])
def test_replicas_share_the_workspace_tiers(share: int) -> None:
    """With REPLICA_COUNT=N each replica's budget is 1/N of every tier: N of them together stay within it."""
    clock = FakeClock()
    budget = RateBudget(reserve_fraction=0.0, clock=clock, share=share)
    assert sum(budget.try_take("chat.update") for _ in range(100)) == 50 // share
    # a channel's posts: the short burst kept (each replica's sign of life at once), the rate shared
    assert sum(budget.try_take("chat.postMessage", "C1") for _ in range(100)) == 5
    clock.advance(60)  # one minute refills 1/N of the tier
    assert sum(budget.try_take("chat.update") for _ in range(100)) == 50 // share
    while budget.try_take("chat.postMessage", "C1"):  # the burst spent again
        pass
    clock.advance(3)
    assert sum(budget.try_take("chat.postMessage", "C1") for _ in range(100)) == 3 // share


async def test_ready_now_says_whether_take_would_return_at_once() -> None:
    """What a final asks before choosing how to show itself (an edit, or a new message): never a wait."""
    clock = FakeClock()
    budget = RateBudget({"chat.update": Tier(per_minute=60, burst=1)}, clock=clock)
    assert budget.ready_now("chat.delete")  # untiered: always
    assert budget.ready_now("chat.update")
    await budget.take("chat.update")
    assert not budget.ready_now("chat.update")  # its one token spent
    clock.advance(0.5)
    assert not budget.ready_now("chat.update")
    clock.advance(0.5)
    assert budget.ready_now("chat.update")  # refilled exactly
    budget.penalize("chat.update", 5)
    clock.advance(4.9)
    assert not budget.ready_now("chat.update")  # held by the 429 for its Retry-After
    clock.advance(0.1)
    assert budget.ready_now("chat.update")
    for _ in range(3):
        await budget.take("chat.postMessage", "C1")
    assert budget.ready_now("chat.postMessage", "C2") and budget.ready_now("chat.postMessage", "C1")
    for _ in range(2):
        await budget.take("chat.postMessage", "C1")
    assert not budget.ready_now("chat.postMessage", "C1") and budget.ready_now("chat.postMessage", "C2")


def test_the_burst_grows_back_one_call_per_whole_calm_minute_from_the_end_of_the_hold() -> None:
    clock = FakeClock()
    budget = RateBudget({"chat.update": Tier(per_minute=6000, burst=8)}, reserve_fraction=0.0, clock=clock)
    budget.penalize("chat.update", retry_after=10)  # burst 8 → 4, calm counted from t=10
    clock.advance(10 + 59.9)
    assert sum(budget.try_take("chat.update") for _ in range(20)) == 4
    clock.advance(0.1)  # exactly a calm minute
    assert sum(budget.try_take("chat.update") for _ in range(20)) == 5
    clock.advance(90)  # one and a half more minutes: one more call, not one and a half
    assert sum(budget.try_take("chat.update") for _ in range(20)) == 6
    clock.advance(30)  # the half minute left over counts towards the next call
    assert sum(budget.try_take("chat.update") for _ in range(20)) == 7
    budget.penalize("chat.update", retry_after=0)
    budget.penalize("chat.update", retry_after=0)
    budget.penalize("chat.update", retry_after=0)  # 7 → 3 → 1 → 1
    clock.advance(1)
    assert sum(budget.try_take("chat.update") for _ in range(20)) == 1


@pytest.mark.parametrize("share", [2, 3])
def test_a_share_divides_the_rate_of_every_tiered_method_and_leaves_untiered_ones(share: int) -> None:
    clock = FakeClock()
    budget = RateBudget(
        {"chat.update": Tier(per_minute=60, burst=6)}, reserve_fraction=0.0, clock=clock, share=share
    )
    assert sum(budget.try_take("chat.update") for _ in range(20)) == 6 // share
    clock.advance(share * 1.0)  # 60/share a minute: one token every `share` seconds
    assert sum(budget.try_take("chat.update") for _ in range(20)) == 1
    assert all(budget.try_take("users.info") for _ in range(500))  # untiered here: never limited


def test_calls_during_a_hold_neither_shrink_nor_grow_the_burst() -> None:
    """The calm minute counts from the end of the Retry-After: a call made while held changes nothing."""
    clock = FakeClock()
    budget = RateBudget({"chat.update": Tier(per_minute=6000, burst=8)}, reserve_fraction=0.0, clock=clock)
    budget.penalize("chat.update", retry_after=50)  # burst 8 → 4, held until t=50
    clock.advance(20)
    assert not budget.try_take("chat.update")  # held
    clock.advance(31)
    assert sum(budget.try_take("chat.update") for _ in range(20)) == 4


def test_a_small_burst_shared_by_replicas_still_allows_one_call() -> None:
    clock = FakeClock()
    budget = RateBudget(
        {"chat.update": Tier(per_minute=60, burst=3)}, reserve_fraction=0.0, clock=clock, share=2
    )
    assert sum(budget.try_take("chat.update") for _ in range(20)) == 1  # ⌊3/2⌋: never rounded up
    budget = RateBudget(
        {"chat.update": Tier(per_minute=60, burst=1)}, reserve_fraction=0.0, clock=clock, share=3
    )
    assert sum(budget.try_take("chat.update") for _ in range(20)) == 1  # never below one call
