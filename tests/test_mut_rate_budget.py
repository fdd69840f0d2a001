"""The shared Slack budget (RateBudget) token by token, on a fake clock: exact refills, reserves, pledges,
waits, refunds and 429 holds.

Written for mutation testing (tests/MUTATION.md): tests/test_rate_budget.py shows the budget's purpose;
these pin the numbers it promises (how many best-effort calls go through, how long a final waits).
"""

from __future__ import annotations

import asyncio
import time

import pytest

from slackbot.rate_budget import REAL_TIME, ROUNDING, RateBudget, Tier
from tests.fakes.slack_api import FakeClock

POST = "chat.postMessage"


def spendable(budget: RateBudget, method: str, channel: str | None = None, limit: int = 1000) -> int:
    """How many best-effort calls go through right now (spends them)."""
    spent = 0
    while spent < limit and budget.try_take(method, channel):
        spent += 1
    return spent


def budget_of(per_minute: float, burst: float, reserve_fraction: float = 0.0) -> tuple[RateBudget, FakeClock]:
    clock = FakeClock()
    tiers = {"chat.update": Tier(per_minute=per_minute, burst=burst), POST: Tier(per_minute=60, burst=2)}
    return RateBudget(tiers, reserve_fraction=reserve_fraction, clock=clock), clock


async def test_real_time_is_monotonic_and_really_sleeps() -> None:
    before = REAL_TIME.now()
    assert before == pytest.approx(time.monotonic(), abs=1.0)
    await REAL_TIME.sleep(0.002)
    assert REAL_TIME.now() - before >= 0.002


@pytest.mark.parametrize(
    ("per_minute", "burst", "advance", "spendable_after"),
    [
        (60, 10, 3.0, 3),  # one token a second
        (30, 10, 3.0, 1),  # one every two seconds: 1.5 tokens, one whole
        (120, 10, 3.0, 6),  # two a second
        (60, 10, 4.5, 4),
        (60, 4, 100.0, 4),  # never more than the burst
        (600, 10, 0.5, 5),
    ],
)
def test_an_empty_bucket_refills_at_the_tiers_rate_up_to_its_burst(
    per_minute: float, burst: float, advance: float, spendable_after: int
) -> None:
    budget, clock = budget_of(per_minute, burst)
    assert spendable(budget, "chat.update") == burst  # a fresh bucket is full
    clock.advance(advance)
    assert spendable(budget, "chat.update") == spendable_after
    assert budget.granted["chat.update"] == burst + spendable_after


@pytest.mark.parametrize(
    ("per_minute", "burst", "advance", "waits"),
    [
        (60, 1, 0.0, [1.0]),
        (30, 1, 0.0, [2.0]),
        (30, 1, 0.5, [1.5]),
        (120, 1, 0.25, [0.25]),
        (60, 1, 5.0, []),  # refilled meanwhile (to the burst, not beyond)
    ],
)
async def test_a_final_waits_exactly_for_the_missing_part_of_a_token(
    per_minute: float, burst: float, advance: float, waits: list[float]
) -> None:
    budget, clock = budget_of(per_minute, burst)
    await budget.take("chat.update")
    clock.advance(advance)
    await budget.take("chat.update")
    assert clock.sleeps == waits
    assert budget.waited_seconds == sum(waits)
    await budget.take("chat.update")  # the bucket is empty again: a whole token's time
    assert clock.sleeps == [*waits, 60.0 / per_minute]
    assert budget.waited_seconds == sum(clock.sleeps)
    assert budget.granted["chat.update"] == 3


@pytest.mark.parametrize("per_minute", [7, 11, 13, 17, 19, 23, 29, 31, 37, 41, 43, 47, 53, 59])
async def test_after_sleeping_the_computed_wait_a_final_never_sleeps_again(per_minute: int) -> None:
    """Float rounding of the refill (0.99999… tokens) is not a reason for a second, tiny sleep."""
    budget, clock = budget_of(per_minute, 1)
    for _ in range(5):
        await budget.take("chat.update")
    assert clock.sleeps == [pytest.approx(60.0 / per_minute)] * 4
    assert budget.waited_seconds == pytest.approx(4 * 60.0 / per_minute)


