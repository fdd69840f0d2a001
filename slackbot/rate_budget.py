"""One workspace-wide call budget per Slack method, shared by every conversation.

Slack limits each Web API method per workspace (chat.update ~50/min, chat.startStream ~20/min, …) and
chat.postMessage ~1/s per channel. With many conversations at once, intermediate updates would eat the
budget the final messages need. So a reply pledges its final call when it starts (`pledge`), best-effort
updates (`try_take`) only spend tokens above the pledges and a small reserve, and final messages (`take`)
wait for a token and never give up. A 429 from Slack drains the bucket until Retry-After, so every
conversation backs off together, and halves the burst the bucket allows: Slack publishes per-minute
tiers but not burst sizes, so the burst is learnt (each calm minute gives one call of it back, up to the
guess in the tier). Several replicas of the bot share the workspace's tiers: with `share=N` each takes
1/N of every rate and burst (a channel's chat.postMessage: of its rate, keeping the short burst).

Time comes from a `Clock` (real time by default) so tests can check every wait without waiting. `granted`
counts the tokens handed out per method: every Slack call a reply makes must have spent one.
"""

from __future__ import annotations

import asyncio
import math
import time
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Protocol


class Clock(Protocol):
    """Where the budget and the reply pacing read the time and wait."""

    def now(self) -> float: ...
    async def sleep(self, seconds: float) -> None: ...


class RealTime:
    """Monotonic time and asyncio's sleep: what the bot runs on."""

    def now(self) -> float:
        return time.monotonic()

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(seconds)


REAL_TIME = RealTime()
ROUNDING = 1e-9  # seconds or tokens: closer than this is float rounding, not a wait


@dataclass(frozen=True)
class Tier:
    """A rate: `per_minute` tokens refill evenly; up to `burst` can be spent at once."""

    per_minute: float
    burst: float


# Slack's published tiers (https://docs.slack.dev/apis/web-api/rate-limits), with a burst allowance.
TIER_2 = Tier(20, 20)
TIER_3 = Tier(50, 50)
TIER_4 = Tier(100, 100)
PER_CHANNEL_POST = Tier(60, 5)  # chat.postMessage: ~1 per second per channel, short bursts allowed

METHOD_TIERS: dict[str, Tier] = {
    "chat.startStream": TIER_2,
    "chat.stopStream": TIER_2,
    "chat.appendStream": TIER_4,
    "chat.update": TIER_3,
    "chat.postEphemeral": TIER_4,
    "chat.delete": TIER_3,
    "assistant.threads.setStatus": TIER_3,
    "assistant.threads.setTitle": TIER_3,
    "assistant.threads.setSuggestedPrompts": TIER_3,
    "reactions.add": TIER_3,
    "users.info": TIER_4,
    "usergroups.users.list": TIER_2,
    "files.getUploadURLExternal": TIER_4,  # a chart (files_upload_v2): these two, and the upload itself
    "files.completeUploadExternal": TIER_4,
}


CALM_SECONDS = 60.0  # a minute without a 429 gives one call of burst back


@dataclass
class _Bucket:
    tier: Tier
    tokens: float
    updated: float
    burst: float = 0.0  # what Slack seems to allow at once: the tier's guess, halved by each 429
    calm_since: float = 0.0  # when the burst last shrank or grew
    blocked_until: float = 0.0
    waiters: int = 0
    pledged: int = 0
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)

    def __post_init__(self) -> None:
        self.burst = self.burst or self.tier.burst
        self.calm_since = self.calm_since or self.updated

    def refill(self, now: float) -> None:
        if self.burst < self.tier.burst and now - self.calm_since >= CALM_SECONDS:
            calm = (now - self.calm_since) // CALM_SECONDS
            self.burst = min(self.tier.burst, self.burst + calm)
            self.calm_since += calm * CALM_SECONDS
        rate = self.tier.per_minute / 60.0
        self.tokens = min(self.burst, self.tokens + (now - self.updated) * rate)
        self.updated = now

    def shrink(self, until: float) -> None:
        """Slack refused a call: hold it until `until`, and allow half the burst from then on."""
        self.blocked_until = max(self.blocked_until, until)
        self.tokens = 0.0
        self.burst = max(1.0, math.floor(self.burst / 2))
        self.calm_since = max(self.calm_since, until)

    def wait_time(self, now: float, need: float) -> float:
        # within float rounding counts as there: after sleeping the computed time, never sleep ~0 again
        if now < self.blocked_until - ROUNDING:
            return self.blocked_until - now
        if self.tokens >= need - ROUNDING:
            return 0.0
        return (need - self.tokens) / (self.tier.per_minute / 60.0)


