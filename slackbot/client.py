"""The bot's one Web API client: slack_sdk's retry handlers, 429s told to the shared rate budget, and
every call scrubbed on the way out (slackbot/outbound.py).

A call made inside `one_try()` is not retried after a 429: a best-effort update or a reply's first sign
of life has a better move than waiting Retry-After (skip it, or show the reply another way), and the
budget still learns of the 429.
"""

from __future__ import annotations

import contextlib
import json
import logging
from collections.abc import Iterator
from contextvars import ContextVar

from slack_sdk.http_retry.async_handler import AsyncRetryHandler
from slack_sdk.http_retry.builtin_async_handlers import (
    AsyncConnectionErrorRetryHandler,
    AsyncRateLimitErrorRetryHandler,
)
from slack_sdk.http_retry.request import HttpRequest
from slack_sdk.http_retry.response import HttpResponse
from slack_sdk.http_retry.state import RetryState

from slackbot.config import SlackSettings
from slackbot.outbound import SafeWebClient
from slackbot.rate_budget import RateBudget

logger = logging.getLogger(__name__)


_ONE_TRY: ContextVar[bool] = ContextVar("slack_one_try", default=False)


@contextlib.contextmanager
def one_try() -> Iterator[None]:
    """Slack calls made inside are not retried after a 429 (SlackApiError `ratelimited` instead)."""
    token = _ONE_TRY.set(True)
    try:
        yield
    finally:
        _ONE_TRY.reset(token)


class BudgetedRateLimitHandler(AsyncRateLimitErrorRetryHandler):
    """Tells the shared budget of every 429, then retries after Retry-After (slack_sdk's handler) unless
    the call was made in `one_try()` or its retries are spent."""

    def __init__(self, budget: RateBudget, max_retry_count: int = 5) -> None:
        super().__init__(max_retry_count=max_retry_count)
        self.budget = budget
        self.seen = 0

    async def can_retry_async(
        self,
        *,
        state: RetryState,
        request: HttpRequest,
        response: HttpResponse | None = None,
        error: Exception | None = None,
    ) -> bool:
        if error is not None or response is None or response.status_code != 429:
            # an error after a 429 (the connection dropped on the retry): slack_sdk's own judgement
            return await super().can_retry_async(state=state, request=request, response=response, error=error)
        self.seen += 1
        method = request.url.rstrip("/").rsplit("/", 1)[-1]
        values = {k.lower(): v for k, v in response.headers.items()}.get("retry-after") or ["1"]
        try:
            retry_after = float(values[0])
        except ValueError:
            retry_after = 1.0
        channel = request_channel(request) if method == "chat.postMessage" else None
        self.budget.penalize(method, retry_after, channel)
        if _ONE_TRY.get() or state.current_attempt >= self.max_retry_count:
            logger.warning("Slack rate-limited %s; not retrying", method)
            return False
        logger.warning("Slack rate-limited %s; retrying after %.0fs", method, retry_after)
        return True


def request_channel(request: HttpRequest) -> str | None:
    """The channel of a Web API call, sent as form fields or (chat.postMessage) as a JSON body."""
    channel = (request.body_params or {}).get("channel")
    if channel is None and request.data:
        with contextlib.suppress(ValueError, TypeError, AttributeError):
            raw = request.data.decode() if isinstance(request.data, bytes) else request.data
            channel = json.loads(raw).get("channel")
    return str(channel) if channel else None


def web_client(slack: SlackSettings, budget: RateBudget) -> SafeWebClient:
    """The bot's one Web API client: retries, and every call redacted and posted without link previews."""
    handlers: list[AsyncRetryHandler] = [
        AsyncConnectionErrorRetryHandler(max_retry_count=2),
        BudgetedRateLimitHandler(budget),
    ]
    return SafeWebClient(
        token=slack.slack_bot_token, base_url=slack.slack_api_url, retry_handlers=handlers, timeout=30
    )
