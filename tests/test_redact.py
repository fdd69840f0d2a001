"""Secret values never reach the model, Slack or the audit log; what an approver needs stays visible."""

from __future__ import annotations

import base64
import json
import re
import string
from typing import Any

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from agents.compose import FrontEnd, build_core
from agents.mcp.servers import McpServers
from agents.redact import (
    REDACTED,
    TOO_DEEP,
    UNPARSABLE,
    parse_documents,
    redact,
    redact_for_slack,
    redact_result_text,
    redact_text,
    remember_secrets,
    secret_key,
)
from agents.settings import Settings

PASSWORD = "Hunter2-prod-db-pw"
PEM = "-----BEGIN RSA PRIVATE KEY-----\nMIIEpAIBAAKCAQEA1c7+9z5Pad7OejecsQ0bu3aozN3tihPmljnnudb9G3HcOiZ4\n-----END RSA PRIVATE KEY-----"
JWT = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U"


# --- key words: credential words as words of the key -------------------------------------------------


@pytest.mark.parametrize(
    "key",
    [
        "password", "db_password", "dbPassword", "DB_PASSWORD", "api-key", "apiKey", "X-API-KEY",
        "client-key-data", "token", "authToken", "AUTH_TOKEN", "secret", "client_secret", "privateKey",
        "ssh-privatekey", "credentials", "AWS_SECRET_ACCESS_KEY", "DB_PASS", "passwd", "tls.key",
        "authorization", "connectionString", "access-token", "refresh-token", "auth",
    ],
)  # fmt: skip
def test_a_value_under_a_credential_key_is_hidden(key: str) -> None:
    assert secret_key(key)
    assert redact({key: "v4lue-9"}) == {key: REDACTED}
    assert "v4lue-9" not in redact_for_slack(f"{key}=v4lue-9 next")


@pytest.mark.parametrize(
    "key",
    [
        "BYPASS_AUTH", "bypassAuth", "compass", "secretName", "secretKeyRef", "secretRef",
        "tokenExpirationSeconds", "expirationSeconds", "client-certificate-data", "certificate-authority-data",
        "serviceAccountName", "AWS_ACCESS_KEY_ID", "key", "passwordFile", "tokenSecretRef", "existingSecret",
        "PWD", "author", "monkey",
    ],
)  # fmt: skip
def test_a_value_under_a_key_that_only_mentions_or_points_at_a_secret_stays_visible(key: str) -> None:
    assert not secret_key(key)
    assert redact({key: "v4lue-9"}) == {key: "v4lue-9"}
    assert redact_for_slack(f"{key}=v4lue-9 next") == f"{key}=v4lue-9 next"


def test_booleans_stay_visible_under_credential_keys() -> None:
    shown = redact({"automountServiceAccountToken": False, "password": True, "token": "true", "secret": None})
    assert shown == {"automountServiceAccountToken": False, "password": True, "token": "true", "secret": None}


def test_a_key_named_secret_holds_material_but_a_volume_secret_is_a_reference() -> None:
    assert redact({"secret": "hunter2"}) == {"secret": REDACTED}
    volume = {
        "volumes": [
            {"name": "certs", "secret": {"secretName": "tls-web", "items": [{"key": "tls.crt", "path": "c"}]}}
        ]
    }
    assert redact(volume) == volume
    account = {
        "kind": "ServiceAccount",
        "secrets": [{"name": "builder-token-x"}],
        "imagePullSecrets": [{"name": "regcred"}],
    }
    assert redact(account) == account


# --- structures: Secrets, env, args, kubeconfig, last-applied ----------------------------------------


def test_secret_data_and_string_data_values_go_but_keys_names_and_type_stay() -> None:
    secret = {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": "db", "namespace": "prod"},
        "type": "kubernetes.io/basic-auth",
        "data": {"username": "YXBw", "password": base64.b64encode(PASSWORD.encode()).decode()},
        "stringData": {"host": "db.internal"},
    }
    shown = redact(secret)
    assert shown["data"] == {"username": REDACTED, "password": REDACTED}
    assert shown["stringData"] == {"host": REDACTED}  # all of a Secret's data is secret
    assert shown["metadata"] == secret["metadata"] and shown["type"] == secret["type"]