class RateBudget:
    """Token buckets keyed by method (and channel, for chat.postMessage)."""

    def __init__(
        self,
        tiers: dict[str, Tier] | None = None,
        reserve_fraction: float = 0.1,
        clock: Clock = REAL_TIME,
        share: int = 1,
    ) -> None:
        self.tiers = dict(METHOD_TIERS if tiers is None else tiers)
        self.share = share  # replicas sharing the workspace's tiers: each gets 1/share of them
        self.reserve_fraction = reserve_fraction
        self.clock = clock
        # tokens handed out per method (untiered ones too), net of refunds
        self.granted: defaultdict[str, float] = defaultdict(float)
        self._buckets: dict[str, _Bucket] = {}
        self.waited_seconds = 0.0
        self._all_posts_blocked_until = 0.0  # a chat.postMessage 429 whose channel was unknown

    def _key(self, method: str, channel: str | None) -> str:
        return f"{method}:{channel}" if method == "chat.postMessage" else method

    def _tier(self, method: str) -> Tier | None:
        tier = self.tiers.get(method, PER_CHANNEL_POST if method == "chat.postMessage" else None)
        if tier is None or self.share == 1:
            return tier
        if method == "chat.postMessage":
            # per channel: the rate is shared, the short burst kept (a channel's questions spread over the
            # replicas each need their sign of life at once; a 429 still halves it)
            return Tier(tier.per_minute / self.share, tier.burst)
        return Tier(tier.per_minute / self.share, max(1.0, math.floor(tier.burst / self.share)))

    def _bucket(self, method: str, channel: str | None) -> _Bucket | None:
        key = self._key(method, channel)
        bucket = self._buckets.get(key)
        if bucket is None:  # the method's tier (and this replica's share of it) is worked out once
            tier = self._tier(method)
            if tier is None:
                return None
            bucket = self._buckets[key] = _Bucket(tier, tier.burst, self.clock.now())
            if method == "chat.postMessage":
                bucket.blocked_until = self._all_posts_blocked_until
        return bucket

    def try_take(self, method: str, channel: str | None = None, count: float = 1.0) -> bool:
        """Best effort: take tokens only if a reserve stays for the calls that must happen."""
        bucket = self._bucket(method, channel)
        if bucket is not None:
            now = self.clock.now()
            bucket.refill(now)
            reserve = bucket.burst * self.reserve_fraction + bucket.waiters + bucket.pledged
            if now < bucket.blocked_until or bucket.tokens - count < reserve:
                return False
            bucket.tokens -= count
        self.granted[method] += count
        return True

    def ready_now(self, method: str, channel: str | None = None) -> bool:
        """Would `take` return at once? (Not held by a 429, nobody waiting before, a token there.)"""
        bucket = self._bucket(method, channel)
        if bucket is None:
            return True
        now = self.clock.now()
        bucket.refill(now)
        return bucket.waiters == 0 and bucket.wait_time(now, 1.0) <= 0

    def pledge(self, method: str, channel: str | None = None) -> None:
        """Promise a future must-happen call (a reply's final update): best-effort calls leave room for it."""
        bucket = self._bucket(method, channel)
        if bucket is not None:
            bucket.pledged += 1

    def release(self, method: str, channel: str | None = None) -> None:
        """Drop a pledge that will not be used (the reply ended another way)."""
        bucket = self._bucket(method, channel)
        if bucket is not None and bucket.pledged > 0:
            bucket.pledged -= 1

    async def take(
        self, method: str, channel: str | None = None, count: float = 1.0, pledged: bool = False
    ) -> None:
        """Must happen (a final message): wait for tokens, first come first served; redeems a pledge."""
        bucket = self._bucket(method, channel)
        if bucket is None:
            self.granted[method] += count
            return
        if pledged:
            self.release(method, channel)
        bucket.waiters += 1
        try:
            async with bucket.lock:
                while True:
                    now = self.clock.now()
                    bucket.refill(now)
                    delay = bucket.wait_time(now, count)
                    if delay <= 0:
                        bucket.tokens -= count
                        self.granted[method] += count
                        return
                    self.waited_seconds += delay
                    await self.clock.sleep(delay)
        finally:
            bucket.waiters -= 1

    def refund(self, method: str, channel: str | None = None, count: float = 1.0) -> None:
        """Give back tokens taken for a call that was not made (e.g. a reserved stop that fell back)."""
        self.granted[method] -= count
        bucket = self._bucket(method, channel)
        if bucket is not None:
            bucket.tokens = min(bucket.burst, bucket.tokens + count)

    def penalize(self, method: str, retry_after: float, channel: str | None = None) -> None:
        """Slack said 429: nobody calls this method until Retry-After has passed, and its burst halves.

        chat.postMessage is limited per channel; with the channel unknown, every channel's bucket waits.
        """
        until = self.clock.now() + retry_after
        if method == "chat.postMessage" and channel is None:
            self._all_posts_blocked_until = max(self._all_posts_blocked_until, until)
            buckets = [b for k, b in self._buckets.items() if k.startswith("chat.postMessage:")]
        else:
            bucket = self._bucket(method, channel)
            buckets = [bucket] if bucket is not None else []
        for bucket in buckets:
            bucket.shrink(until)
