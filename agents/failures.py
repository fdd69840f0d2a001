"""Map exceptions from a model or AWS call to a short message and what to check.

Users on call need to know *what* failed and *where to look*; the traceback goes to the log with the
correlation id, never to the user.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from agents.capabilities import ASK_AGAIN, INSTALL_HINT, TELL_ADMIN, by_name
from agents.events import ErrorEvent, ErrorKind, FailureNote

if TYPE_CHECKING:
    from agents.settings import Settings

# Model failures inside a specialist (throttled, unreachable, bad credentials): Strands' agent-as-tool
# adapter turns them into a tool error, so the specialist reports them in a list the runner puts in the
# coordinator's invocation state under this key, and the runner reports them as what they are instead of
# letting the coordinator improvise.
MODEL_FAILURES = "sre_bot_model_failures"


def model_failures(invocation_state: Mapping[str, Any]) -> list[BaseException] | None:
    """The answer's list of specialists' model failures (None outside a runner's request)."""
    failures = invocation_state.get(MODEL_FAILURES)
    return failures if isinstance(failures, list) else None


_CREDENTIAL_MARKERS = (
    "NoCredentialsError",
    "Unable to locate credentials",
    "ExpiredToken",
    "ExpiredTokenException",
    "UnrecognizedClientException",
    "InvalidClientTokenId",
    "The security token included in the request",
    "InvalidSignatureException",
    "authentication_error",
    "invalid x-api-key",
    "Incorrect API key",
    "AuthenticationError",
)
# An HTTP status as SDKs print it ("Error code: 429", "status 401", "(401)"), not any number in a message.
_HTTP_STATUS = re.compile(r"(?:[Ee]rror code|[Ss]tatus(?: code)?|HTTP)[: ]+(\d{3})|\((\d{3})\)")
_UNAVAILABLE_MARKERS = (
    "APIConnectionError",
    "ConnectError",
    "ConnectionError",
    "EndpointConnectionError",
    "Connection refused",
    "ReadTimeout",
    "Timeout",
    "ServiceUnavailable",
    "ModelNotReady",
    "ResourceNotFound",
    "NotFoundError",
    "model not found",
)


def _statuses(text: str) -> set[str]:
    return {a or b for a, b in _HTTP_STATUS.findall(text)}


def _chain(exc: BaseException) -> str:
    parts: list[str] = []
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        parts.append(f"{type(current).__name__}: {current}")
        current = current.__cause__ or current.__context__
    return " | ".join(parts)


def describe_failure(exc: BaseException, correlation_id: str, settings: Settings | None = None) -> ErrorEvent:
    """One ErrorEvent for any exception escaping an answer.

    With `settings`, model failures name the endpoint that was called and the wait actually allowed
    (MODEL_MAX_WAIT_SECONDS): "could not be reached" alone leaves the reader guessing which one.
    """
    text = _chain(exc)
    kind, message, hint, action = _explain(_failure_of(exc, text), correlation_id, settings)
    return ErrorEvent(kind, message, hint, correlation_id, text[:500], action)


def _failure_of(exc: BaseException, text: str) -> str:
    """Which failure an exception is, by its type and its chain's text (first match wins)."""
    from strands.types.exceptions import ContextWindowOverflowException, ModelThrottledException

    if (
        isinstance(exc, ModelThrottledException)
        or "Throttl" in text
        or "RateLimit" in text
        or "429" in _statuses(text)
    ):
        return "model_throttled"
    if isinstance(exc, ContextWindowOverflowException):
        return "context_overflow"
    if "AccessDenied" in text:
        return "access_denied"
    if any(marker in text for marker in _CREDENTIAL_MARKERS) or "401" in _statuses(text):
        return "credentials"
    if any(marker in text for marker in _UNAVAILABLE_MARKERS):
        return "model_unavailable"
    return "internal"


def _explain(failure: str, correlation_id: str, settings: Settings | None) -> tuple[ErrorKind, str, str, str]:
    """(kind, message, hint, action) of a failure, as `describe_failure` reports it."""
    waited = f"about {settings.model_max_wait_seconds} seconds" if settings is not None else "a while"
    if failure == "model_throttled":
        return (
            "model_throttled",
            f"The model is throttled right now; I retried for {waited}.",
            "If it keeps happening, raise the model's quota (Bedrock: Service Quotas for the model).",
            ASK_AGAIN,
        )
    if failure == "context_overflow":
        return (
            "context_overflow",
            "This conversation no longer fits in the model's context.",
            "",
            "Start a new thread, or ask a narrower question.",
        )
    if failure == "access_denied":
        return (
            "credentials",
            "AWS denied the bot access to the model (AccessDenied).",
            "Grant the bot's role bedrock:InvokeModel and bedrock:InvokeModelWithResponseStream for the model, "
            "and enable the model under Bedrock → Model access.",
            TELL_ADMIN,
        )
    if failure == "credentials":
        return (
            "credentials",
            "The model or AWS rejected the credentials (missing, expired or invalid).",
            "Check AWS_PROFILE / AWS credentials (or the API key of MODEL_PROVIDER) and run `sre-bot doctor`.",
            TELL_ADMIN,
        )
    if failure == "model_unavailable":
        return ("model_unavailable", *_unavailable(settings, waited), ASK_AGAIN)
    return (
        "internal",
        "Something went wrong while answering.",
        f"The bot's log has the details under id {correlation_id}.",
        ASK_AGAIN,
    )


def _unavailable(settings: Settings | None, waited: str) -> tuple[str, str]:
    """The message and hint of an unreachable model, naming its endpoint and setting when known."""
    if settings is None:
        where, setting = "", "the endpoint (OPENAI_BASE_URL / OLLAMA_HOST / AWS_REGION)"
    else:
        from agents.models import model_endpoint

        endpoint = model_endpoint(settings)
        where, setting = f" at {endpoint.url}", endpoint.setting
    return (
        f"The model service{where} could not be reached or refused the request; "
        f"I kept trying for up to {waited}.",
        f"Check MODEL_PROVIDER, MODEL_ID and {setting} (a slow model may need MODEL_MAX_WAIT_SECONDS "
        "raised); `sre-bot doctor` tests it.",
    )


# Tool errors that a user on call must not have to decode from the model's prose: what failed and where
# to look is added to the answer, with the correlation id that is also in the log.
_TOOL_UNREACHABLE = (
    "Max retries exceeded",
    "Failed to establish a new connection",
    "Connection refused",
    "Name or service not known",
    "Temporary failure in name resolution",
    "EndpointConnectionError",
    "Could not connect to the endpoint",
    "timed out",
)
_TOOL_CREDENTIALS = (
    "Unauthorized",
    "(401)",
    "ExpiredToken",
    "Unable to locate credentials",
    "NoCredentialsError",
    "InvalidClientTokenId",
    "security token included in the request is expired",
)
_TOOL_SERVER_DOWN = ("MCP server stopped", "MCP server is not installed", "is unavailable right now")


def classify_tool_error(text: str) -> str:
    """The kind of a failed tool call worth a fixed note ("" when the model's account is enough)."""
    if any(marker in text for marker in _TOOL_SERVER_DOWN):
        return "server_down"
    if any(marker in text for marker in _TOOL_CREDENTIALS):
        return "credentials"
    if any(marker in text for marker in _TOOL_UNREACHABLE):
        return "unreachable"
    return ""


def _server_note(capability: str, detail: str) -> tuple[str, str, str]:
    """A server-down note that promises a restart only when one will happen.

    A server that is not installed stays down until someone installs it; one that did not start is
    tried again after a pause; one that stopped during a call is restarted on the next call.
    """
    if "not installed" in detail:
        return (
            f"The {capability} MCP server is not installed.",
            TELL_ADMIN,
            f"{INSTALL_HINT} `sre-bot doctor` checks it.",
        )
    if "stopped during" in detail or "MCP server stopped" in detail:
        return (
            f"The {capability} MCP server stopped.",
            "Ask again: it is restarted on the next question. If you asked for a change, check whether "
            "it happened before asking again.",
            "`sre-bot doctor` shows why it fails (logs in MCP_LOG_DIR).",
        )
    return (
        f"The {capability} MCP server is down.",
        "Ask again in a minute or two: the bot tries to start it again; if it keeps failing, tell the "
        "bot's admin.",
        "`sre-bot doctor` shows why it does not start (logs in MCP_LOG_DIR).",
    )


def tool_failure_note(kind: str, agent: str, tool: str, detail: str = "") -> FailureNote | None:
    """What failed, what the asker can do and what the admin checks, for a classified tool failure.

    `detail` is the failed call's text (ToolFinished.detail): it tells a missing server from a dead one.
    """
    if kind == "server_down":
        owner = by_name(tool) or by_name(agent)
        return FailureNote(*_server_note(owner.server_title if owner else agent, detail))
    capability = by_name(agent)
    note = capability.notes.get(kind) if capability is not None else None
    return FailureNote(*note) if note is not None else None


def note_markdown(note: FailureNote) -> str:
    """A note as a chat shows it under an answer (a Markdown quote): what failed and what to do, then the
    admin's line. Front ends with room for their own form (the terminal) show the note's fields instead."""
    return (
        f"\n\n> ⚠️ **{note.what}** {note.action} Reference: `{note.correlation_id}`"
        f"\n> _For the bot's admin: {note.admin}_"
    )