def test_last_applied_of_a_secret_is_parsed_and_redacted_not_dropped() -> None:
    applied = {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": "db"},
        "stringData": {"password": PASSWORD},
    }
    annotation = "kubectl.kubernetes.io/last-applied-configuration"
    shown = redact(
        {
            "kind": "Secret",
            "metadata": {"name": "db", "annotations": {annotation: json.dumps(applied) + "\n"}},
        }
    )
    embedded = json.loads(shown["metadata"]["annotations"][annotation])
    assert embedded["stringData"] == {"password": REDACTED}
    assert embedded["metadata"] == {"name": "db"}


def test_last_applied_of_a_configmap_keeps_what_is_not_secret() -> None:
    applied = {
        "kind": "ConfigMap",
        "metadata": {"name": "app"},
        "data": {"DB_PASSWORD": PASSWORD, "MODE": "prod"},
    }
    annotations = {"kubectl.kubernetes.io/last-applied-configuration": json.dumps(applied)}
    shown = redact({"kind": "ConfigMap", "metadata": {"annotations": annotations}})
    embedded = json.loads(
        shown["metadata"]["annotations"]["kubectl.kubernetes.io/last-applied-configuration"]
    )
    assert embedded["data"] == {"DB_PASSWORD": REDACTED, "MODE": "prod"}


def test_an_unreadable_last_applied_of_a_secret_is_hidden_whole() -> None:
    annotations = {
        "kubectl.kubernetes.io/last-applied-configuration": '{"kind":"Secret","stringData":{"p":"' + PASSWORD
    }
    shown = redact({"kind": "Secret", "metadata": {"annotations": annotations}})
    assert shown["metadata"]["annotations"]["kubectl.kubernetes.io/last-applied-configuration"] == UNPARSABLE


def test_container_env_and_args_hide_credentials_and_keep_the_rest() -> None:
    container = {
        "name": "api",
        "image": "api:1",
        "command": ["sh", "-c", f"psql --password={PASSWORD} -h db"],
        "args": ["--token", "tok-123456", f"--db-password={PASSWORD}", "--verbose", "--token-file", "/var/t"],
        "env": [
            {"name": "DB_PASSWORD", "value": PASSWORD},
            {"name": "BYPASS_AUTH", "value": "false-by-default"},
            {"name": "API_KEY", "valueFrom": {"secretKeyRef": {"name": "api", "key": "api-key"}}},
        ],
    }
    shown = redact(container)
    assert PASSWORD not in json.dumps(shown) and "tok-123456" not in json.dumps(shown)
    assert shown["args"] == [
        "--token",
        REDACTED,
        f"--db-password={REDACTED}",
        "--verbose",
        "--token-file",
        "/var/t",
    ]
    assert shown["env"][1] == {"name": "BYPASS_AUTH", "value": "false-by-default"}
    assert shown["env"][2] == container["env"][2]  # the reference: which Secret and key


def test_kubeconfig_credentials_go_and_the_public_parts_stay() -> None:
    kubeconfig = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [
            {"name": "prod", "cluster": {"server": "https://k8s:6443", "certificate-authority-data": "Q0E="}}
        ],
        "users": [
            {"name": "admin", "user": {"client-certificate-data": "Q0VSVA==", "client-key-data": "S0VZ"}},
            {"name": "sa", "user": {"token": "sa-token-abc"}},
            {"name": "basic", "user": {"username": "bob", "password": PASSWORD}},
            {
                "name": "eks",
                "user": {
                    "exec": {
                        "command": "aws",
                        "args": ["eks", "get-token", "--cluster-name", "prod"],
                        "env": [
                            {"name": "AWS_PROFILE", "value": "prod"},
                            {"name": "AWS_SESSION_TOKEN", "value": "FQoG"},
                        ],
                    }
                },
            },
            {
                "name": "oidc",
                "user": {"auth-provider": {"name": "oidc", "config": {"id-token": JWT, "client-id": "k8s"}}},
            },
        ],
    }
    for shown in (redact(kubeconfig), yaml.safe_load(redact({"k": yaml.safe_dump(kubeconfig)})["k"])):
        text = json.dumps(shown)
        for value in ("S0VZ", "sa-token-abc", PASSWORD, "FQoG", JWT):
            assert value not in text
        for value in (
            "https://k8s:6443",
            "Q0E=",
            "Q0VSVA==",
            "bob",
            "get-token",
            "AWS_PROFILE",
            '"prod"',
            "k8s",
        ):
            assert value in text


