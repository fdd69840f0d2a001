"""Redact secret values before they reach the model, Slack or the audit log.

Three layers, each linear in the size of what it reads (no pattern backtracks across the text; documents
are parsed within size, nesting and YAML budgets):
- structure: JSON/YAML documents (a tool result, a body sent as text, a manifest, a last-applied
  annotation) are parsed and redacted as structures: Secret `data`/`stringData` values, values under keys
  whose words name secret material (`dbPassword`, `client-key-data`, `apiKey`; not `BYPASS_AUTH`,
  `secretName`, `tokenExpirationSeconds`), `{"name": "DB_PASSWORD", "value": ...}` pairs, `--token VALUE`
  arguments;
- patterns: token-shaped strings (Slack tokens and webhooks, AWS, GitHub, GitLab, Grafana, Google, Stripe,
  OpenAI, bearer, JWT, a URL's password, a signed URL's signature, private keys);
- assignments: `password: value`, `--token=value`, `;PWD=value;` in free text (logs, scripts, properties
  files, connection strings), `curl -u user:password`, `mysql -pPASSWORD`;
- exact values: the bot's own configured secrets (`remember_secrets`), whatever their shape, so a token
  of a form no pattern knows (a Prometheus bearer token, a password) is still caught if it comes back.
Keys that may or may not hold a credential (`BASIC_AUTH`, `NPM_AUTH`, `routing_key`; but also
`BYPASS_AUTH`) have their value hidden when it looks like one: `user:password` or token-shaped.
What an approver needs stays visible: keys, names, types, booleans, references to Secrets. A document that
may hold secret values the text layers cannot see (Secret data, a block value under a secret key) but
cannot be parsed is hidden whole. The frozen call kept for execution is never redacted: only what people,
logs and the model see.

Why one module of ~700 lines: the three layers share the word lists and the budgets, and each layer's
rule is read beside the others when a leak is found; split, a new key word would be added in one place
and missed in another.
"""

from __future__ import annotations

import contextlib
import functools
import json
import re
import sys
from collections.abc import Iterable
from typing import Any

import yaml

REDACTED = "[redacted]"
UNPARSABLE = "[redacted: a document that could not be parsed]"
TOO_LARGE = "[redacted: a document too large to check for secrets]"
TOO_DEEP = "[redacted: nested too deeply to check for secrets]"
MAX_DOCUMENT = 64 * 1024  # a document held in a string; larger ones are redacted as text only
MAX_RESULT_DOCUMENT = 16 * 1024 * 1024  # a whole tool result (JSON parses at tens of MB/s)
YAML_BUDGET = 256 * 1024  # YAML parses at ~1 MB/s even with libyaml: total per redact() call
RESULT_YAML_BUDGET = 12 * 1024  # and per tool result, which is on the answer's critical path
YAML_MIN_COST = 512  # what one YAML parse (and dump) costs at least, in characters of budget
MAX_DEPTH = 100  # levels of nesting walked (a pod spec is ~12, a CRD schema ~40)
MAX_EMBEDDING = 4  # documents in strings in documents: each level is parsed once, so work stays ≤ 4×

