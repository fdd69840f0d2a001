"""An answer's chart into its thread: drawn off the event loop, shared with Slack's external upload flow.

`files_upload_v2` (files.getUploadURLExternal, the upload, files.completeUploadExternal) through the bot's
safe client, so the title and comment are redacted like every text the bot sends; the query is shown as
code (escaped: it may repeat what a workload wrote). One chart per answer, after the answer, in its thread.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

import aiohttp
from slack_sdk.errors import SlackApiError, SlackClientError
from slack_sdk.web.async_client import AsyncWebClient

from agents.charts.model import Chart
from agents.charts.render import caption, render_png
from slackbot.outbound import scrub
from slackbot.rate_budget import RateBudget
from slackbot.replies import ReplyTarget
from slackbot.safe_text import escape_mrkdwn, inline_code
from slackbot.slack_errors import slack_error

logger = logging.getLogger(__name__)

FILENAME = "prometheus-chart.png"
MAX_TITLE = 200
SCOPE_HINT = (
    "the bot's admin adds the `files:write` scope (deploy/slack/manifest.yaml) and reinstalls the app"
)
UPLOAD_METHODS = ("files.getUploadURLExternal", "files.completeUploadExternal")


def comment(chart: Chart) -> str:
    """The message the chart is shared with: what was queried, over which window, k of N series."""
    shown = len(chart.series)
    of = f"{shown} of {chart.total_series} series" if chart.total_series > shown else f"{shown} series"
    return (
        f":chart_with_upwards_trend: {inline_code(chart.query)} · {escape_mrkdwn(chart.start)} to "
        f"{escape_mrkdwn(chart.end)}, step {escape_mrkdwn(chart.step)} · {of}"
    )


async def share_chart(
    client: AsyncWebClient,
    budget: RateBudget,
    target: ReplyTarget,
    chart: Chart,
    correlation_id: str,
    render: Callable[[Chart], bytes] = render_png,
) -> bool:
    """Draw `chart` and share it into the reply's thread; on failure say so there, briefly (the answer
    stands without it). True when the chart was shared."""
    try:
        png = await asyncio.to_thread(render, chart)  # matplotlib takes tens of ms: not on the loop
    except Exception:
        logger.exception("chart not drawn [correlation_id=%s]", correlation_id)
        await _say(client, budget, target, f"_The chart could not be drawn. Reference: `{correlation_id}`_")
        return False
    title, alt, text = _texts(chart)
    try:
        for method in UPLOAD_METHODS:
            await budget.take(method)
        await client.files_upload_v2(
            channel=target.channel,
            thread_ts=target.thread_ts,
            file=png,
            filename=FILENAME,
            title=title,
            alt_txt=alt,
            initial_comment=text,
        )
        return True
    except (SlackClientError, aiohttp.ClientError, TimeoutError) as exc:
        code = slack_error(exc) if isinstance(exc, SlackApiError) else type(exc).__name__
        logger.warning("chart not shared [correlation_id=%s]: %s", correlation_id, code)
        fix = f": {SCOPE_HINT}" if "missing_scope" in code else f" (Slack said {escape_mrkdwn(code)})"
        await _say(client, budget, target, f"_The chart could not be attached{fix}._")
        return False


def _texts(chart: Chart) -> tuple[str, str, str]:
    """(title, alt text, comment), scrubbed here as well as by the client: a chart's query may repeat what
    a workload wrote, and a files.* call is the kind a client change could stop scrubbing."""
    words = scrub(caption(chart))
    return words[:MAX_TITLE], words, scrub(comment(chart))


async def _say(client: AsyncWebClient, budget: RateBudget, target: ReplyTarget, text: str) -> None:
    try:
        await budget.take("chat.postMessage", target.channel)
        await client.chat_postMessage(channel=target.channel, thread_ts=target.thread_ts, text=text)
    except (SlackClientError, aiohttp.ClientError, TimeoutError) as exc:
        logger.warning("could not say the chart failed: %s", exc)
