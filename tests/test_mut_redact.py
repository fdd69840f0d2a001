"""Redaction, rule by rule: the exact text people, logs and the model see, and the boundaries of each rule.

Written for mutation testing (tests/MUTATION.md). tests/test_redact.py shows that secrets do not come out
(also as property tests); these pin the exact output of each rule (so a rule that hides one word too few
of a passphrase, or a document dumped in another form, is noticed), the last value a bound accepts and the
first it refuses (nesting depth, document size, the YAML budget, the look-back of a key), and what must
stay visible next to what goes.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from agents import redact as redact_module
from agents.redact import (
    MAX_DEPTH,
    MAX_DOCUMENT,
    REDACTED,
    RESULT_YAML_BUDGET,
    TOO_DEEP,
    TOO_LARGE,
    UNPARSABLE,
    parse_documents,
    redact,
    redact_for_slack,
    redact_result_text,
    redact_text,
    secret_key,
)


@pytest.fixture(autouse=True)
def _fresh_key_judgements() -> Iterator[None]:
    """The key judgements are cached per process; each test judges its keys anew (also under mutation)."""
    for cached in (redact_module._words, redact_module.secret_key, redact_module._weak_key):
        cached.cache_clear()
    yield


def nest(inner: Any, levels: int) -> Any:
    for _ in range(levels):
        inner = {"a": inner}
    return inner


# --- key judgement -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("key", "secret"),
    [
        ("password", True),
        ("MyPasswordX", True),
        ("passwordHash", True),
        ("webhookUrl", True),  # a webhook's URL is its credential
        ("webhook_uri", True),
        ("SLACK_WEBHOOK_URL", True),
        ("webhookName", False),
        ("webhook", False),
        ("url", False),
        ("existingSecret", False),  # Helm: the name of an existing Secret
        ("existing_password", False),
        ("password_existing", True),
        ("secretname", False),  # all-lowercase compounds ending in a reference word
        ("tokenfile", False),
        ("passwordpath", False),
        ("tokenseconds", False),
        ("secretref", False),
        ("password_keyfile", False),  # 7 letters ending in "file": a path
        ("api_key_infile", True),  # 6 letters: too short to be a compound reference
        ("auth", True),
        ("AUTH", True),
        ("auth_token", True),
        ("pass", True),
        ("DB_PASS", True),
        ("pass_through", False),
        ("PWD", False),
        ("DB_PWD", True),
        ("pwd_x", True),
        ("sk", False),
        ("STRIPE_SK", True),
        ("sk_live", False),
        ("key", False),
        ("KEY_DATA", True),
        ("key_id", False),
        ("keyref", False),
        ("connection_string", True),
        ("creds", True),
        ("SENTRY_DSN", True),
        ("tls.key", True),
        ("shared.key", True),
        ("integration_key", True),
        ("webhook_secret", True),
        ("routing_key", False),
        ("BASIC_AUTH", False),
        ("secret_names", False),
        ("cookie", True),
        ("x_cookie_y", True),
        ("", False),
        ("___", False),
    ],
)
def test_secret_key_judges_the_words_of_a_key(key: str, secret: bool) -> None:
    assert secret_key(key) is secret


# --- free text: assignments --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "shown"),
    [
        # A YAML-ish `key: value` alone on its line: the whole rest of the line is the value.
        ("password: correct horse battery", "password: [redacted]"),
        (" password: correct horse battery", " password: [redacted]"),
        (" " * 16 + "password: correct horse battery", " " * 16 + "password: [redacted]"),
        ("  - 'password': correct horse battery", "  - 'password': [redacted]"),
        ('"password": correct horse battery', '"password": [redacted]'),
        ("abc\npassword: correct horse battery", "abc\npassword: [redacted]"),
        ("abc\rpassword: correct horse battery", "abc\rpassword: [redacted]"),
        ("0123456789abcdef\n  password: correct horse battery", "0123456789abcdef\n  password: [redacted]"),
        ("a\\n  password: correct horse battery", "a\\n  password: [redacted]"),  # a JSON-escaped newline
        ("\\npassword: correct horse battery", "\\npassword: [redacted]"),
        # The letter of an escape is not part of the key after it (these leaked before).
        ("x\\npassword: correct horse battery\\n", "x\\npassword: [redacted]\\n"),
        ('cfg "user: app\\napi_key: abc123XYZ\\n"', 'cfg "user: app\\napi_key: [redacted]\\n"'),
        ('cfg "a\\napiKey=abc123XYZ"', 'cfg "a\\napiKey=[redacted]"'),
        ('cfg "a\\tapi_key: abc123XYZ"', 'cfg "a\\tapi_key: [redacted]"'),
        ('cfg "a\\rapi_key: abc123XYZ"', 'cfg "a\\rapi_key: [redacted]"'),
        ("C:\\new_password=abc x", "C:\\new_password=[redacted] x"),
        ("password: correct horse battery '", "password: [redacted]"),
        ("password: correct horse\nnext line", "password: [redacted]\nnext line"),
        # Not at a line's start: one value.
        (" " * 17 + "password: correct horse battery", " " * 17 + "password: [redacted] horse battery"),
        ("x password: correct horse battery", "x password: [redacted] horse battery"),
        ("X password: correct horse battery", "X password: [redacted] horse battery"),
        ("abc password: correct horse battery", "abc password: [redacted] horse battery"),
        # Quoted values: the quotes stay.
        ("password: 'a b' x", "password: '[redacted]' x"),
        ('password: "a b" x', 'password: "[redacted]" x'),
        ('password: \\"a b\\" x', 'password: \\"[redacted]\\" x'),
        # Nothing to hide.
        ("password: None", "password: None"),
        ("password: ~", "password: ~"),
        ("password=None x", "password=None x"),
        ("password=~ x", "password=~ x"),
        ("password='~' x", "password='~' x"),
        # A scheme and its credentials.
        ("curl -H Authorization=Basic dXNlcjpwYXNzd29yZA== -v", "curl -H Authorization=[redacted] -v"),
        ("curl -H Authorization=basic dXNlcjpwYXNzd29yZA== -v", "curl -H Authorization=[redacted] -v"),
        ("curl -H 'Authorization: Basic dXNlcjpwYXNzd29yZA==' -v", "curl -H 'Authorization: [redacted]' -v"),
        # Flags and one-word assignments.
        ("x password=hunter2 y", "x password=[redacted] y"),
        ("x --token hunter2abc y", "x --token [redacted] y"),
        ("x --token=hunter2abc y", "x --token=[redacted] y"),
        ('x "apiKey": "abc def" y', 'x "apiKey": "[redacted]" y'),
        ("Server=db;PWD=abc;x", "Server=db;PWD=[redacted];x"),
        ("a PWD=abc;", "a PWD=[redacted];"),
        ("PWD=abc", "PWD=abc"),
        ("BASIC_AUTH=admin:pw x", "BASIC_AUTH=[redacted] x"),
        ("BASIC_AUTH=plain x", "BASIC_AUTH=plain x"),
        ("NPM_AUTH=https://registry.npmjs.org x", "NPM_AUTH=https://registry.npmjs.org x"),
        ("x --password hunter2 y", "x --password [redacted] y"),  # a flag's value, whatever its shape
        ("the password hint: blue", "the password hint: blue"),  # prose: hidden only when token-shaped
        ("Server=db;PWD=abc", "Server=db;PWD=[redacted]"),
        # Each candidate is judged on its own: one that is not hidden does not end the search.
        ("a" * 64 + "password=hunter2 x", "a" * 64 + "password=[redacted] x"),
        ("a" * 65 + "password=x db_password=hunter2", "a" * 65 + "password=x db_password=[redacted]"),
        ("tokenExpirationSeconds=3600 password=hunter2", "tokenExpirationSeconds=3600 password=[redacted]"),
        ("password=None db_password=hunter2", "password=None db_password=[redacted]"),
        ("PWD=/home/app password=hunter2", "PWD=/home/app password=[redacted]"),
        ("password=a token=b x", "password=[redacted] token=[redacted] x"),
        # Letters that lowercase to two characters do not shift what is hidden.
        ("İİİİ password=hunter2 x", "İİİİ password=[redacted] x"),
        ("İ DB_PASSWORD=hunter2 x", "İ DB_PASSWORD=[redacted] x"),
        # Flags: `-u user:password` and a MySQL client's `-pPASSWORD`.
        ("curl -u admin:xoxb-1-a/b x", "curl -u admin:[redacted]/b x"),  # a token already hidden: once
        ("curl --user admin:pw x", "curl --user admin:[redacted] x"),
        ("curl -uadmin:pw x", "curl -uadmin:[redacted] x"),
        ("curl -u 1000:1000 x", "curl -u 1000:1000 x"),
        ("x-u admin:pw", "x-u admin:pw"),
        ("mysql -uroot -phunter2 app", "mysql -uroot -p[redacted] app"),
        ("mariadb -uroot -phunter2 app", "mariadb -uroot -p[redacted] app"),
        ("mysql '-phunter2'", "mysql '-p[redacted]'"),
        ("mysqldump -phunter2 app\nssh -p 2222 host", "mysqldump -p[redacted] app\nssh -p 2222 host"),
        ("x -phunter2 mysql", "x -phunter2 mysql"),  # the client must come first on the line
        ("mysql x\n-phunter2", "mysql x\n-phunter2"),  # the client must be on the same line
        ("mysql x\\n -phunter2", "mysql x\\n -phunter2"),  # a JSON-escaped newline ends the line too
        ("mysql -p-hunter2", "mysql -p-hunter2"),
        ("İ mysql -uroot -phunter2 x", "İ mysql -uroot -p[redacted] x"),  # leaked before
        ("İ MySQL -uroot -phunter2 x", "İ MySQL -uroot -p[redacted] x"),
        ("mysql -pxoxb-1-a/b app", "mysql -p[redacted]/b app"),  # a token already hidden: once
        ("curl -u a:pw1 -u b:pw2 x", "curl -u a:[redacted] -u b:[redacted] x"),
    ],
)
def test_assignments_in_free_text_show_exactly_this(text: str, shown: str) -> None:
    assert redact_for_slack(text) == shown


# --- structures --------------------------------------------------------------------------------------


def test_everything_under_a_credential_key_goes_but_its_references_and_booleans_stay() -> None:
    assert redact({"password": [True, None, "x", "~", "None"]}) == {
        "password": [True, None, REDACTED, "~", "None"]
    }
    assert redact(
        {
            "password": {
                "db": "hunter2",
                "file": "/x",
                "enabled": True,
                "nested": {"path": "p", "v": "s"},
                "items": [{"path": "q"}],
            }
        }
    ) == {
        "password": {
            "db": REDACTED,
            "file": "/x",
            "enabled": True,
            "nested": {"path": "p", "v": REDACTED},
            "items": [{"path": "q"}],
        }
    }


def test_under_secrets_a_bare_value_is_material_and_a_mapping_is_read_as_usual() -> None:
    assert redact({"secrets": ["hunter2", {"description": "x"}, {"name": "n"}]}) == {
        "secrets": [REDACTED, {"description": "x"}, {"name": "n"}]
    }
    assert redact({"secret": {"db": "hunter2", "secretName": "db", "items": [{"key": "a"}]}}) == {
        "secret": {"db": REDACTED, "secretName": "db", "items": [{"key": "a"}]}
    }


def test_inside_a_secret_data_is_hidden_at_every_level() -> None:
    assert redact({"data": {"k": "v"}}, in_secret=True) == {"data": {"k": REDACTED}}
    assert redact({"kind": "Secret", "secrets": [{"data": "abc"}]}) == {
        "kind": "Secret",
        "secrets": [{"data": REDACTED}],
    }
    assert redact({"kind": "Secret", "list": [{"data": "abc"}]}) == {
        "kind": "Secret",
        "list": [{"data": REDACTED}],
    }
    assert redact({"kind": "Secret", "metadata": {"annotations": {"x": "data: abc\nfoo: bar"}}}) == {
        "kind": "Secret",
        "metadata": {"annotations": {"x": "data: '[redacted]'\nfoo: bar"}},
    }


def test_args_hide_only_the_value_after_a_credential_flag() -> None:
    assert redact({"args": ["--token", "abc", "value2", "--token", "--verbose", "x"]}) == {
        "args": ["--token", REDACTED, "value2", "--token", "--verbose", "x"]
    }


def test_a_document_in_a_string_is_redacted_and_dumped_as_it_came() -> None:
    assert redact({"b": '{"note":"xoxb-2-b"}'}) == {"b": '{"note": "[redacted]"}'}
    # Secret data (hidden by structure) next to a token (hidden by pattern): both counted as changes.
    secret = '{"kind":"Secret","data":{"k":"aGVsbG8="},"note":"xoxb-2-b"}'
    shown = '{"kind": "Secret", "data": {"k": "[redacted]"}, "note": "[redacted]"}'
    assert redact({"b": secret}) == {"b": shown}
    assert redact({"a": "xoxb-1-a", "b": secret}) == {"a": REDACTED, "b": shown}


@pytest.mark.parametrize(
    ("text", "shown"),
    [
        ("%YAML 1.1\n---\nkind: Secret\ndata:\n  p: aGVsbG8=\n", "kind: Secret\ndata:\n  p: '[redacted]'"),
        ('{"password": "abc"}\n', '{"password": "[redacted]"}'),  # one line in, one line out
        ('{\n  "password": "abc",\n  "a": 1\n}', '{\n  "password": "[redacted]",\n  "a": 1\n}'),
        ('{"password": "abc", "name": "café"}', '{"password": "[redacted]", "name": "café"}'),
        ("b: 1\na: café\npassword: abc\n", "b: 1\na: café\npassword: '[redacted]'"),  # key order kept
        ('[{"password": "abc"}]', '[{"password": "[redacted]"}]'),  # a JSON list stays JSON
        ('{"note":"xoxb-1-a"}', '{"note":"[redacted]"}'),  # only a pattern changed: the text as it came
        ("password: abc", "password: [redacted]"),  # one line is not a YAML document
    ],
)
def test_a_tool_result_document_is_shown_exactly_so(text: str, shown: str) -> None:
    assert redact_result_text(text) == shown


def test_a_broken_document_in_a_secret_is_hidden_from_four_characters() -> None:
    assert redact({"kind": "Secret", "note": "[a, "}) == {"kind": "Secret", "note": UNPARSABLE}
    assert redact({"kind": "Secret", "note": "[a,"}) == {"kind": "Secret", "note": "[a,"}


def test_one_line_of_text_that_is_not_a_document_is_redacted_as_text() -> None:
    assert redact({"note": "Xa: {password: abc, b: c}"}) == {"note": "Xa: {password: [redacted], b: c}"}


def test_an_unparsable_document_with_a_block_value_under_a_secret_key_is_hidden_whole() -> None:
    assert redact_result_text("note: x\npassword: |\n  s3cr3t\nbad: [unclosed\n") == UNPARSABLE


def test_parse_documents_strips_a_byte_order_mark_and_reads_json_as_json() -> None:
    assert parse_documents('\ufeff{"a": 1e3}') == [{"a": 1000.0}]  # YAML would read "1e3" as a string


def test_yaml_aliases_are_refused_with_the_reason() -> None:
    with pytest.raises(ValueError, match=r"^not a YAML/JSON document: YAML aliases are not accepted here$"):
        parse_documents("a: &x [1]\nb: *x\n")


# --- depth: the last level walked and the first hidden ------------------------------------------------


@pytest.mark.parametrize(
    ("inner", "shown", "last"),
    [
        ("plain", "plain", MAX_DEPTH),
        (["plain"], ["plain"], MAX_DEPTH - 1),
        ({"secrets": ["hunter2"]}, {"secrets": [REDACTED]}, MAX_DEPTH - 2),
        ({"secrets": [{"note": "x"}]}, {"secrets": [{"note": "x"}]}, MAX_DEPTH - 3),
        ({"secret": {"secretName": "x"}}, {"secret": {"secretName": "x"}}, MAX_DEPTH - 2),
        ({"secret": {"db": "hunter2"}}, {"secret": {"db": REDACTED}}, MAX_DEPTH - 2),
        ({"secret": {"db": {"note": "x"}}}, {"secret": {"db": {"note": "x"}}}, MAX_DEPTH - 3),
        ({"password": "hunter2"}, {"password": REDACTED}, MAX_DEPTH - 1),
        ({"password": {"db": "hunter2"}}, {"password": {"db": REDACTED}}, MAX_DEPTH - 2),
        ({"password": {"file": "x"}}, {"password": {"file": "x"}}, MAX_DEPTH - 1),
        ({"password": ["hunter2"]}, {"password": [REDACTED]}, MAX_DEPTH - 2),
        ({"n": 5, "f": 1.5}, {"n": 5, "f": 1.5}, MAX_DEPTH),  # numbers in a mapping are kept, not walked
    ],
)
def test_nesting_is_walked_to_max_depth_and_hidden_beyond(inner: Any, shown: Any, last: int) -> None:
    assert redact(nest(inner, last)) == nest(shown, last)
    deeper = json.dumps(redact(nest(inner, last + 1)))
    assert TOO_DEEP in deeper and "hunter2" not in deeper


def test_redact_result_text_walks_documents_to_max_depth() -> None:
    inner = {"password": "hunter2"}
    last = MAX_DEPTH - 2  # the result is level 1, its mapping level 2
    assert json.loads(redact_result_text(json.dumps(nest(inner, last)))) == nest({"password": REDACTED}, last)
    deeper = redact_result_text(json.dumps(nest(inner, last + 1)))
    assert TOO_DEEP in deeper and "hunter2" not in deeper
    in_string = {"s": json.dumps(nest(inner, last - 1))}  # a document in a string: one level more
    assert json.loads(redact(in_string)["s"]) == nest({"password": REDACTED}, last - 1)
    deeper = redact({"s": json.dumps(nest(inner, last))})["s"]
    assert TOO_DEEP in deeper and "hunter2" not in deeper


# --- values and mappings -----------------------------------------------------------------------------


@pytest.mark.parametrize("kept", [None, True, False])
def test_a_secrets_data_that_is_null_or_a_boolean_is_shown(kept: Any) -> None:
    assert redact({"kind": "Secret", "data": kept}) == {"kind": "Secret", "data": kept}


@pytest.mark.parametrize("data", ["abc", ["a", "b"], 5])
def test_a_secrets_data_that_is_not_a_mapping_is_hidden_whole(data: Any) -> None:
    assert redact({"kind": "Secret", "data": data}) == {"kind": "Secret", "data": REDACTED}


def test_in_secret_reaches_every_kind_of_value() -> None:
    assert redact([{"data": "x"}], in_secret=True) == [{"data": REDACTED}]
    assert redact("data: abc\nfoo: bar", in_secret=True) == "data: '[redacted]'\nfoo: bar"
    assert redact(b"plain", in_secret=True) == REDACTED
    assert redact({"kind": "Secret", "x": '{"data": "abc"}'}) == {
        "kind": "Secret",
        "x": '{"data": "[redacted]"}',
    }


@pytest.mark.parametrize(
    ("value", "shown"),
    [
        (b"plain bytes", b"plain bytes"),
        (b"\xff\xfe plain", b"\xff\xfe plain"),  # not UTF-8: read with replacement characters
        (b"xoxb-123-abc", REDACTED),
        (b"\xff xoxb-123-abc", REDACTED),
    ],
)
def test_bytes_are_hidden_when_they_hold_a_token(value: bytes, shown: Any) -> None:
    assert redact({"b": value}) == {"b": shown}


def test_a_value_without_a_name_and_a_name_that_is_no_credential_stay() -> None:
    assert redact({"value": "admin:pw"}) == {"value": "admin:pw"}
    assert redact({"name": "MODE", "value": "admin:pw"}) == {"name": "MODE", "value": "admin:pw"}
    assert redact({"name": "BASIC_AUTH", "value": "admin:pw"}) == {"name": "BASIC_AUTH", "value": REDACTED}
    assert redact({"name": "DB_PASSWORD", "value": "pw"}) == {"name": "DB_PASSWORD", "value": REDACTED}


def test_a_weak_key_hides_a_value_that_looks_like_a_credential() -> None:
    token = "R0123456789abcdef0123456789abcdef"
    assert redact({"basic_auth": "admin:pw", "routing_key": token, "NPM_AUTH": "false"}) == {
        "basic_auth": REDACTED,
        "routing_key": REDACTED,
        "NPM_AUTH": "false",
    }
    assert redact({"NPM_AUTH": "https://registry.npmjs.org"}) == {"NPM_AUTH": "https://registry.npmjs.org"}


def test_a_key_that_is_not_a_string_is_judged_by_its_text() -> None:
    assert redact({1: "x", 2.5: "y", None: "z"}) == {1: "x", 2.5: "y", None: "z"}
    assert redact({b"password": "hunter2"}) == {b"password": REDACTED}


def test_an_unchanged_document_in_a_string_is_kept_as_it_came() -> None:
    assert redact({"b": '{"a":1}'}) == {"b": '{"a":1}'}
    assert redact_result_text('{"a":1,\n"b": [2]}') == '{"a":1,\n"b": [2]}'


# --- documents in strings in documents: the embedding depth -----------------------------------------

LEAF = {"kind": "Secret", "data": {"p": "aGVsbG8="}}
SHOWN_LEAF = {"kind": "Secret", "data": {"p": REDACTED}}


def chain(levels: int, leaf: Any) -> Any:
    """`leaf` as the innermost of `levels` documents, each held in a string of the one around it."""
    for _ in range(levels - 1):
        leaf = {"inner": json.dumps(leaf)}
    return leaf


def unwrap(text: str) -> tuple[int, Any]:
    """How many documents deep the shown text goes, and what is at the bottom."""
    levels = 0
    while text != TOO_DEEP:
        document = json.loads(text)
        levels += 1
        if "inner" not in document:
            return levels, document
        text = document["inner"]
    return levels, TOO_DEEP


def test_four_documents_deep_are_read_and_the_fifth_is_hidden() -> None:
    assert unwrap(redact_result_text(json.dumps(chain(4, LEAF)))) == (4, SHOWN_LEAF)
    assert unwrap(redact_result_text(json.dumps(chain(5, LEAF)))) == (4, TOO_DEEP)
    plain = json.dumps(chain(5, {"note": "plain"}))
    assert redact_result_text(plain) == plain  # nothing in it names secret material: kept
    # In a Secret, what is too deep to read is hidden whatever it names.
    in_secret = json.dumps({"kind": "Secret", "inner": json.dumps(chain(4, {"note": "plain"}))})
    assert unwrap(redact_result_text(in_secret)) == (4, TOO_DEEP)


def test_the_embedding_depth_is_given_back_after_each_document() -> None:
    plain = json.dumps({"note": "plain"})
    beside = {"a": plain, "inner": json.dumps(chain(3, LEAF))}  # levels 2, then 2 to 4
    assert unwrap(redact_result_text(json.dumps(beside))) == (4, SHOWN_LEAF)
    beside = {"a": plain, "inner": json.dumps(chain(4, LEAF))}  # levels 2, then 2 to 5
    assert unwrap(redact_result_text(json.dumps(beside))) == (4, TOO_DEEP)
    # a sibling one level down: {"a": level 3} next to a chain from level 3 to 5
    level2 = {"a": json.dumps({"note": "plain"}), "inner": json.dumps(chain(3, LEAF))}
    assert unwrap(redact_result_text(json.dumps({"inner": json.dumps(level2)}))) == (4, TOO_DEEP)


# --- budgets: size and YAML --------------------------------------------------------------------------


def yaml_of_length(length: int, head: str = "password: abc\nnote: ") -> str:
    return head + "x" * (length - len(head))


def test_a_result_yaml_document_is_parsed_up_to_the_budget_and_hidden_beyond() -> None:
    shown = redact_result_text(yaml_of_length(RESULT_YAML_BUDGET))
    assert shown == "password: '[redacted]'\nnote: " + "x" * (RESULT_YAML_BUDGET - 20)
    assert redact_result_text(yaml_of_length(RESULT_YAML_BUDGET + 1)) == TOO_LARGE


LATER = "password: abc\nnote: x\n"  # costs the minimum, 512


@pytest.mark.parametrize("head", ["a: [unclosed\n#", "a: b\n#"])  # unparsable or parsed: charged the same
def test_every_yaml_document_read_spends_the_budget(head: str) -> None:
    fits = yaml_of_length(RESULT_YAML_BUDGET - 512, head)
    shown = json.loads(redact_result_text(json.dumps([fits, LATER])))
    assert shown == [fits, "password: '[redacted]'\nnote: x"]
    spent = yaml_of_length(RESULT_YAML_BUDGET - 511, head)
    assert json.loads(redact_result_text(json.dumps([spent, LATER]))) == [spent, TOO_LARGE]


def test_json_documents_do_not_spend_the_yaml_budget() -> None:
    big = json.dumps({"note": "z" * (RESULT_YAML_BUDGET + 100)})
    assert json.loads(redact_result_text(json.dumps([big, LATER]))) == [
        big,
        "password: '[redacted]'\nnote: x",
    ]


def test_a_document_in_a_string_is_read_up_to_max_document() -> None:
    head = '{"password": "abc", "note": "'
    fits = head + "x" * (MAX_DOCUMENT - len(head) - 2) + '"}'
    assert len(fits) == MAX_DOCUMENT
    assert json.loads(redact({"s": fits})["s"]) == {"password": REDACTED, "note": "x" * (MAX_DOCUMENT - 31)}
    too_large = fits[:-2] + 'x"}'
    assert redact({"s": too_large}) == {"s": TOO_LARGE}
    plain = '{"note": "' + "x" * MAX_DOCUMENT + '"}'
    assert redact({"s": plain}) == {"s": plain}  # too large to read, but naming nothing secret
    assert redact({"s": plain}, in_secret=True) == {"s": TOO_LARGE}


# --- token patterns, URLs and private keys -----------------------------------------------------------

PEM = "-----BEGIN RSA PRIVATE KEY-----\nMIIEpAIBAAKCAQEA1c7\n-----END RSA PRIVATE KEY-----"


@pytest.mark.parametrize(
    ("text", "shown"),
    [
        ("https://x/?sig=abc&x=1", "https://x/?sig=[redacted]&x=1"),
        ("https://x/?X-Amz-Signature=abc123 ok", "https://x/?X-Amz-Signature=[redacted] ok"),
        ("https://x/?a=1;signature=abc#frag", "https://x/?a=1;signature=[redacted]#frag"),
        (
            "https://b.s3.amazonaws.com/k?X-Amz-Security-Token=FQoGZXIvYXdz&X-Amz-Date=1 ok",
            "https://b.s3.amazonaws.com/k?X-Amz-Security-Token=[redacted]&X-Amz-Date=1 ok",
        ),
        ("x " + PEM + " y", "x [redacted] y"),
        ("x " + PEM + " y " + PEM + " z", "x [redacted] y [redacted] z"),
        ("x -----BEGIN PRIVATE KEY-----\nMIIE\nABCD\n\nrest", "x [redacted]\n\nrest"),  # END missing
        (PEM + " then -----BEGIN PRIVATE KEY-----\nMIIE\n\n-- next", "[redacted] then [redacted]\n\n-- next"),
        (
            '"key": "-----BEGIN PRIVATE KEY-----\\nMIIE\\nABCD\\n-----END PRIVATE KEY-----\\n"',
            '"key": "[redacted]\\n"',
        ),
        (  # the END in another JSON string: the key is hidden up to its base64's end, the rest stays
            '{"a": "-----BEGIN RSA PRIVATE KEY-----\\nMIIEpA\\n", "b": "-----END RSA PRIVATE KEY-----", "c": "kept"}',
            '{"a": "[redacted]\\n", "b": "-----END RSA PRIVATE KEY-----", "c": "kept"}',
        ),
        (
            "x -----BEGIN PGP PRIVATE KEY BLOCK-----\nlQ\n-----END PGP PRIVATE KEY BLOCK----- y",
            "x [redacted] y",
        ),
        ("the PRIVATE KEY is rotated", "the PRIVATE KEY is rotated"),
        (
            "-----END PRIVATE KEY----- x -----BEGIN PRIVATE KEY-----\nMIIE\n-----END PRIVATE KEY----- y",
            "-----END PRIVATE KEY----- x [redacted] y",
        ),
    ],
)
def test_patterns_show_exactly_this(text: str, shown: str) -> None:
    assert redact_text(text) == shown
    assert redact_for_slack(text) == shown


# --- documents too large to read: hidden when they name secret material ------------------------------

FILLER = "\n#" + "x" * MAX_DOCUMENT  # a YAML comment that makes the document too large to read


@pytest.mark.parametrize(
    "head",
    [
        "api_key: abc",  # the key is judged from its start, not from the credential word
        "passwd: abc",  # a credential word at the very start
        "existing_" + "x" * 60 + "_password: abc",  # no key start within 64 characters: the word itself
        "İ" * 80 + " x: DB_PASSWORD",  # letters that lowercase to two characters shift nothing
        "x: İ\nDB_PASSWORD: abc",
        "x: İİİİ\nkey: DB_PASSWORD",
    ],
)
def test_a_document_too_large_to_read_that_names_secret_material_is_hidden(head: str) -> None:
    assert redact({"s": head + FILLER}) == {"s": TOO_LARGE}


@pytest.mark.parametrize(
    "head",
    ["note: x\nautomountServiceAccountToken: false", "note: x\ntoken: TRUE", "note: x\nsecretName: db"],
)
def test_a_document_too_large_to_read_that_names_no_secret_material_is_kept(head: str) -> None:
    assert redact({"s": head + FILLER}) == {"s": head + FILLER}


def test_yaml_beyond_the_budget_in_a_secret_is_hidden_whatever_it_names() -> None:
    beyond = "a: b\n#" + "y" * (RESULT_YAML_BUDGET + 10)
    assert json.loads(redact_result_text(json.dumps({"kind": "Secret", "x": beyond}))) == {
        "kind": "Secret",
        "x": TOO_LARGE,
    }


def test_trailing_blank_lines_of_a_yaml_document_cost_nothing() -> None:
    fits = yaml_of_length(RESULT_YAML_BUDGET) + "\n\n"
    assert redact_result_text(fits) == "password: '[redacted]'\nnote: " + "x" * (RESULT_YAML_BUDGET - 20)


def test_a_weak_keys_value_is_judged_by_its_first_513_characters() -> None:
    within = "a" * 512 + ":b"  # the colon is the 513th character: a user:password
    beyond = "a" * 513 + ":b"  # too long for a credential, and its colon is never read
    assert redact({"BASIC_AUTH": within}) == {"BASIC_AUTH": REDACTED}
    assert redact({"BASIC_AUTH": beyond}) == {"BASIC_AUTH": beyond}


def test_under_secret_in_a_secret_data_is_still_hidden() -> None:
    assert redact({"kind": "Secret", "secret": {"x": {"data": "abc"}}}) == {
        "kind": "Secret",
        "secret": {"x": {"data": REDACTED}},
    }


def test_strings_in_a_tool_result_are_shown_down_to_the_deepest_mapping_walked() -> None:
    deepest = json.dumps(nest("plain", MAX_DEPTH))  # the innermost mapping is at MAX_DEPTH
    assert redact_result_text(deepest) == deepest
    assert TOO_DEEP in redact_result_text(json.dumps(nest("plain", MAX_DEPTH + 1)))