# Token-shaped secrets, each pattern run only when its literal is in the text. Every variable run is
# possessive, and the JWT run starts only where a run begins (lookbehind), so no text makes one rescan it.
_TOKENS: tuple[tuple[tuple[str, ...], re.Pattern[str]], ...] = (
    (("xox",), re.compile(r"xox[abcdeprs]-[A-Za-z0-9-]++")),
    (("xapp-",), re.compile(r"xapp-[A-Za-z0-9-]++")),
    (("AKIA", "ASIA"), re.compile(r"A[KS]IA[0-9A-Z]{16}")),
    (("gh", "github_pat_"), re.compile(r"gh[pousr]_[A-Za-z0-9]{30,}+|github_pat_[A-Za-z0-9_]{20,}+")),
    (
        ("eyJ",),
        re.compile(r"eyJ(?<![A-Za-z0-9_-]eyJ)[A-Za-z0-9_-]{10,}+\.[A-Za-z0-9_-]{10,}+\.[A-Za-z0-9_-]{10,}+"),
    ),
    (("AIza",), re.compile(r"AIza[0-9A-Za-z_-]{30,}+")),  # Google API keys
    (
        ("k_live_", "k_test_", "whsec_"),
        re.compile(r"(?<![A-Za-z0-9])(?:[sr]k_(?:live|test)|whsec)_[0-9A-Za-z]{10,}+"),  # Stripe
    ),
    # OpenAI / Anthropic `sk-…`: long and mixed case (a Kubernetes name like `sk-web-7f9c` is neither); it
    # must begin a run, so the lookahead reads each run once.
    (("sk-",), re.compile(r"(?<![A-Za-z0-9_-])sk-(?=[a-z0-9_-]*+[A-Z])[A-Za-z0-9_-]{20,}+")),
    (
        ("glpat-", "gldt-", "glrt-", "glptt-", "glcbt-", "glsoat-", "glffct-", "glagent-", "gloas-"),
        re.compile(r"gl(?:pat|dt|rt|ptt|cbt|soat|ffct|agent|oas)-[A-Za-z0-9_-]{20,}+"),  # GitLab
    ),
    (  # Grafana Cloud access-policy and Grafana service-account tokens (a hosted Prometheus' credentials)
        ("glc_", "glsa_"),
        re.compile(r"(?<![A-Za-z0-9_])gl(?:c|sa)_[A-Za-z0-9+/=_-]{20,}+"),
    ),
    (  # the secret path of a Slack webhook; the host stays
        ("hooks.slack.com/",),
        re.compile(
            r"(?:(?<=hooks\.slack\.com/services/)|(?<=hooks\.slack\.com/workflows/)"
            r"|(?<=hooks\.slack\.com/triggers/))[A-Za-z0-9_/-]++"
        ),
    ),
)
_BEARER = re.compile(r"[Bb][Ee][Aa][Rr][Ee][Rr]\s{1,8}[A-Za-z0-9._~+/-]{16,}+=*+")
_URL_PASSWORD = re.compile(r"://[^/\s:@\"'\\]{0,128}+:[^/\s@\"'\\]{1,256}+(?=@)")  # ://user:password@
# A signed URL's signature (Azure SAS `sig=`, S3 and GCS presigned): the rest of the URL stays.
_URL_SIGNATURE = re.compile(
    r"(?i)([?&;](?:sig|signature|x-amz-signature|x-goog-signature|x-amz-security-token)=)[^&\s\"'#\\<>]{1,4096}+"
)
# `curl -u user:password`, `--user=user:password` (not `docker run -u 1000:1000`, a uid and gid)
_USER_FLAG = re.compile(
    r"(?<![^\s\"'])(?:-u[ \t]{0,8}+|--user(?:[ \t]{1,8}+|=))[^\s:\"'\\]{1,128}+:(?P<pw>[^\s\"'\\]{1,512}+)"
)
# `mysql -uroot -pPASSWORD`: a `-p` glued to its value, on a line that runs a MySQL/MariaDB client.
_MYSQL_FLAG = re.compile(
    r"(?P<nl>\n|\\n)|(?P<cmd>(?<![a-z0-9_])(?:mysql|mariadb)[a-z_-]{0,16}+)"
    r"|(?<![^\s\"'])-p(?P<pw>[^\s\"'\\-][^\s\"'\\]{0,511}+)"
)
SECRET_VALUES = re.compile("|".join(p.pattern for _, p in _TOKENS) + f"|{_BEARER.pattern}")  # all, as one
_PEM_BEGIN = re.compile(r"-----BEGIN [A-Z0-9 ]{0,40}PRIVATE KEY(?: BLOCK)?-----")
_PEM_END = re.compile(r"-----END [A-Z0-9 ]{0,40}PRIVATE KEY(?: BLOCK)?-----")
# The base64 lines (raw or JSON-escaped newlines, or spaces) after a BEGIN line whose END is missing.
_PEM_BODY = re.compile(r"(?:(?:\r?\n|(?:\\r)?\\n|[ \t])[ \t]*+[A-Za-z0-9+/=]++(?=[ \t\r\n\"\\]|$))*+")
_PEM_OPEN = re.compile(_PEM_BEGIN.pattern + _PEM_BODY.pattern)  # once no END follows: one C-level pass

# `password: x`, `--token=x`, `"apiKey": "x"`, `--password x`: a credential word, the rest of its key, then
# a separator, searched in the lowercased text (literal-first: fast). The key's start is found by looking
# back from the word, its words judged by secret_key, the value matched after the separator.
_ASSIGNMENT = re.compile(
    r"(?:pass|pwd|secret|token|credential|creds|key|auth|dsn|cookie|connection|webhook|sk(?![a-z0-9_.\-]))"
    r"(?P<tail>[a-z0-9_.\-]{0,48}+)"
    r"(?:\\{0,7}[\"'])?(?:[ \t]{0,8}+(?P<op>[:=])(?![:=])[ \t]{0,8}+|(?P<space>[ \t]{1,8}+))"
    r"(?!\\{0,7}[\"']?(?:\[redacted|[{\[]|true\b|false\b|null\b))"  # nothing to hide: settled in the regex
)
_KEY_CHARS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_.-")
_ESCAPES = frozenset({"\\n", "\\r", "\\t"})  # escaped newlines and tabs: `"user: app\\npassword: x"`
_ASCII_LOWER = {c: c + 32 for c in range(ord("A"), ord("Z") + 1)}
_VALUE = re.compile(
    r"\\{0,7}\"(?P<dq>[^\"\\\r\n]{1,512}+)|\\{0,7}'(?P<sq>[^'\\\r\n]{1,512}+)|(?P<bare>[^\s\"'\\,;&]{1,512}+)"
)
_REST_OF_LINE = re.compile(r"[^\r\n\"\\]{1,512}+")
_SCHEME_VALUE = re.compile(r"[ \t]{1,8}[^\s\"'\\,;&]{1,4096}+")  # Authorization: Basic <credentials>
_SCHEMES = frozenset({"basic", "bearer", "digest", "token", "negotiate"})
_VISIBLE_VALUES = frozenset({"true", "false", "null", "none", "~", ""})
_TOKEN_SHAPED = re.compile(r"[A-Za-z0-9+/=_~-]{16,512}")  # one value, already cut to a bounded length
_HAS_DIGIT = re.compile(r"[0-9]")
_HAS_LETTER = re.compile(r"[A-Za-z]")