def test_nesting_deeper_than_the_walk_is_hidden_not_walked() -> None:
    value: Any = {"password": PASSWORD}
    for _ in range(150):
        value = {"child": value}
    assert PASSWORD not in json.dumps(redact(value)) and TOO_DEEP in json.dumps(redact(value))
    deep = "[" * 5000 + "]" * 5000  # beyond the JSON parser's recursion: not a document, no crash
    assert redact_result_text(deep) == deep


def test_documents_in_strings_in_documents_are_redacted_at_every_level() -> None:
    inner: Any = {"kind": "Secret", "stringData": {"p": PASSWORD}}
    for _ in range(6):
        inner = {"metadata": {"annotations": {"last-applied": json.dumps(inner)}}}
    assert PASSWORD not in redact_result_text(json.dumps(inner))
    assert PASSWORD not in json.dumps(redact(inner))


def test_yaml_beyond_the_budget_still_leaks_nothing() -> None:
    manifest = f"apiVersion: v1\nkind: Secret\nmetadata:\n  name: db\nstringData:\n  password: {PASSWORD}\n"
    env = f"containers:\n- name: app\n  env:\n  - name: DB_PASSWORD\n    value: {PASSWORD}\n"
    result = {
        "kind": "ConfigMapList",
        "items": [{"data": {f"m{i}.yaml": manifest, f"e{i}.yaml": env}} for i in range(200)],
    }
    assert PASSWORD not in redact_result_text(json.dumps(result))


# --- document detection ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "--- {kind: Secret, stringData: {p: Hunter2-prod-db-pw}}",
        "{kind: Secret, stringData: {p: Hunter2-prod-db-pw}}",
        "--- !!map {kind: Secret, stringData: {p: Hunter2-prod-db-pw}}",
        "!!map {kind: Secret, stringData: !!map {p: !!str Hunter2-prod-db-pw}}",
        "\ufeff" + json.dumps({"kind": "Secret", "data": {"p": PASSWORD}}),
        "\ufeff  kind: Secret\nstringData:\n  p: Hunter2-prod-db-pw\n",
        "# a comment\napiVersion: v1\nkind: Secret\nstringData:\n  p: Hunter2-prod-db-pw\n",
        "kind: ConfigMap\ndata: {a: b}\n---\nkind: Secret\nstringData:\n  p: Hunter2-prod-db-pw\n",
        "kind: Secret\ndata:\n  p: !!binary SHVudGVyMi1wcm9kLWRiLXB3\n",
        "env:\n- name: DB_PASSWORD\n  value: Hunter2-prod-db-pw\n",
    ],
)
def test_documents_are_found_in_every_form_and_redacted_as_structures(text: str) -> None:
    for shown in (redact({"body": text})["body"], redact_result_text(text)):
        assert PASSWORD not in shown and "SHVudGVyMi1wcm9kLWRiLXB3" not in shown
        assert REDACTED in shown
        docs = parse_documents(shown)  # still a document, with the keys an approver reads
        assert docs and ("p" in json.dumps(docs, default=str) or "DB_PASSWORD" in json.dumps(docs))


def test_an_unparsable_document_that_may_hold_secrets_is_hidden() -> None:
    broken = f"kind: Secret\ndata:\n  p: {PASSWORD}\n  q: [unclosed\n"
    assert redact({"body": broken}) == {"body": UNPARSABLE}
    assert redact_result_text(broken) == UNPARSABLE
    prose = "Note: the token expired\nretrying: in 5s: now"  # not a document that may hold secrets: kept
    assert redact_result_text(prose) == prose