async def test_a_final_taking_several_tokens_waits_for_all_of_them() -> None:
    budget, clock = budget_of(60, 4)
    await budget.take("chat.update", count=3)
    await budget.take("chat.update", count=3)  # one left: two more seconds
    assert clock.sleeps == [2.0]
    assert budget.granted["chat.update"] == 6
    assert spendable(budget, "chat.update") == 0


def test_the_default_reserve_is_a_tenth_of_the_burst() -> None:
    budget = RateBudget({"chat.update": Tier(60, 20)}, clock=FakeClock())
    assert spendable(budget, "chat.update") == 18  # 2 of 20 kept for calls that must happen


@pytest.mark.parametrize(("fraction", "spent"), [(0.0, 10), (0.1, 9), (0.25, 7), (0.5, 5), (1.0, 0)])
def test_best_effort_leaves_the_reserve_fraction_of_the_burst(fraction: float, spent: int) -> None:
    budget, _ = budget_of(60, 10, fraction)
    assert spendable(budget, "chat.update") == spent


def test_a_best_effort_call_may_spend_down_to_exactly_the_reserve() -> None:
    budget, _ = budget_of(60, 10)
    for _ in range(3):
        budget.pledge("chat.update")
    assert budget.try_take("chat.update", count=7)  # 10 - 7 = 3 left: exactly the pledges
    assert not budget.try_take("chat.update", count=0.5)
    assert budget.granted["chat.update"] == 7


def test_a_refused_best_effort_call_spends_nothing() -> None:
    budget, _ = budget_of(60, 10)
    assert not budget.try_take("chat.update", count=11)
    assert budget.granted["chat.update"] == 0
    assert spendable(budget, "chat.update") == 10


def test_pledges_and_releases_move_the_reserve_one_by_one() -> None:
    budget, clock = budget_of(60, 10)
    budget.release("chat.update")  # nothing pledged: nothing to drop, never below zero
    assert spendable(budget, "chat.update") == 10
    clock.advance(10)
    budget.pledge("chat.update")
    budget.pledge("chat.update")
    budget.pledge("chat.update")
    budget.release("chat.update")
    assert spendable(budget, "chat.update") == 8  # two pledges left
    clock.advance(10)
    budget.release("chat.update")
    assert spendable(budget, "chat.update") == 9
    clock.advance(10)
    budget.release("chat.update")
    budget.release("chat.update")  # one release too many is ignored
    assert spendable(budget, "chat.update") == 10


def test_pledges_and_releases_of_untiered_methods_are_no_ops() -> None:
    budget = RateBudget({}, clock=FakeClock())
    budget.pledge("chat.update")
    budget.release("chat.update")
    budget.release("chat.update")
    assert spendable(budget, "chat.update", limit=500) == 500  # no bucket, no limit


async def test_a_pledged_final_redeems_its_own_channels_pledge() -> None:
    budget, _ = budget_of(60, 10)
    budget.pledge(POST, "C1")
    budget.pledge(POST, "C2")
    await budget.take(POST, "C1", pledged=True)
    assert spendable(budget, POST, "C1") == 1  # burst 2, one taken, no pledge left
    assert spendable(budget, POST, "C2") == 1  # C2's pledge still holds one back


async def test_an_unpledged_final_leaves_the_pledges_alone() -> None:
    budget, _ = budget_of(60, 10)
    budget.pledge("chat.update")
    await budget.take("chat.update")
    assert spendable(budget, "chat.update") == 8  # 9 left, one still pledged