# Document detection and the evidence that an unreadable document may hold secrets.
_LEADING = " \t\r\n\ufeff"
_DOCUMENT_FIRST = frozenset(_LEADING + "{[!%-")
_DOCUMENT_MARKER = re.compile(r"---(?:[ \t\r\n]|$)")
_YAML_START = re.compile(
    r"(?:[ \t]*+#[^\n]*+\n)*+[ \t]*+(?:-[ \t]|\?[ \t]|[\"']?[\w.\-/ ]{1,128}+[\"']?[ \t]*+:(?:[ \t]|\n|$))"
)
_ANCHOR = re.compile(r"(?:\A|[\s\[{,:])[&*]")  # where a YAML anchor or alias could start
_SECRET_MANIFEST = re.compile(r"kind[\"']?[ \t]{0,8}:[ \t]{0,8}[\"']?Secret\b|\bstringData\b")
# `- name: DB_PASSWORD` then `value: ...` (an env entry in YAML or flow style)
_ENV_PAIR = re.compile(
    r"name[\"']?[ \t]{0,8}:[ \t]{0,8}[\"']?([\w.\-]{1,64}+)[\"']?[ \t]{0,8}(?:,|\r?\n)[ \t\-]{0,64}+"
    r"[\"']?value[\"']?[ \t]{0,8}:"
)
_BLOCK_KEY = re.compile(
    r"(?m)^[ \t\-]{0,64}+[\"']?([\w.\-]{1,64}+)[\"']?[ \t]*+:[ \t]*+(?:[|>][^\n]{0,16}+)?$"
)

# Key words. A key is split into words (camelCase, snake_case, kebab-case, dots) and judged by them.
_WORD = re.compile(r"[A-Z]+(?![a-z])|[A-Z]?[a-z]+|[0-9]+")
_STRONG = (
    "password", "passwd", "passphrase", "secret", "token", "credential", "apikey", "privatekey",
    "accesskey", "secretkey", "authorization", "cookie",
)  # fmt: skip
_PAIRS = frozenset(
    {
        ("api", "key"), ("private", "key"), ("client", "key"), ("secret", "key"), ("access", "key"),
        ("session", "key"), ("signing", "key"), ("encryption", "key"), ("master", "key"), ("tls", "key"),
        ("ssl", "key"), ("ssh", "key"), ("hmac", "key"), ("shared", "key"), ("account", "key"),
        ("license", "key"), ("key", "data"), ("connection", "string"), ("connection", "strings"),
        ("integration", "key"), ("webhook", "secret"),
    }
)  # fmt: skip
# Keys that may hold a credential or a setting (`BASIC_AUTH`, `BYPASS_AUTH`, a RabbitMQ or a PagerDuty
# `routing_key`): their value is hidden when it looks like one (see _weak_secret_value).
_WEAK_LAST_PAIRS = frozenset({("routing", "key"), ("service", "key"), ("events", "key")})
# A last word that makes the key a reference to, or a setting about, secret material: shown.
_VISIBLE_LAST = frozenset(
    (
        "name", "names", "ref", "refs", "keyref", "path", "paths", "file", "files", "dir", "directory", "id",
        "ids", "arn", "arns", "kind", "type", "types", "class", "seconds", "secs", "minutes", "hours", "days",
        "ttl", "mode", "enabled", "disabled", "enable", "disable", "optional", "required", "namespace",
        "namespaces", "audience", "audiences", "expiration", "expiry", "expires", "length", "size", "count",
        "version", "versions", "provider", "policy", "review", "request", "requests", "format", "source",
        "sources", "header", "field", "selector", "label", "labels", "annotation", "annotations", "mount",
        "mounts", "volume", "volumes", "url", "uri", "endpoint", "location", "issuer", "store", "stdin",
    )
)  # fmt: skip
_REFERENCE_SUFFIXES = ("name", "ref", "path", "file", "seconds")  # all-lowercase compounds: secretname
_SECRET_KINDS = frozenset({"secret", "secretlist"})
_SECRET_DATA = frozenset({"data", "stringData"})
_PAIR_NAMES = ("name", "Name", "key", "Key", "parameterKey", "ParameterKey", "parameterName", "ParameterName")
_PAIR_VALUES = frozenset({"value", "Value", "parameterValue", "ParameterValue"})
_SCALARS = frozenset({int, float, bool})
_FLAG = re.compile(r"-{1,2}[A-Za-z0-9][A-Za-z0-9_.\-]{0,62}+")