def test_parse_documents_keeps_refusing_aliases_and_unknown_tags() -> None:
    with pytest.raises(ValueError):
        parse_documents("a: &x [1]\nb: *x\n")
    with pytest.raises(ValueError):
        parse_documents("a: !Ref other\n")
    assert parse_documents('\ufeff{"a": 1}') == [{"a": 1}]
    assert parse_documents("a: 1\n---\nb: 2\n") == [{"a": 1}, {"b": 2}]


# --- token patterns and free text --------------------------------------------------------------------


@pytest.mark.parametrize(
    "secret",
    [
        "xoxb-1234567890-0987654321-AbCdEfGhIjKl",
        "xoxp-1234-5678-abcdef",
        "xapp-1-A0123456789-1234567890-abcdef0123",
        "AKIAABCDEFGHIJKLMNOP",
        "ASIAABCDEFGHIJKLMNOP",
        "Bearer abcdefghijklmnop0123456789",
        JWT,
        PEM,
        "ghp_" + "a1B2" * 9,
    ],
)
def test_token_patterns_are_redacted_everywhere(secret: str) -> None:
    line = f"connecting with {secret} now"
    for shown in (
        redact_text(line),
        redact_for_slack(line),
        redact_result_text(line),
        redact({"note": line})["note"],
    ):
        assert secret not in shown and "connecting with" in shown and "now" in shown
    in_json = json.dumps({"log_lines": [line, "next"]})
    shaped = redact_result_text(in_json)
    assert secret not in shaped and json.loads(shaped)["log_lines"][1] == "next"


def test_a_private_key_cut_short_is_hidden_up_to_where_its_base64_ends() -> None:
    cut = PEM.split("-----END")[0] + "\n\n2026-12-02 INFO next line"
    shown = redact_text(cut)
    assert "MIIEpAIBAAKCAQEA" not in shown and shown.endswith("2026-12-02 INFO next line")
    many = "-----BEGIN PRIVATE KEY-----\nMIIE\n" * 2000  # many BEGINs, no END: every key hidden
    assert "MIIE" not in redact_text(many)
    as_json = json.dumps({"a": PEM.split("-----END")[0], "b": "-----END RSA PRIVATE KEY-----", "c": "kept"})
    assert json.loads(redact_text(as_json))["c"] == "kept"  # a key never spans two JSON strings


def test_a_url_password_is_hidden_and_the_host_kept() -> None:
    assert (
        redact_text("DATABASE_URL=postgres://app:s3cr3t@db:5432/app")
        == "DATABASE_URL=postgres://[redacted]@db:5432/app"
    )
    assert redact_text("see https://example.com:8443/path") == "see https://example.com:8443/path"


@pytest.mark.parametrize(
    ("text", "hidden"),
    [
        (f"DB_PASSWORD={PASSWORD} host=db", PASSWORD),
        (f"password: {PASSWORD} and more words", "and more words"),
        (f"  - password: '{PASSWORD}'", PASSWORD),
        (f"mysql --password {PASSWORD} -h db", PASSWORD),
        (f'log {{"apiKey": "{PASSWORD} x"}} done', PASSWORD),
        (f"export AWS_SECRET_ACCESS_KEY = {PASSWORD}", PASSWORD),
        ("Authorization: Basic dXNlcjpwYXNzd29yZA==", "dXNlcjpwYXNzd29yZA=="),
        (f'msg="auth" token=\\"{PASSWORD}\\"', PASSWORD),
    ],
)
def test_assignments_in_free_text_are_redacted(text: str, hidden: str) -> None:
    assert hidden not in redact_for_slack(text)


@pytest.mark.parametrize(
    "text",
    [
        "password reset requested for bob",
        "BYPASS_AUTH=true compass=north",
        "tokenExpirationSeconds=3600 secretName=db",
        "unexpected token at line 3, column 7",
        "password: true",
        "--token --verbose",
    ],
)
def test_free_text_that_holds_no_secret_is_kept(text: str) -> None:
    assert redact_for_slack(text) == text


# --- property: a secret value under a secret key never comes out ------------------------------------

SECRET_KEYS = ["password", "db_password", "dbPassword", "api-key", "apiKey", "client-key-data", "token",
               "authToken", "privateKey", "credentials", "AWS_SECRET_ACCESS_KEY", "secret", "passwd"]  # fmt: skip
