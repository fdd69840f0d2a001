"""The error code of a failed Slack call, whatever the response body was (JSON, text, or nothing)."""

from __future__ import annotations

from slack_sdk.errors import SlackApiError


def slack_error(exc: SlackApiError) -> str:
    """Slack's `error` field ("not_in_channel", …), or the HTTP status when the body was not JSON."""
    response = getattr(exc, "response", None)
    data = getattr(response, "data", None)
    if isinstance(data, dict) and data.get("error"):
        return str(data["error"])
    status = getattr(response, "status_code", None)
    return f"http_{status}" if status else "unknown_error"