@functools.lru_cache(maxsize=8192)
def _words(key: str) -> tuple[str, ...]:
    return tuple(w.lower() for w in _WORD.findall(key[:128]))


def _visible(words: tuple[str, ...]) -> bool:
    last = words[-1]
    return (
        last in _VISIBLE_LAST
        or words[0] == "existing"
        or (len(last) > 6 and last.endswith(_REFERENCE_SUFFIXES))
    )


@functools.lru_cache(maxsize=8192)
def secret_key(key: str) -> bool:
    """Whether a value under `key` is secret material, judged by the key's words: `dbPassword`, `api-key`,
    `client-key-data`, `authToken` are; `BYPASS_AUTH`, `compass`, `secretName`, `tokenExpirationSeconds` not."""
    words = _words(key)
    if not words:
        return False
    if len(words) > 1 and words[-2] == "webhook" and words[-1] in ("url", "uri"):
        return True  # a webhook's URL is its credential (Slack, Teams, Discord)
    if _visible(words):
        return False
    if words == ("auth",):  # a registry's user:password in a docker config
        return True
    last = len(words) - 1
    for i, word in enumerate(words):
        if any(strong in word for strong in _STRONG) or word in ("creds", "dsn"):
            return True
        if (word == "pass" and i == last) or (word == "pwd" and last > 0):  # DB_PASS; PWD is a directory
            return True
        if word == "sk" and i == last and last > 0:  # STRIPE_SK: a secret key
            return True
        if i and (words[i - 1], word) in _PAIRS:
            return True
    return False


@functools.lru_cache(maxsize=8192)
def _weak_key(key: str) -> bool:
    """A key that names a credential or a setting about one (`BASIC_AUTH`, `NPM_AUTH`, `BYPASS_AUTH`,
    `routing_key`): its value is hidden only when it looks like a credential."""
    words = _words(key)
    return len(words) > 1 and (words[-1] == "auth" or words[-2:] in _WEAK_LAST_PAIRS) and not secret_key(key)


def _weak_secret_value(value: str) -> bool:
    """Whether a value under a _weak_key looks like a credential: `user:password` or token-shaped."""
    value = value.strip()[:513]
    if value.lower() in _VISIBLE_VALUES:
        return False
    if ":" in value and "://" not in value:
        return True
    return _token_shaped(value)


def _token_shaped(value: str) -> bool:
    """Long, one run of token characters, with letters and digits (not `false-by-default`, `orders.v2`)."""
    return (
        _TOKEN_SHAPED.fullmatch(value) is not None
        and _HAS_DIGIT.search(value) is not None
        and _HAS_LETTER.search(value) is not None
    )


MIN_KNOWN_SECRET = 8  # shorter configured values are not matched exactly: they would hide ordinary words
_known: re.Pattern[str] | None = None  # the configured secrets' exact values, as one alternation
_known_values: frozenset[str] = frozenset()
_known_spaced = 0


def remember_secrets(values: Iterable[str | None]) -> None:
    """Redact these exact values from now on (the bot's configured tokens and passwords), wherever they
    appear: the second line behind the patterns, for credentials of a shape no pattern knows."""
    global _known, _known_values, _known_spaced
    given = [v for v in values if v and len(v) >= MIN_KNOWN_SECRET]
    # as written, and as it reads inside a JSON string (a tool result): `"` and `\` escaped, non-ASCII too
    forms = {f for v in given for f in (v, json.dumps(v)[1:-1], json.dumps(v, ensure_ascii=False)[1:-1])}
    found = frozenset(forms) | _known_values
    if found == _known_values:
        return
    longest_first = sorted(found, key=len, reverse=True)  # a value inside a longer one: the longer goes
    _known_values = found
    _known_spaced = max((len(v) for v in found if any(c.isspace() for c in v)), default=0)
    _known = re.compile("|".join(re.escape(v) for v in longest_first))


def known_spaced() -> int:
    """The length of the longest remembered value with a space in it: a stream holds that much back, as
    it holds back a word for the other secrets, so no first words of one are shown before it is whole."""
    return _known_spaced


def forget_secrets() -> None:
    """Forget the remembered values (tests: each starts with none)."""
    global _known, _known_values, _known_spaced
    _known, _known_values, _known_spaced = None, frozenset(), 0


def redact_text(text: str) -> str:
    """Token-shaped secrets (Slack tokens and webhooks, AWS, GitHub, GitLab, Google, Stripe, OpenAI, bearer,
    JWT, URL passwords, signed URLs' signatures, private keys) and the configured secrets replaced."""
    known = _known
    if known is not None:
        text = known.sub(REDACTED, text)
    text = _redact_pem(text)
    for literals, pattern in _TOKENS:
        if any(literal in text for literal in literals):
            text = pattern.sub(REDACTED, text)
    low = text.lower()
    if "bearer" in low:
        text = _BEARER.sub(REDACTED, text)
    if "://" in text:
        text = _URL_PASSWORD.sub("://" + REDACTED, text)
    if "sig" in low or "x-amz-security-token" in low:
        text = _URL_SIGNATURE.sub(r"\g<1>" + REDACTED, text)
    return text