async def test_a_waiting_final_holds_back_a_token_from_best_effort_calls() -> None:
    budget, clock = budget_of(60, 2)
    await budget.take("chat.update")
    await budget.take("chat.update")
    waiting = asyncio.create_task(budget.take("chat.update"))
    await asyncio.sleep(0)  # it computes its wait and sleeps (the fake clock moves on by 1 s)
    assert clock.sleeps == [1.0]
    assert not budget.try_take("chat.update")  # the refilled token is the waiting final's
    await waiting
    assert budget.granted["chat.update"] == 3
    clock.advance(2)
    assert spendable(budget, "chat.update") == 2  # nobody waits any more: no reserve left behind


async def test_after_concurrent_finals_no_reserve_or_debt_is_left_behind() -> None:
    budget, clock = budget_of(60, 3)
    await asyncio.gather(*(budget.take("chat.update") for _ in range(5)))
    assert clock.sleeps == [1.0, 1.0]  # first come first served: the last two wait a token each
    assert budget.granted["chat.update"] == 5
    assert spendable(budget, "chat.update") == 0  # the bucket is empty, not in debt or overfull
    clock.advance(3)
    assert spendable(budget, "chat.update") == 3


async def test_untiered_methods_are_counted_but_never_wait() -> None:
    budget = RateBudget({}, clock=FakeClock())
    await budget.take("chat.update", count=2)
    await budget.take("chat.update", count=2)
    assert budget.try_take("reactions.add", count=3)
    assert budget.granted == {"chat.update": 4, "reactions.add": 3}
    assert budget.waited_seconds == 0.0


def test_default_tiers_are_slacks() -> None:
    budget = RateBudget(reserve_fraction=0.0, clock=FakeClock())
    assert spendable(budget, "chat.update") == 50
    assert spendable(budget, "chat.startStream") == 20
    assert spendable(budget, "chat.appendStream") == 100
    assert spendable(budget, "some.other.method", limit=300) == 300  # untiered
    assert spendable(budget, POST, "C1") == 5


@pytest.mark.parametrize("tiers", [{}, {"chat.update": Tier(60, 1)}])
def test_post_message_is_limited_per_channel_even_when_not_listed(tiers: dict[str, Tier]) -> None:
    budget = RateBudget(tiers, reserve_fraction=0.0, clock=FakeClock())
    assert spendable(budget, POST, "C1") == 5
    assert spendable(budget, POST, "C2") == 5


def test_a_listed_post_message_tier_replaces_the_per_channel_default() -> None:
    budget, _ = budget_of(60, 10)
    assert spendable(budget, POST, "C1") == 2
    assert spendable(budget, POST, None) == 2  # no channel: one bucket of its own


def test_a_refund_gives_the_token_back_to_the_ledger_and_the_bucket() -> None:
    budget, _ = budget_of(60, 3)
    assert spendable(budget, "chat.update") == 3
    budget.refund("chat.update")
    assert budget.granted["chat.update"] == 2
    assert spendable(budget, "chat.update") == 1
    budget.refund("chat.update", count=2)
    assert budget.granted["chat.update"] == 1
    assert spendable(budget, "chat.update") == 2


def test_a_refund_never_fills_a_bucket_beyond_its_burst() -> None:
    budget, _ = budget_of(60, 3)
    budget.refund("chat.update", count=5)
    assert budget.granted["chat.update"] == -5
    assert spendable(budget, "chat.update") == 3


def test_a_refund_goes_to_its_channels_bucket() -> None:
    budget, _ = budget_of(60, 3)
    assert spendable(budget, POST, "C1") == 2 and spendable(budget, POST, "C2") == 2
    budget.refund(POST, "C1")
    assert budget.granted[POST] == 3
    assert spendable(budget, POST, "C2") == 0
    assert spendable(budget, POST, "C1") == 1


def test_a_refund_of_an_untiered_method_only_corrects_the_ledger() -> None:
    budget = RateBudget({}, clock=FakeClock())
    assert budget.try_take("chat.update", count=3)
    budget.refund("chat.update", count=2)
    assert budget.granted["chat.update"] == 1


