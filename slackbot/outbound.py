"""The way out to Slack: secrets redacted, answers neutralized, no link previews.

Two choke points:
- `SafeWebClient.api_call`, through which every Web API call of the bot goes (its own client, and, via
  `use_safe_client`, the client Bolt hands listeners, `say`, `set_status`, …): every string it sends is
  redacted by `scrub`, and messages are posted with `unfurl_links` / `unfurl_media` off, so an injected
  link that carries data is not fetched by Slack's unfurler.
- `answer_markdown` / `growing_answer`, through which every answer (model or tool text) goes before the
  reply code cuts it into messages: redacted, then `neutralize`d; `step_text` for a tool step's title.

`scrub` is the one redaction function: swapping the redactor is a change of one line.
"""

from __future__ import annotations

import json as json_module
import re
from collections.abc import Awaitable, Callable
from typing import Any

from slack_bolt.async_app import AsyncApp, AsyncBoltContext
from slack_sdk.models.basic_objects import JsonObject
from slack_sdk.web.async_client import AsyncWebClient
from slack_sdk.web.async_slack_response import AsyncSlackResponse

from agents.redact import known_spaced, redact_for_slack
from slackbot.safe_text import escape_mrkdwn, neutralize

# Methods that post or rewrite a message someone reads. Slack documents unfurl_links / unfurl_media for
# chat.postMessage (and chat.scheduleMessage); chat.update does not list them, and Slack ignores
# arguments a method does not take, so they go on updates too in case an edit would unfurl.
# chat.postEphemeral and chat.startStream / appendStream / stopStream take no unfurl arguments.
UNFURL_OFF_METHODS = frozenset({"chat.postMessage", "chat.scheduleMessage", "chat.update"})
# Ids and structure, never shown as text: left exactly as the code set them.
_KEEP = frozenset(
    {
        "token", "channel", "ts", "thread_ts", "user", "recipient_user_id", "recipient_team_id", "type", "id",
        "action_id", "block_id", "value", "status", "style", "task_display_mode", "response_type",
    }
)  # fmt: skip
_ARMOR_BEGIN = "-----BEGIN "
_ARMOR_END = re.compile(r"-----END [^\n]{0,64}?-----")  # a whole END line, not "-----END RSA" being written


def scrub(text: str) -> str:
    """Secret-shaped values (tokens, keys, …) in `text` replaced: the last line of defence before Slack."""
    return redact_for_slack(text)


def scrub_payload(value: Any) -> Any:
    """A copy of an API payload with every string scrubbed (ids and the token left as they are)."""
    if isinstance(value, str):
        return scrub(value)
    if isinstance(value, JsonObject):
        return scrub_payload(value.to_dict())
    if isinstance(value, dict):
        return {k: v if k in _KEEP else scrub_payload(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [scrub_payload(v) for v in value]
    return value


def answer_markdown(text: str) -> str:
    """A whole answer as it may be posted: redacted, then neutralized."""
    return neutralize(scrub(text))


def growing_answer(text: str) -> str:
    """What of an answer still being written may be shown now, redacted and neutralized.

    Redaction must see a secret whole: `xoxb-1` is not yet a token that looks like one, and a token split
    across two streamed chunks is redacted in neither. So the text is redacted as a whole and shown only
    up to a point that more text cannot turn into (part of) a secret: before the last two words (a secret
    has no spaces, and `Bearer <token>` is two words), before an armored block (`-----BEGIN … KEY-----`)
    whose whole END line is not in that part yet, no further than the redaction of the whole text agrees,
    and not up to trailing spaces. Each result is a prefix of the next one and of `answer_markdown` of
    the final text, so a stream only grows (checked for `redact_text` and `redact_for_slack` alike).
    """
    settled = text[: min(_settled_end(text), max(0, len(text) - known_spaced()))]
    shown, whole = scrub(settled), scrub(text)
    # Never up to trailing spaces: a redacted value may still grow over them (`password: two words`).
    return neutralize(shown[: _common_prefix(shown, whole)].rstrip())


def step_text(text: str) -> str:
    """A tool step's title or detail (built from model-chosen arguments and tool errors) for Slack."""
    return escape_mrkdwn(scrub(text))


def _settled_end(text: str) -> int:
    """Where the settled part of a growing text ends (written as loops: a regex anchored at the end
    rescans a long run of non-space characters from every position)."""
    cut = len(text)
    for in_word in (True, False, True):  # the word being written, the spaces before it, the word before
        while cut > 0 and text[cut - 1].isspace() != in_word:
            cut -= 1
    begin = text.rfind(_ARMOR_BEGIN, 0, cut)
    if begin >= 0 and _ARMOR_END.search(text, begin, cut) is None:
        cut = begin
    return cut


def _scrub_param(value: Any) -> Any:
    """A query parameter scrubbed; one holding JSON (files.completeUploadExternal's `files`) is scrubbed
    as the structure it is, so redaction cannot cut through its quotes."""
    if isinstance(value, str) and value.startswith(("[", "{")):
        try:
            return json_module.dumps(scrub_payload(json_module.loads(value)))
        except ValueError:
            pass
    return scrub_payload(value)


def _common_prefix(a: str, b: str) -> int:
    if b.startswith(a):
        return len(a)
    n = min(len(a), len(b))
    i = 0
    while i < n and a[i] == b[i]:
        i += 1
    return i


class SafeWebClient(AsyncWebClient):
    """An AsyncWebClient whose every call is scrubbed and, for messages, posted without link previews."""

    async def api_call(
        self,
        api_method: str,
        *,
        http_verb: str = "POST",
        files: dict[str, Any] | None = None,
        data: Any = None,
        params: dict[str, Any] | None = None,
        json: dict[str, Any] | None = None,
        headers: dict[str, Any] | None = None,
        auth: dict[str, Any] | None = None,
    ) -> AsyncSlackResponse:
        if isinstance(json, dict):
            json = scrub_payload(json)
            if api_method in UNFURL_OFF_METHODS:
                json.update(unfurl_links=False, unfurl_media=False)
        if isinstance(data, dict):
            data = scrub_payload(data)
            if api_method in UNFURL_OFF_METHODS:
                data.update(unfurl_links="false", unfurl_media="false")
        if isinstance(params, dict):  # files.* send their texts (title, alt text, comment) as params
            params = {k: _scrub_param(v) if k not in _KEEP else v for k, v in params.items()}
        return await super().api_call(
            api_method,
            http_verb=http_verb,
            files=files,
            data=data,
            params=params,
            json=json,
            headers=headers,
            auth=auth,
        )


def use_safe_client(app: AsyncApp, client: SafeWebClient) -> None:
    """Make every listener (and `say`, `set_status`, `set_title`, …) call Slack through `client`.

    Bolt builds a plain AsyncWebClient for each request; this global middleware, registered before any
    listener or the assistant middleware, replaces it before anything is built from it. The bot has one
    token, so sharing one client is safe.
    """

    async def safe_client(context: AsyncBoltContext, next: Callable[[], Awaitable[Any]]) -> Any:
        context["client"] = client
        return await next()

    app.middleware(safe_client)