def redact_for_slack(text: str) -> str:
    """Free text as it may be shown: token patterns and `password: value` / `--token=value` assignments
    redacted. Linear; meant as the last line of defence on anything posted to Slack."""
    return _redact_assignments(_redact_flags(redact_text(text)))


def redact_result_text(text: str) -> str:
    """A tool result's text as the model may see it: a JSON/YAML document redacted as a structure (Secret
    data, credential keys, env pairs, embedded last-applied documents), then patterns and assignments."""
    redactor = _Redactor(patterns=False, yaml_budget=RESULT_YAML_BUDGET)
    shaped = redactor.document(text, in_secret=False, depth=0, limit=MAX_RESULT_DOCUMENT)
    return redact_for_slack(text if shaped is None else shaped)


def redact(value: Any, *, key: str = "", in_secret: bool = False) -> Any:
    """A copy of `value` with secret values replaced; structure and non-secret values kept."""
    del key  # kept for callers of the old signature
    return _Redactor(patterns=True, yaml_budget=YAML_BUDGET).value(value, in_secret, 0)


class _NoAliasLoader(yaml.SafeLoader):
    """Safe YAML without aliases: a model-written "billion laughs" must not stall the gate."""

    def fetch_alias(self) -> None:
        raise yaml.YAMLError("YAML aliases are not accepted here")


# libyaml is ~10x faster; it is used only for text where no anchor or alias can start (see _ANCHOR), so
# both loaders give the same documents and aliases are refused either way.
_FastLoader: Any = yaml.CSafeLoader if getattr(yaml, "__with_libyaml__", False) else _NoAliasLoader


def parse_documents(text: str) -> list[Any]:
    """The JSON or YAML documents in `text` (no aliases); ValueError when it is neither."""
    return _parse(text.strip(_LEADING))[0]


class _TooLarge(ValueError):
    """More YAML than the pass may still parse."""


def _parse(body: str, yaml_limit: int = sys.maxsize) -> tuple[list[Any], bool]:
    """(documents, whether `body` was JSON); ValueError when it is neither JSON nor YAML."""
    if body.startswith(("{", "[")):
        with contextlib.suppress(ValueError, RecursionError):  # YAML flow style also starts with "{"
            return [json.loads(body)], True
    if _yaml_cost(body) > yaml_limit:
        raise _TooLarge
    return _load_yaml(body), False


def _yaml_cost(body: str) -> int:
    return max(len(body), YAML_MIN_COST)


def _load_yaml(body: str) -> list[Any]:
    loader = _NoAliasLoader if _ANCHOR.search(body) else _FastLoader
    try:
        return [d for d in yaml.load_all(body, Loader=loader) if d is not None]
    except (yaml.YAMLError, RecursionError, ValueError, TypeError, OverflowError) as exc:
        raise ValueError(f"not a YAML/JSON document: {exc}") from None


def _document_body(text: str) -> str | None:
    """`text` without leading space or byte-order mark when it looks like a JSON or YAML document."""
    body = text.lstrip(_LEADING)
    if len(body) < 4:
        return None
    if body[0] in "{[!" or body.startswith("%YAML") or _DOCUMENT_MARKER.match(body):
        return body.rstrip()
    if "\n" in body and _YAML_START.match(body):
        return body.rstrip()
    return None


_CREDENTIAL_WORD = re.compile(
    r"pass|pwd|secret|token|credential|creds|key|auth|dsn|cookie|connection|webhook|sk(?![a-z0-9_.\-])"
)
_KEY_RUN = re.compile(r"[A-Za-z0-9_.\-]*+")
_SHOWN_SETTING = re.compile(
    r"[\"']?[ \t]*+[:=][ \t]*+[\"']?(?:true|false|null|~)(?![A-Za-z0-9_])", re.IGNORECASE
)


def _mentions_secret(body: str) -> bool:
    """Whether a document that was not parsed (beyond the YAML budget, too large, nested too deeply) names
    secret material anywhere: a word judged by secret_key (`DB_PASSWORD` as a value, `secrets:`), unless
    set to a boolean (`automountServiceAccountToken: false`). Each word is judged once: linear."""
    if _looks_secret(body):
        return True
    low = body.lower()
    if len(low) != len(body):
        low = body.translate(_ASCII_LOWER)
    pos = 0
    while (m := _CREDENTIAL_WORD.search(low, pos)) is not None:
        end = _KEY_RUN.match(body, m.end()).end()  # type: ignore[union-attr]  # `*+` always matches
        pos = max(end, m.end())
        start = _key_start(body, m.start())
        if start < 0:
            start = m.start()
        if secret_key(body[start:end]) and not _SHOWN_SETTING.match(body, end):
            return True
    return False