PLAIN_KEYS = ["name", "metadata", "spec", "items", "labels", "note", "image", "containers", "config"]
secret_values = st.text(
    alphabet=string.ascii_letters + string.digits + "+/=!@#%^*", min_size=6, max_size=30
).map(lambda s: "Qz9" + s)
plain = st.one_of(st.text(alphabet="abcdefgh", max_size=8), st.integers(), st.booleans(), st.none())


def secret_slots(value: str) -> st.SearchStrategy[Any]:
    return st.one_of(
        st.sampled_from(SECRET_KEYS).map(lambda k: {k: value}),
        st.sampled_from(SECRET_KEYS).map(lambda k: {k: [value]}),
        st.sampled_from(["DB_PASSWORD", "API_TOKEN", "client-secret"]).map(
            lambda n: {"name": n, "value": value}
        ),
        st.just({"kind": "Secret", "data": {"k": value}}),
        st.just({"kind": "Secret", "stringData": {"k": value}}),
        st.just(["--token", value]),
        st.just([f"--password={value}"]),
    )


leaves = st.one_of(secret_values.flatmap(secret_slots), plain)
trees = st.recursive(
    leaves,
    lambda children: st.one_of(
        st.lists(children, max_size=3),
        st.dictionaries(st.sampled_from(PLAIN_KEYS), children, max_size=3),
        st.builds(lambda c: {"last-applied": json.dumps(c)}, children),  # a document held in a string
        st.builds(lambda c: {"file.yaml": yaml.safe_dump(c)}, children),
    ),
    max_leaves=12,
)


def secrets_in(value: Any) -> list[str]:
    return re.findall(r"Qz9[A-Za-z0-9+/=!@#%^*]*", json.dumps(value))


@settings(max_examples=400, deadline=None)
@given(trees)
def test_a_secret_value_under_a_secret_key_never_comes_out(tree: Any) -> None:
    outputs = [
        json.dumps(redact(tree)),
        redact_result_text(json.dumps(tree)),
        redact_result_text(yaml.safe_dump(tree)),
    ]
    for secret in secrets_in(tree):
        for out in outputs:
            assert secret not in out


@settings(max_examples=200, deadline=None)
@given(
    st.sampled_from(SECRET_KEYS),
    st.sampled_from(["=", ": ", " = ", '": "', "='"]),
    secret_values,
    st.text(max_size=20),
)
def test_a_secret_assigned_in_free_text_never_comes_out(key: str, sep: str, value: str, around: str) -> None:
    value = value.replace("'", "").replace('"', "")
    text = f"{around} {key}{sep}{value} {around}"
    assert value not in redact_for_slack(text)


# --- gaps found in review: connection strings, webhooks, vendor tokens, *_AUTH, flags ----------------


