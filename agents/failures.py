"""Map exceptions from a model or AWS call to a short message and what to check.

Users on call need to know *what* failed and *where to look*; the traceback goes to the log with the
correlation id, never to the user.
"""

from __future__ import annotations

import re
from contextvars import ContextVar

from agents.events import ErrorEvent

# Model failures inside a specialist (throttled, unreachable, bad credentials): Strands' agent-as-tool
# adapter turns them into a tool error, so the specialist records them here and the runner reports them
# as what they are instead of letting the coordinator improvise. A list per answer, set by the runner.
specialist_failures: ContextVar[list[BaseException] | None] = ContextVar(
    "sre_bot_specialist_failures", default=None
)

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


def describe_failure(exc: BaseException, correlation_id: str) -> ErrorEvent:
    """One ErrorEvent for any exception escaping an answer."""
    from strands.types.exceptions import ContextWindowOverflowException, ModelThrottledException

    text = _chain(exc)
    if (
        isinstance(exc, ModelThrottledException)
        or "Throttl" in text
        or "RateLimit" in text
        or "429" in _statuses(text)
    ):
        return ErrorEvent(
            "model_throttled",
            "The model is throttled right now; I retried for about 30 seconds.",
            "Try again in a minute, or raise the model's quota (Bedrock: Service Quotas for the model).",
            correlation_id,
        )
    if isinstance(exc, ContextWindowOverflowException):
        return ErrorEvent(
            "context_overflow",
            "This conversation no longer fits in the model's context.",
            "Start a new thread, or ask a narrower question.",
            correlation_id,
        )
    if "AccessDenied" in text:
        return ErrorEvent(
            "credentials",
            "AWS denied the bot access to the model (AccessDenied).",
            "Grant the bot's role bedrock:InvokeModel and bedrock:InvokeModelWithResponseStream for the model, "
            "and enable the model under Bedrock → Model access.",
            correlation_id,
        )
    if any(marker in text for marker in _CREDENTIAL_MARKERS) or "401" in _statuses(text):
        return ErrorEvent(
            "credentials",
            "The model or AWS rejected the credentials (missing, expired or invalid).",
            "Check AWS_PROFILE / AWS credentials (or the API key of MODEL_PROVIDER) and run `sre-bot doctor`.",
            correlation_id,
        )
    if any(marker in text for marker in _UNAVAILABLE_MARKERS):
        return ErrorEvent(
            "model_unavailable",
            "The model service could not be reached or refused the request.",
            "Check MODEL_PROVIDER, MODEL_ID and the endpoint (OPENAI_BASE_URL / OLLAMA_HOST / AWS_REGION); "
            "`sre-bot doctor` tests it.",
            correlation_id,
        )
    return ErrorEvent(
        "internal",
        "Something went wrong while answering.",
        f"The bot's log has the details under id {correlation_id}.",
        correlation_id,
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

_TOOL_NOTES = {
    ("unreachable", "eks_assistant"): (
        "The cluster's API server could not be reached.",
        "Check KUBECONFIG / DEFAULT_CLUSTER (or AWS_REGION and the cluster name in IAM mode) and the "
        "network; `sre-bot doctor` tests it.",
    ),
    ("unreachable", "finops_assistant"): (
        "AWS could not be reached for cost data.",
        "Check AWS_REGION, the network and any proxy; `sre-bot doctor` tests it.",
    ),
    ("credentials", "eks_assistant"): (
        "The cluster refused the bot's credentials.",
        "Check the kubeconfig's user, or the bot role's EKS access entry and expired AWS credentials.",
    ),
    ("credentials", "finops_assistant"): (
        "AWS refused the bot's credentials for cost data.",
        "Check AWS_PROFILE or the role's credentials (expired?) and its Cost Explorer permissions.",
    ),
}


def classify_tool_error(text: str) -> str:
    """The kind of a failed tool call worth a fixed note ("" when the model's account is enough)."""
    if any(marker in text for marker in _TOOL_SERVER_DOWN):
        return "server_down"
    if any(marker in text for marker in _TOOL_CREDENTIALS):
        return "credentials"
    if any(marker in text for marker in _TOOL_UNREACHABLE):
        return "unreachable"
    return ""


def tool_failure_note(kind: str, agent: str, tool: str) -> tuple[str, str] | None:
    """(what failed, what to check) for a classified tool failure of `agent`."""
    if kind == "server_down":
        capability = {"eks_assistant": "EKS", "finops_assistant": "billing"}.get(tool, agent)
        return (
            f"The {capability} MCP server is down.",
            "It is restarted on the next question; `sre-bot doctor` shows why it fails (logs in MCP_LOG_DIR).",
        )
    return _TOOL_NOTES.get((kind, agent))