def _looks_secret(body: str) -> bool:
    """Whether an unreadable document may hold secrets the text layers would miss: a Secret's data, an env
    entry named like a secret, or a block value (on the following lines) under a secret key."""
    if _SECRET_MANIFEST.search(body):
        return True
    return any(secret_key(m[1]) for m in _ENV_PAIR.finditer(body)) or any(
        secret_key(m[1]) for m in _BLOCK_KEY.finditer(body)
    )


def _dump(docs: list[Any], was_json: bool, body: str) -> str:
    if was_json:
        return json.dumps(docs[0], indent=2 if "\n" in body else None, default=str, ensure_ascii=False)
    dumper = yaml.CSafeDumper if getattr(yaml, "__with_libyaml__", False) else yaml.SafeDumper
    return str(yaml.dump_all(docs, Dumper=dumper, sort_keys=False, allow_unicode=True)).strip()


class _Redactor:
    """One redaction pass: counts what it replaced, and spends a YAML budget and an embedding depth."""

    def __init__(self, *, patterns: bool, yaml_budget: int) -> None:
        self.patterns = patterns  # redact strings by pattern here (else the caller does the whole text)
        self.yaml_left = yaml_budget
        self.embedding = 0
        self.changes = 0

    def value(self, value: Any, in_secret: bool, depth: int) -> Any:
        if depth > MAX_DEPTH:
            return self._hidden(TOO_DEEP)
        if value is None or type(value) in _SCALARS:  # the cheap case first: once per node of every result
            return value
        if isinstance(value, dict):
            return self._mapping(value, in_secret, depth)
        if isinstance(value, list | tuple):
            return self._sequence(value, in_secret, depth)
        if isinstance(value, str):
            return self._string(value, in_secret, depth)
        if isinstance(value, bytes):  # YAML !!binary: hidden under a Secret or when it holds a token
            text = value.decode("utf-8", "replace")
            return self._hidden(REDACTED) if in_secret or redact_for_slack(text) != text else value
        return value

    def _hidden(self, marker: str) -> str:
        self.changes += 1
        return marker

    def _mapping(self, value: dict[Any, Any], in_secret: bool, depth: int) -> dict[Any, Any]:
        kind = value.get("kind")
        in_secret = in_secret or (isinstance(kind, str) and kind.lower() in _SECRET_KINDS)
        # {"name": "DB_PASSWORD", "value": "..."}: a container env entry, a parameter, a tag
        secret_pair = weak_pair = False
        if not _PAIR_VALUES.isdisjoint(value):
            pair_name = next((value[k] for k in _PAIR_NAMES if isinstance(value.get(k), str)), None)
            secret_pair = pair_name is not None and secret_key(pair_name)
            weak_pair = pair_name is not None and not secret_pair and _weak_key(pair_name)
        out: dict[Any, Any] = {}
        for k, v in value.items():
            key = k if type(k) is str else str(k)
            if v is None or v is True or v is False:
                out[k] = v  # true/false is never the secret, and the approver needs to see it
            elif in_secret and key in _SECRET_DATA:
                out[k] = (
                    {n: self._hidden(REDACTED) for n in v} if isinstance(v, dict) else self._hidden(REDACTED)
                )
            elif (secret_pair and key in _PAIR_VALUES) or secret_key(key):
                if isinstance(v, dict | list) and _words(key) in (("secret",), ("secrets",)):
                    out[k] = self._references(v, in_secret, depth + 1)
                else:
                    out[k] = self._credential(v, depth + 1)
            elif (
                type(v) is str
                and ((weak_pair and key in _PAIR_VALUES) or (key[-1:] in "hHyY" and _weak_key(key)))
                and _weak_secret_value(v)
            ):
                out[k] = self._hidden(REDACTED)  # BASIC_AUTH: admin:hunter2, NPM_AUTH: <token>
            elif type(v) is str and not self.patterns and v[:1] not in _DOCUMENT_FIRST and "\n" not in v:
                out[k] = v  # the common case in a tool result, kept fast: a name, an image, a phase
            elif type(v) is int or type(v) is float:
                out[k] = v
            else:
                out[k] = self.value(v, in_secret, depth + 1)
        return out

    def _sequence(self, value: list[Any] | tuple[Any, ...], in_secret: bool, depth: int) -> list[Any]:
        out: list[Any] = []
        hide_next = False  # after "--token" in args, the next item is the token
        for item in value:
            if hide_next and isinstance(item, str) and not item.startswith("-"):
                out.append(self._hidden(REDACTED))
                hide_next = False
                continue
            hide_next = (
                isinstance(item, str)
                and item[:1] == "-"
                and _FLAG.fullmatch(item) is not None
                and secret_key(item)
            )
            out.append(self.value(item, in_secret, depth + 1))
        return out

    def _references(self, value: dict[Any, Any] | list[Any], in_secret: bool, depth: int) -> Any:
        """Under `secret:` / `secrets:` a volume's or account's references (secretName, items, name) stay;
        a bare value directly beneath (`secrets: [hunter2]`, `secret: {db: hunter2}`) is material."""
        if isinstance(value, list):
            return [
                self.value(v, in_secret, depth + 1)
                if isinstance(v, dict | list)
                else self._credential(v, depth + 1)
                for v in value
            ]
        out: dict[Any, Any] = {}
        for k, v in value.items():
            words = _words(str(k))
            reference = isinstance(v, dict | list) or (bool(words) and _visible(words))
            out[k] = self.value(v, in_secret, depth + 1) if reference else self._credential(v, depth + 1)
        return out

    def _credential(self, value: Any, depth: int) -> Any:
        """Everything under a credential key, keeping its shape, booleans and references (names, paths)."""
        if depth > MAX_DEPTH:
            return self._hidden(TOO_DEEP)
        if value is None or isinstance(value, bool):
            return value
        if isinstance(value, str) and value.lower() in _VISIBLE_VALUES:
            return value
        if isinstance(value, dict):
            out: dict[Any, Any] = {}
            for k, v in value.items():
                words = _words(str(k))
                reference = bool(words) and _visible(words) and not isinstance(v, dict | list)
                out[k] = v if reference else self._credential(v, depth + 1)
            return out
        if isinstance(value, list | tuple):
            return [self._credential(v, depth + 1) for v in value]
        return self._hidden(REDACTED)

    def _string(self, value: str, in_secret: bool, depth: int) -> str:
        shaped = self.document(value, in_secret, depth, MAX_DOCUMENT)
        if shaped is not None:
            return shaped
        if not self.patterns:
            return value
        redacted = redact_for_slack(value)
        if redacted != value:
            self.changes += 1
        return redacted

    def document(self, text: str, in_secret: bool, depth: int, limit: int) -> str | None:
        """`text` redacted as a document; None when it is not one or nothing in it changed."""
        body = _document_body(text)
        if body is None:
            return None
        if self.embedding >= MAX_EMBEDDING:
            return self._unreadable(body, in_secret, TOO_DEEP)
        if len(body) > limit:
            return self._unreadable(body, in_secret, TOO_LARGE)
        try:
            docs, was_json = _parse(body, self.yaml_left)
        except _TooLarge:
            return self._unreadable(body, in_secret, TOO_LARGE)
        except ValueError:
            self.yaml_left -= _yaml_cost(body)
            return self._unreadable(body, in_secret, UNPARSABLE)
        if not was_json:
            self.yaml_left -= _yaml_cost(body)
        if not any(isinstance(d, dict | list) for d in docs):
            return None
        before = self.changes
        self.embedding += 1
        try:
            redacted = [self.value(d, in_secret, depth + 1) for d in docs]
        finally:
            self.embedding -= 1
        return None if self.changes == before else _dump(redacted, was_json, body)

    def _unreadable(self, body: str, in_secret: bool, marker: str) -> str | None:
        if in_secret:
            return self._hidden(marker)
        # Not parsed for lack of budget, size or depth: hidden when any word in it names secret material.
        # An unparsable one was read as far as it goes: only the evidence the text layers miss counts.
        unchecked = marker is not UNPARSABLE
        return (
            self._hidden(marker) if (_mentions_secret(body) if unchecked else _looks_secret(body)) else None
        )