@pytest.mark.parametrize(
    ("text", "hidden"),
    [
        ("Server=db;UID=sa;PWD=Sup3rS3cret!;Database=app", "Sup3rS3cret!"),
        ("PWD=Sup3rS3cret!;UID=sa", "Sup3rS3cret!"),
        ("Server=db;User Id=sa;Password=Sup3rS3cret!;", "Sup3rS3cret!"),
        ("posting to https://hooks.slack.com/services/T0123ABCD/B0456EFGH/abcdefghijklmnopqrstuvwx", "abcdefghijklmnopqrstuvwx"),
        ("routing_key=R0123456789abcdef0123456789abcdef", "R0123456789abcdef0123456789abcdef"),
        ('{"integration_key": "R0123456789abcdef0123456789abcdef"}', "R0123456789abcdef0123456789abcdef"),
        ("BASIC_AUTH=admin:hunter2", "hunter2"),
        ("NPM_AUTH=bnBtOnNlY3JldHRva2VuMTIz", "bnBtOnNlY3JldHRva2VuMTIz"),
        ("GET https://acct.blob.core.windows.net/c/b?sv=2020-08-04&se=2026&sig=AbCdEf0123456789%2Bxyz%3D 200", "AbCdEf0123456789"),
        ("maps key AIzaSyA1234567890abcdefghijklmnopqrstuv", "AIzaSyA1234567890abcdefghijklmnopqrstuv"),
        ("stripe sk_live_51Habcdefghijklmnopqrstuvwxyz", "sk_live_51Habcdefghijklmnopqrstuvwxyz"),
        ("stripe rk_live_51Habcdefghijklmnopqrstuvwxyz", "rk_live_51Habcdefghijklmnopqrstuvwxyz"),
        ("openai sk-proj-abcdefghijklmnopqrstuvwxyz0123456789ABCD", "abcdefghijklmnopqrstuvwxyz0123456789ABCD"),
        ("openai sk-abcdefghijklmnopqrstuvwxyz0123456789ABCDEF", "abcdefghijklmnopqrstuvwxyz0123456789ABCDEF"),
        ("gitlab glpat-abcdefghij0123456789", "glpat-abcdefghij0123456789"),
        ("export GITLAB=glpat-abcdefghij0123456789", "glpat-abcdefghij0123456789"),
        ("grafana cloud glc_eyJvIjoiMTIzNDU2IiwibiI6InByb20tcmVhZCJ9ZmFrZQ==", "glc_eyJvIjoiMTIzNDU2IiwibiI6InByb20tcmVhZCJ9ZmFrZQ"),
        ("grafana glsa_AbCdEfGhIjKlMnOpQrStUvWxYz012345_0a1b2c3d", "glsa_AbCdEfGhIjKlMnOpQrStUvWxYz012345"),
        ("curl -u admin:Hunter2pw https://x", "Hunter2pw"),
        ("curl --user=admin:Hunter2pw https://x", "Hunter2pw"),
        ("mysql -uroot -pHunter2pw -h db app", "Hunter2pw"),
        ("aws_secret_access_key wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", "wJalrXUtnFEMI"),
        ("aws_secret_access_key=wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", "wJalrXUtnFEMI"),
    ],
)  # fmt: skip
def test_review_gaps_in_free_text_are_redacted(text: str, hidden: str) -> None:
    line = f"2026-12-02T10:00:00Z INFO {text} done"  # a pod log line
    for shown in (redact_for_slack(line), redact_result_text(line), redact({"log": line})["log"]):
        assert hidden not in shown and shown.endswith(" done"), shown
    assert hidden not in redact_result_text(json.dumps({"log_lines": [line, "next"]}))


@pytest.mark.parametrize(
    ("name", "value", "hidden"),
    [
        ("BASIC_AUTH", "admin:hunter2", "hunter2"),
        ("NPM_AUTH", "bnBtOnNlY3JldHRva2VuMTIz", "bnBtOnNlY3JldHRva2VuMTIz"),
        ("SLACK_WEBHOOK_URL", "https://hooks.slack.com/services/T0123ABCD/B0456EFGH/abcdefghijklmnopqrstuvwx", "abcdefghijklmnopqrstuvwx"),
        ("ConnectionStrings__Default", "Server=db;UID=sa;PWD=Sup3rS3cret!;", "Sup3rS3cret!"),
        ("PAGERDUTY_ROUTING_KEY", "R0123456789abcdef0123456789abcdef", "R0123456789abcdef0123456789abcdef"),
        ("STRIPE_SK", "abc123notprefixed", "abc123notprefixed"),
        ("BLOB_URL", "https://acct.blob.core.windows.net/c/b?sv=2020&sig=AbCdEf0123456789%2Bxyz%3D", "AbCdEf0123456789"),
    ],
)  # fmt: skip
def test_review_gaps_in_env_entries_are_redacted(name: str, value: str, hidden: str) -> None:
    pod = {"spec": {"containers": [{"name": "app", "env": [{"name": name, "value": value}]}]}}
    flat = {"env": {name: value}}
    for shown in (
        json.dumps(redact(pod)),
        redact_result_text(json.dumps(pod)),
        redact_result_text(yaml.safe_dump(pod)),
        json.dumps(redact(flat)),
        redact_result_text(json.dumps(flat)),
    ):
        assert hidden not in shown and name in shown, shown


