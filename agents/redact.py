"""Redact secret values before arguments reach Slack or the audit log.

Kubernetes Secret data, values under a key that names secret material (password, token, api key, client
key data, ...), and token-shaped strings (Slack tokens, AWS keys, bearer tokens, private keys) become
"[redacted]". What an approver needs to judge a change stays visible: booleans, references to Secrets
(`secretName`, `secretKeyRef`), annotation keys. Documents held in strings (a body sent as text, a
manifest file's content) are parsed and redacted as structures. The frozen call kept for execution is
never redacted; only what people and logs see.
"""

from __future__ import annotations

import json
import re
from typing import Any

import yaml

REDACTED = "[redacted]"
UNPARSABLE = "[redacted: a document that could not be parsed]"
SECRET_KEYS = re.compile(
    r"(pass(word|wd|phrase)?|secret(?!(name|ref|keyref))|token(?!(review|request|expiration))|"
    r"api[-_]?key|private[-_]?key|client[-_]?key|key[-_]?data|credential|authorization|"
    r"cert(ificate)?[-_]?key|access[-_]?key|session[-_]?key|connection[-_]?string|dsn)",
    re.I,
)
# A key that merely points at secret material (the approver must see which one).
REFERENCE_KEYS = re.compile(r"(name|ref|path|file|arn|id|enabled|disabled)$", re.I)
SECRET_VALUES = re.compile(
    r"(xox[abprs]-[A-Za-z0-9-]+|xapp-[A-Za-z0-9-]+|AKIA[0-9A-Z]{16}|ASIA[0-9A-Z]{16}|"
    r"-----BEGIN [A-Z ]*PRIVATE KEY-----[\s\S]*?-----END [A-Z ]*PRIVATE KEY-----|"
    r"(?i:bearer)\s+[A-Za-z0-9._~+/-]{16,}=*|eyJ[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]{10,})"
)
MAX_DOCUMENT = 64 * 1024  # larger strings are redacted as text only


def redact_text(text: str) -> str:
    return SECRET_VALUES.sub(REDACTED, text)


def _secret_key(key: str) -> bool:
    if key.lower() in ("secret", "secrets"):  # a volume's or service account's Secret references
        return False
    return bool(SECRET_KEYS.search(key)) and not REFERENCE_KEYS.search(key)


def redact(value: Any, *, key: str = "", in_secret: bool = False) -> Any:
    """A copy of `value` with secret values replaced; structure and non-secret values kept."""
    if isinstance(value, dict):
        is_secret_object = str(value.get("kind", "")).lower() == "secret"
        # {"name": "DB_PASSWORD", "value": "..."}: a container env entry (or any name/value pair)
        named_secret = isinstance(value.get("name"), str) and _secret_key(value["name"])
        out: dict[str, Any] = {}
        for k, v in value.items():
            if isinstance(v, bool) or v is None:
                out[k] = v  # true/false is never the secret, and the approver needs to see it
            elif (is_secret_object or in_secret) and k in ("data", "stringData"):
                out[k] = {name: REDACTED for name in v} if isinstance(v, dict) else REDACTED
            elif (_secret_key(str(k)) and k != "kind") or (named_secret and k == "value"):
                out[k] = _redact_all(v)
            else:
                out[k] = redact(v, key=str(k), in_secret=in_secret or is_secret_object)
        return out
    if isinstance(value, list):
        return [redact(v, key=key, in_secret=in_secret) for v in value]
    if isinstance(value, str):
        return _redact_document(value) or redact_text(value)
    return value


def _redact_all(value: Any) -> Any:
    """Everything under a credential key, keeping only its shape (and booleans)."""
    if isinstance(value, dict):
        return {k: _redact_all(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_redact_all(v) for v in value]
    return value if isinstance(value, bool) or value is None else REDACTED


class _NoAliasLoader(yaml.SafeLoader):
    """Safe YAML without aliases: a model-written "billion laughs" must not stall the gate."""

    def fetch_alias(self) -> None:
        raise yaml.YAMLError("YAML aliases are not accepted here")


def parse_documents(text: str) -> list[Any]:
    """The JSON or YAML documents in `text` (no aliases); ValueError when it is neither."""
    return _parse(text)[0]


def _parse(text: str) -> tuple[list[Any], bool]:
    """(documents, whether `text` was JSON); ValueError when it is neither JSON nor YAML."""
    stripped = text.strip()
    if stripped.startswith(("{", "[")):
        try:
            return [json.loads(stripped)], True
        except ValueError:
            pass  # YAML flow style also starts with "{"
    try:
        return [d for d in yaml.load_all(stripped, Loader=_NoAliasLoader) if d is not None], False
    except yaml.YAMLError as exc:
        raise ValueError(f"not a YAML/JSON document: {exc}") from None


def _redact_document(text: str) -> str | None:
    """A JSON or YAML document held in a string, redacted as a structure; None when the string is not
    a document or nothing in it is secret. An unparsable document that may hold secrets is hidden."""
    stripped = text.strip()
    if len(stripped) < 8 or not (stripped.startswith(("{", "[")) or "\n" in stripped):
        return None
    if len(stripped) > MAX_DOCUMENT:
        return None
    try:
        docs, was_json = _parse(stripped)
    except ValueError:
        looks_secret = SECRET_KEYS.search(stripped) or re.search(r"\b(stringData|data)\s*:", stripped)
        return UNPARSABLE if looks_secret else None
    if not any(isinstance(d, dict | list) for d in docs):
        return None
    redacted_docs = [redact(d) if isinstance(d, dict | list) else d for d in docs]
    if redacted_docs == docs:
        return None
    if was_json:
        return json.dumps(redacted_docs[0], indent=2)
    return yaml.safe_dump_all(redacted_docs, sort_keys=False).strip()