def _redact_pem(text: str) -> str:
    """Private keys replaced from BEGIN to END; a key whose END is missing (a cut log) up to where its
    base64 ends. Each marker is searched once from where the last one was found, so many BEGINs without
    an END stay linear. A key never spans a quote (the END then belongs to another string)."""
    if "PRIVATE KEY" not in text:
        return text
    parts: list[str] = []
    last = pos = 0
    end: re.Match[str] | None = None
    end_searched = False
    quote = -1
    while (begin := _PEM_BEGIN.search(text, pos)) is not None:
        body = begin.end()
        if not end_searched or (end is not None and end.start() < body):
            end, end_searched = _PEM_END.search(text, body), True
        if end is None:  # no END anywhere after: every key from here on is cut short
            parts += [text[last : begin.start()], _PEM_OPEN.sub(REDACTED, text[begin.start() :])]
            return "".join(parts)
        if quote < body:
            found = text.find('"', body)
            quote = len(text) if found < 0 else found
        cut_short = _PEM_BODY.match(text, body)
        stop = end.end() if quote >= end.start() else cut_short.end() if cut_short else body
        parts += [text[last : begin.start()], REDACTED]
        last = pos = stop
    parts.append(text[last:])
    return "".join(parts)


def _redact_assignments(text: str) -> str:
    """`key: value` / `key=value` / `--flag value` where the key names secret material: the value replaced.
    One linear search over the lowercased text; each candidate is judged once and the search moves on."""
    low = text.lower()
    if len(low) != len(text):  # a few non-ASCII letters lowercase to two characters
        low = text.translate(_ASCII_LOWER)
    parts: list[str] = []
    last = pos = 0
    while (m := _ASSIGNMENT.search(low, pos)) is not None:
        pos = m.end()
        start = _key_start(text, m.start())
        if start < last:  # no key boundary close by, or the key began inside a value already hidden
            continue
        key = text[start : m.end("tail")]
        prose = m["space"] is not None and not key.startswith("-")  # "password reset"; not "--password x"
        kind = _assignment_kind(key)
        if kind is None:
            continue
        span = _value_span(text, m, start)
        if span is None:
            continue
        value = text[span[0] : span[1]]
        if prose or kind == "weak":  # hidden only when the value looks like a credential
            if not (_token_shaped(value) if prose else _weak_secret_value(value)):
                continue
        elif kind == "pwd" and text[start - 1 : start] != ";" and text[span[1] : span[1] + 1] != ";":
            continue  # PWD=/home/app is a directory; `…;PWD=…;` is a connection string's password
        parts += [text[last : span[0]], REDACTED]
        last = pos = span[1]
    if not parts:
        return text
    parts.append(text[last:])
    return "".join(parts)