@pytest.mark.parametrize(
    "text",
    [
        "BYPASS_AUTH=v4lue-9 next",
        "BYPASS_AUTH=true",
        "PWD=/home/app ls",
        "docker run -u 1000:1000 img",
        "routing_key=orders.created",
        "pod sk-web-7f9c-abcdefghijklmnop is Running",
        "ssh -p 2222 host; mkdir -p /tmp/x",
        "the secret store is unreachable",
    ],
)
def test_what_the_review_fixes_keeps_what_an_approver_needs(text: str) -> None:
    assert redact_for_slack(text) == text
    assert redact({"BYPASS_AUTH": "true", "secretName": "db", "NPM_AUTH": "false"}) == {
        "BYPASS_AUTH": "true",
        "secretName": "db",
        "NPM_AUTH": "false",
    }


YAML_FILLER = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: app\ndata:\n  note: " + "x" * 200 + "\n"


@pytest.mark.parametrize(
    "later",
    [
        f"env:\n- value: {PASSWORD}\n  name: DB_PASSWORD\n",
        f"kind: ServiceAccount\nsecrets: [{PASSWORD}]\n",
        f"spec:\n  containers:\n  - args: [--db-password, {PASSWORD}]\n    name: app\n",
    ],
)
def test_yaml_after_the_budget_is_spent_is_hidden_when_it_names_secret_material(later: str) -> None:
    items = [{"data": {f"f{i}.yaml": YAML_FILLER}} for i in range(60)]  # ~16 KB of YAML first
    result = {"kind": "ConfigMapList", "items": [*items, {"data": {"later.yaml": later}}]}
    assert PASSWORD not in redact_result_text(json.dumps(result))
    pod = "spec:\n  automountServiceAccountToken: false\n  containers:\n  - name: app\n    image: web:1\n"
    kept = {"kind": "ConfigMapList", "items": [*items, {"data": {"pod.yaml": pod}}]}
    assert "web:1" in redact_result_text(json.dumps(kept))  # nothing secret named: kept


# An odd-shaped credential no pattern knows: words and punctuation, as a Prometheus password may be.
ODD_SECRET = "plain words, then 7! and #"


def test_a_remembered_secret_is_redacted_wherever_it_comes_back() -> None:
    assert ODD_SECRET in redact_for_slack(f"auth {ODD_SECRET}")  # no pattern knows its shape
    remember_secrets([ODD_SECRET, "short", None])
    assert redact_for_slack(f"log line: auth {ODD_SECRET}!") == f"log line: auth {REDACTED}!"
    assert ODD_SECRET not in json.dumps(redact({"note": f"x{ODD_SECRET}y", "list": [ODD_SECRET]}))
    assert ODD_SECRET not in redact_result_text(json.dumps({"labels": {"header": ODD_SECRET}}))
    assert redact_for_slack("a short word stays") == "a short word stays"  # < MIN_KNOWN_SECRET: not matched


def test_the_longer_of_two_overlapping_secrets_goes_whole() -> None:
    remember_secrets(["abcdefgh12"])
    remember_secrets(["abcdefgh12-and-more"])  # remembered later, contains the first
    assert redact_for_slack("x abcdefgh12-and-more y") == f"x {REDACTED} y"


def test_build_core_remembers_the_configured_credentials() -> None:
    configured = Settings(
        _env_file=None,
        prometheus_url="http://prometheus:9090",
        prometheus_token=ODD_SECRET,
        anthropic_api_key="k-ant-odd-shape",
    )
    build_core(configured, FrontEnd(approvals=False), servers=McpServers([]))
    assert redact_for_slack(f"{ODD_SECRET} k-ant-odd-shape") == f"{REDACTED} {REDACTED}"


def test_a_remembered_secret_is_found_escaped_inside_json_too() -> None:
    secret = 'pa"ss\\w0rd!xyzé'
    remember_secrets([secret])
    result = json.dumps({"labels": {"header": secret}})  # as a tool result carries it: escaped
    assert "w0rd" not in redact_result_text(result)
    assert "w0rd" not in redact_result_text(json.dumps({"labels": {"header": secret}}, ensure_ascii=False))