@pytest.mark.parametrize("retry_after", [0.5, 2.0, 7.0])
async def test_after_a_429_a_final_waits_retry_after_then_for_a_token_if_none_refilled(
    retry_after: float,
) -> None:
    """A 429 empties the bucket: Retry-After refills only retry_after × rate tokens."""
    budget, clock = budget_of(60, 10)
    budget.penalize("chat.update", retry_after)
    await budget.take("chat.update")
    assert clock.sleeps == ([retry_after, 1.0 - retry_after] if retry_after < 1 else [retry_after])
    assert budget.waited_seconds == (1.0 if retry_after < 1 else retry_after)


def test_when_retry_after_has_passed_exactly_what_refilled_meanwhile_can_be_spent() -> None:
    budget, clock = budget_of(60, 10)
    budget.penalize("chat.update", 5)
    clock.advance(4.5)
    assert not budget.try_take("chat.update")  # held, though 4.5 tokens refilled meanwhile
    clock.advance(0.5)
    assert spendable(budget, "chat.update") == 5  # at Retry-After exactly: the 5 s of refill


async def test_a_429_counts_from_the_time_it_arrived() -> None:
    budget, clock = budget_of(60, 10)
    clock.advance(100)
    budget.penalize("chat.update", 3)
    await budget.take("chat.update")
    assert clock.sleeps == [3.0]


async def test_a_shorter_429_never_shortens_a_longer_hold() -> None:
    budget, clock = budget_of(60, 10)
    budget.penalize("chat.update", 10)
    budget.penalize("chat.update", 2)
    budget.penalize(POST, 8, None)
    budget.penalize(POST, 1, None)
    await budget.take(POST, "C1")  # a channel first seen after both unknown-channel 429s
    await budget.take("chat.update")
    assert clock.sleeps == [8.0, 2.0]


async def test_a_429_of_a_channels_post_holds_that_channel_only() -> None:
    budget, clock = budget_of(60, 10)
    assert budget.try_take(POST, "C1") and budget.try_take(POST, "C2")
    budget.penalize(POST, 4, "C1")
    assert spendable(budget, POST, "C2") == 1
    assert spendable(budget, POST, "C3") == 2  # a channel first seen now is not held
    await budget.take(POST, "C1")
    assert clock.sleeps == [4.0]


async def test_a_429_of_a_post_with_no_channel_holds_every_channel_but_no_other_method() -> None:
    budget, clock = budget_of(60, 10)
    assert budget.try_take(POST, "C1") and budget.try_take("chat.update")
    budget.penalize(POST, 4, None)
    assert not budget.try_take(POST, "C1") and not budget.try_take(POST, "C2")
    assert spendable(budget, "chat.update") == 9  # other methods, old or new, go on
    assert spendable(budget, "reactions.add", limit=5) == 5
    await budget.take(POST, "C1")
    await budget.take(POST, "C3")
    assert clock.sleeps == [4.0]  # both held until the same moment
    budget.penalize("chat.update", 2)
    assert spendable(budget, POST, "C4") == 2  # a 429 of another method holds no post


async def test_a_429_of_an_untiered_method_holds_nothing() -> None:
    budget = RateBudget({}, clock=(clock := FakeClock()))
    budget.penalize("chat.update", 5)
    await budget.take("chat.update")
    assert clock.sleeps == [] and budget.try_take("chat.update")


async def test_within_float_rounding_of_retry_after_a_final_does_not_wait_again() -> None:
    budget, clock = budget_of(60, 10)
    budget.penalize("chat.update", 5)
    clock.advance(5 - ROUNDING)  # as close as float rounding after sleeping the computed wait
    await budget.take("chat.update")
    assert clock.sleeps == []


async def test_within_float_rounding_of_a_whole_token_a_final_does_not_wait_again() -> None:
    budget, clock = budget_of(60, 1)
    await budget.take("chat.update")
    clock.advance(1 - ROUNDING)  # 0.999999999 tokens refilled
    await budget.take("chat.update")
    assert clock.sleeps == []
    assert budget.granted["chat.update"] == 2