def _assignment_kind(key: str) -> str | None:
    """ "secret" for a credential key, "weak" for a key that may name one, "pwd" for a bare PWD (a password
    only inside a `;`-separated connection string); None for any other key."""
    if secret_key(key):
        return "secret"
    if _weak_key(key):
        return "weak"
    if key.lower() == "pwd":
        return "pwd"
    return None


def _redact_flags(text: str) -> str:
    """`curl -u user:password` and `mysql -pPASSWORD` (on a line that runs a MySQL client): the password
    replaced. Best effort: other tools' short flags mean other things (`docker run -u 1000:1000`)."""
    spans: list[tuple[int, int]] = []
    if "-u" in text:
        for m in _USER_FLAG.finditer(text):
            if not m["pw"].isdigit() and not m["pw"].startswith("[redacted"):
                spans.append(m.span("pw"))
    if "-p" in text:
        low = text.lower()
        if len(low) != len(text):  # a few non-ASCII letters lowercase to two characters
            low = text.translate(_ASCII_LOWER)
        if "mysql" in low or "mariadb" in low:
            in_client = False
            for m in _MYSQL_FLAG.finditer(low):
                if m["nl"] is not None:
                    in_client = False
                elif m["cmd"] is not None:
                    in_client = True
                elif in_client and not m["pw"].startswith("[redacted"):
                    spans.append(m.span("pw"))
    if not spans:
        return text
    parts: list[str] = []
    last = 0
    for begin, end in sorted(spans):
        if begin >= last:
            parts += [text[last:begin], REDACTED]
            last = end
    parts.append(text[last:])
    return "".join(parts)


def _key_start(text: str, word: int) -> int:
    """Where the key holding the credential word at `word` starts (at most 64 characters back); -1 when
    no key boundary is that close."""
    start = word
    # The letter of an escape (`\n`, `\t`, `\r` in JSON or a log) is not part of the key that follows it.
    while start > 0 and text[start - 1] in _KEY_CHARS and text[start - 2 : start] not in _ESCAPES:
        start -= 1
        if word - start > 64:
            return -1
    return start


def _value_span(text: str, m: re.Match[str], key_start: int) -> tuple[int, int] | None:
    """Where the value after an assignment's separator is; None when there is none worth hiding."""
    start = m.end()
    if m["op"] == ":" and _at_line_start(text, key_start) and text[start : start + 1] not in ("'", '"', "\\"):
        line = _REST_OF_LINE.match(text, start)  # YAML-ish `password: correct horse battery`
        if (
            line is None
            or line[0].strip().lower() in _VISIBLE_VALUES
            or line[0].startswith(("[redacted", "{", "["))
        ):
            return None
        return start, len(line[0].rstrip()) + start
    value = _VALUE.match(text, start)
    if value is None:
        return None
    group = "dq" if value["dq"] is not None else "sq" if value["sq"] is not None else "bare"
    found = value[group]
    if found.lower() in _VISIBLE_VALUES or found.startswith(("[redacted", "{", "[")):
        return None
    if m["space"] is not None and found.startswith("-"):
        return None  # "--token --verbose": the flag has no value here
    end = value.end(group)
    if group == "bare" and found.lower() in _SCHEMES and (scheme := _SCHEME_VALUE.match(text, end)):
        end = scheme.end()
    return value.start(group), end


def _at_line_start(text: str, start: int) -> bool:
    """Whether only indentation, a list dash or a quote stands between the line's start and `start`
    (looks back at most 16 characters)."""
    i = start
    while i > 0 and start - i < 16 and text[i - 1] in " \t-\"'":
        i -= 1
    return i == 0 or text[i - 1] in "\r\n" or text[max(0, i - 2) : i] == "\\n"
