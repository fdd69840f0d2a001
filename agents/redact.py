"""Redact secret values before arguments reach Slack or the audit log.

Kubernetes Secret data, anything under a key that names a credential, and token-shaped strings (Slack
tokens, AWS keys, bearer tokens, private keys) become "[redacted]". The frozen call kept for execution is
never redacted; only what people and logs see.
"""

from __future__ import annotations

import json
import re
from typing import Any

import yaml

REDACTED = "[redacted]"
SECRET_KEYS = re.compile(
    r"(pass(word|wd)?|secret|token|api[-_]?key|private[-_]?key|credential|auth|cert(ificate)?[-_]?key|"
    r"access[-_]?key|session[-_]?key|connection[-_]?string|dsn)",
    re.I,
)
SECRET_VALUES = re.compile(
    r"(xox[abprs]-[A-Za-z0-9-]+|xapp-[A-Za-z0-9-]+|AKIA[0-9A-Z]{16}|ASIA[0-9A-Z]{16}|"
    r"-----BEGIN [A-Z ]*PRIVATE KEY-----[\s\S]*?-----END [A-Z ]*PRIVATE KEY-----|"
    r"(?i:bearer)\s+[A-Za-z0-9._~+/-]{16,}=*|eyJ[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]{10,})"
)


def redact_text(text: str) -> str:
    return SECRET_VALUES.sub(REDACTED, text)


def redact(value: Any, *, key: str = "", in_secret: bool = False) -> Any:
    """A copy of `value` with secret values replaced; structure and non-secret values kept."""
    if isinstance(value, dict):
        is_secret_object = str(value.get("kind", "")).lower() == "secret"
        # {"name": "DB_PASSWORD", "value": "..."}: a container env entry (or any name/value pair)
        named_secret = isinstance(value.get("name"), str) and bool(SECRET_KEYS.search(value["name"]))
        out: dict[str, Any] = {}
        for k, v in value.items():
            if (is_secret_object or in_secret) and k in ("data", "stringData"):
                out[k] = {name: REDACTED for name in v} if isinstance(v, dict) else REDACTED
            elif (SECRET_KEYS.search(str(k)) and isinstance(v, str | int | float) and k not in ("kind",)) or (
                named_secret and k == "value" and isinstance(v, str | int | float)
            ):
                out[k] = REDACTED
            else:
                out[k] = redact(v, key=str(k), in_secret=in_secret or is_secret_object)
        return out
    if isinstance(value, list):
        return [redact(v, key=key, in_secret=in_secret) for v in value]
    if isinstance(value, str):
        return _redact_document(value) or redact_text(value)
    return value


MAX_DOCUMENT = 64 * 1024  # larger strings are redacted as text only


class _NoAliasLoader(yaml.SafeLoader):
    """Safe YAML without aliases: a model-written "billion laughs" must not stall the gate."""

    def fetch_alias(self) -> None:
        raise yaml.YAMLError("YAML aliases are not accepted here")


def _redact_document(text: str) -> str | None:
    """A JSON or YAML document held in a string (a body sent as text, a manifest file's content):
    redacted as a structure; None when it is not one or nothing in it is secret."""
    stripped = text.strip()
    if (
        len(stripped) < 8
        or len(stripped) > MAX_DOCUMENT
        or not (stripped.startswith(("{", "[")) or "\n" in stripped)
    ):
        return None
    try:
        if stripped.startswith(("{", "[")):
            data = json.loads(stripped)
            redacted = redact(data)
            return None if redacted == data else json.dumps(redacted, indent=2)
        docs = [d for d in yaml.load_all(stripped, Loader=_NoAliasLoader) if d is not None]
    except (ValueError, yaml.YAMLError):
        return None
    if not docs or not all(isinstance(d, dict | list) for d in docs):
        return None
    redacted_docs = [redact(d) for d in docs]
    if redacted_docs == docs:
        return None
    return yaml.safe_dump_all(redacted_docs, sort_keys=False).strip()
