"""STATE_BACKEND=aws against moto: `sre-bot state init`, the one-line refusals of doctor and start-up
(missing, another region, no permission), expiry that does not wait for TTL, conversation memory in S3
shared by replicas, and one client per process that honours the endpoint variables.
"""

from __future__ import annotations

import uuid
from pathlib import Path

import boto3
import pytest
from botocore.stub import Stubber
from strands.types.session import SessionAgent, SessionMessage

from agents.settings import ConfigError, Settings, load_settings
from agents.state.aws.alerts import DynamoAlertInbox
from agents.state.aws.claims import DynamoDedupe, DynamoLeases
from agents.state.aws.sessions import S3SessionStore
from agents.state.aws.setup import bucket_problems, table_problems
from agents.state.aws.table import Table, client, key
from agents.state.factory import build_stores
from frontends.cli import main
from frontends.doctor import state_checks
from tests.state_backends import Clock, aws_environment, new_shared_state


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch, state_moto_url: str) -> str:
    aws_environment(monkeypatch, state_moto_url)
    return state_moto_url


def shared(monkeypatch: pytest.MonkeyPatch, table: str, bucket: str, region: str = "us-east-1") -> Settings:
    for name, value in {
        "STATE_BACKEND": "aws",
        "STATE_TABLE": table,
        "SESSION_BUCKET": bucket,
        "AWS_REGION": region,
        "AWS_DEFAULT_REGION": region,
    }.items():
        monkeypatch.setenv(name, value)
    return Settings()


def unique() -> str:
    return f"sre-bot-{uuid.uuid4().hex[:12]}"


# --- sre-bot state init ----------------------------------------------------------------------------------


def test_state_init_creates_the_table_with_ttl_and_the_bucket_then_finds_them(
    aws: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    name = unique()
    shared(monkeypatch, name, name, region="eu-west-1")
    assert main(["state", "init"]) == 0
    out = capsys.readouterr().out
    assert f"created DynamoDB table {name} in eu-west-1" in out
    assert "turned its TTL on (purge_at)" in out
    assert f"created S3 bucket {name} in eu-west-1" in out
    dynamodb, s3 = client("dynamodb"), client("s3")
    ttl = dynamodb.describe_time_to_live(TableName=name)["TimeToLiveDescription"]
    assert (ttl["TimeToLiveStatus"], ttl["AttributeName"]) == ("ENABLED", "purge_at")
    indexes = {
        i["IndexName"] for i in dynamodb.describe_table(TableName=name)["Table"]["GlobalSecondaryIndexes"]
    }
    assert indexes == {"gsi1", "gsi2"}
    assert s3.get_bucket_location(Bucket=name)["LocationConstraint"] == "eu-west-1"

    assert main(["state", "init"]) == 0  # again: nothing made twice, and it says so
    again = capsys.readouterr().out
    assert "created" not in again
    assert f"DynamoDB table {name} already existed" in again
    assert "its TTL was on already (purge_at)" in again
    assert f"S3 bucket {name} already existed" in again


def test_state_init_says_which_setting_is_missing_in_one_line(
    aws: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("STATE_BACKEND", "aws")
    monkeypatch.setenv("SESSION_BUCKET", "some-bucket")
    assert main(["state", "init"]) == 2
    err = capsys.readouterr().err
    assert err.strip() == (
        "sre-bot: configuration error: STATE_TABLE: required when STATE_BACKEND=aws: "
        "the DynamoDB table of the shared state"
    )


def test_state_init_with_the_local_backend_makes_nothing(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["state", "init"]) == 0
    assert "STATE_BACKEND=local: nothing to create" in capsys.readouterr().out


# --- doctor and start-up ---------------------------------------------------------------------------------


def test_doctor_names_a_missing_table_and_bucket_and_how_to_make_them(
    aws: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    name = unique()
    settings = shared(monkeypatch, name, name)
    checks = state_checks(settings)
    assert [(c.name, c.status) for c in checks] == [("state", "FAIL"), ("state", "FAIL")]
    assert (
        checks[0].detail
        == f"STATE_TABLE: no DynamoDB table '{name}' in us-east-1; create it with `sre-bot state init`"
    )
    assert checks[1].detail == f"SESSION_BUCKET: no S3 bucket '{name}'; create it with `sre-bot state init`"
    assert all(c.fix == "Run `sre-bot state init`." for c in checks)
    assert main(["state", "init"]) == 0
    after = state_checks(settings)
    assert [(c.name, c.status) for c in after] == [("state", "OK")]
    assert name in after[0].detail


def test_the_bot_does_not_start_on_a_missing_table(
    aws: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    _table, bucket = new_shared_state()
    settings = shared(monkeypatch, unique(), bucket)
    with pytest.raises(ConfigError) as refused:
        build_stores(settings)
    assert refused.value.variable == "STATE_TABLE" and "sre-bot state init" in str(refused.value)
    for name, value in {
        "MODEL_PROVIDER": "openai",
        "OPENAI_BASE_URL": "http://127.0.0.1:9/v1",
        "MCP_SERVERS": "billing",
    }.items():
        monkeypatch.setenv(name, value)
    assert main(["ask", "what changed?"]) == 2  # the terminal builds the same stores first
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err
    assert "STATE_TABLE: no DynamoDB table" in err


def test_a_table_or_bucket_in_another_region_is_named(aws: str, monkeypatch: pytest.MonkeyPatch) -> None:
    name = unique()
    shared(monkeypatch, name, name, region="eu-west-1")
    assert main(["state", "init"]) == 0
    settings = shared(monkeypatch, name, name, region="us-west-2")
    details = [c.detail for c in state_checks(settings)]
    assert details == [
        f"STATE_TABLE: no DynamoDB table '{name}' in us-west-2; create it with `sre-bot state init`",
        f"SESSION_BUCKET: bucket '{name}' is in eu-west-1, not in us-west-2 (AWS_REGION)",
    ]


def test_no_permission_is_named_not_mistaken_for_a_missing_table(aws: str) -> None:
    dynamodb = boto3.client("dynamodb")
    with Stubber(dynamodb) as stub:
        stub.add_client_error("describe_table", "AccessDeniedException", "not authorized to DescribeTable")
        found = table_problems("t-denied", "us-east-1", dynamodb)
    assert [str(p) for p in found] == [
        "STATE_TABLE: no permission to use table 't-denied' in us-east-1: AccessDeniedException: not authorized "
        "to DescribeTable"
    ]
    s3 = boto3.client("s3")
    with Stubber(s3) as stub:
        stub.add_client_error("head_bucket", "403", "Forbidden", http_status_code=403)
        found = bucket_problems("b-denied", "us-east-1", s3)
    assert [str(p) for p in found] == [
        "SESSION_BUCKET: no permission to use bucket 'b-denied' (or it is another account's)"
    ]


def test_a_bucket_s3_redirects_to_its_region_is_named_with_that_region(aws: str) -> None:
    s3 = boto3.client("s3")
    with Stubber(s3) as stub:
        stub.add_client_error(
            "head_bucket",
            "301",
            "Moved Permanently",
            http_status_code=301,
            response_meta={"HTTPHeaders": {"x-amz-bucket-region": "ap-south-1"}},
        )
        found = bucket_problems("b-far", "us-east-1", s3)
    assert [str(p) for p in found] == [
        "SESSION_BUCKET: bucket 'b-far' is in ap-south-1, not in us-east-1 (AWS_REGION)"
    ]


def test_a_table_made_by_hand_without_the_indexes_is_refused(aws: str) -> None:
    name = unique()
    client("dynamodb").create_table(
        TableName=name,
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
        AttributeDefinitions=[
            {"AttributeName": "pk", "AttributeType": "S"},
            {"AttributeName": "sk", "AttributeType": "S"},
        ],
        BillingMode="PAY_PER_REQUEST",
    )
    assert "lacks the indexes gsi1 and gsi2" in str(table_problems(name, "us-east-1")[0])


# --- settings ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        ({"STATE_BACKEND": "dynamo"}, "STATE_BACKEND: expected one of local, aws (got 'dynamo')"),
        (
            {"STATE_BACKEND": "aws", "STATE_TABLE": "t!", "SESSION_BUCKET": "b"},
            "STATE_TABLE: expected a DynamoDB",
        ),
        (
            {"STATE_BACKEND": "aws", "STATE_TABLE": "table", "SESSION_BUCKET": "My_Bucket"},
            "SESSION_BUCKET: expected",
        ),
        ({"STATE_BACKEND": "aws", "STATE_TABLE": "table"}, "SESSION_BUCKET: required when STATE_BACKEND=aws"),
        (
            {"STATE_BACKEND": "AWS", "STATE_TABLE": "table", "SESSION_BUCKET": "bucket"},
            "AWS_REGION: required",
        ),
    ],
)
def test_a_bad_state_setting_is_one_line_naming_it(
    monkeypatch: pytest.MonkeyPatch, env: dict[str, str], expected: str
) -> None:
    monkeypatch.setenv("MODEL_PROVIDER", "openai")
    monkeypatch.setenv("OPENAI_BASE_URL", "http://127.0.0.1:9/v1")
    monkeypatch.setenv("MCP_SERVERS", "billing")
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    with pytest.raises(ConfigError) as refused:
        load_settings()
    assert str(refused.value).startswith(expected)


def test_the_session_prefix_is_a_folder_without_slashes(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SESSION_PREFIX", "/bots/sre/")
    assert Settings().session_prefix == "bots/sre"


# --- expiry never waits for TTL ---------------------------------------------------------------------------


def test_an_expired_lease_claim_or_marker_counts_as_free_while_its_item_is_still_there(aws: str) -> None:
    name, _bucket = new_shared_state()
    table, clock = Table(name), Clock()
    leases, events = DynamoLeases(table, clock), DynamoDedupe(table, ttl_seconds=60.0, clock=clock)
    inbox = DynamoAlertInbox(table, ttl_seconds=60.0, clock=clock)
    assert leases.acquire("T1:C1:1.0", "dead-replica", 30.0)
    assert events.claim("T1:Ev1")
    assert inbox.put("m1", "g1", "{}") and inbox.done("m1")
    clock.now += 60.0
    for pk in ("lease#T1:C1:1.0", "event#T1:Ev1", "delivery#m1"):  # TTL has deleted none of them
        assert table.get(pk) is not None, pk
    assert DynamoLeases(table, clock).acquire("T1:C1:1.0", "replica-b", 30.0)
    assert events.claim("T1:Ev1")
    assert inbox.put("m1", "g1", "a retry after the dedupe window: a new delivery")
    assert table.get("lease#T1:C1:1.0")["owner"] == {"S": "replica-b"}  # type: ignore[index]
    assert int(table.get("event#T1:Ev1")["purge_at"]["N"]) >= clock.now + 60.0  # type: ignore[index]


# --- conversation memory in S3 ----------------------------------------------------------------------------


def test_conversation_memory_is_shared_by_replicas_under_the_prefix(aws: str) -> None:
    _table, bucket = new_shared_state()
    first, second = S3SessionStore(bucket, "bots/sre"), S3SessionStore(bucket, "bots/sre")
    writer = first.manager("T1:C9:1700000000.000100")
    assert writer.client is first.s3  # type: ignore[attr-defined]  # the process's one client, not a new one
    writer.create_agent("T1_C9_1700000000.000100", SessionAgent("coordinator", {}, {}))  # type: ignore[attr-defined]
    message = SessionMessage({"role": "user", "content": [{"text": "why is web failing?"}]}, 0)
    writer.create_message("T1_C9_1700000000.000100", "coordinator", message)  # type: ignore[attr-defined]
    keys = [o["Key"] for o in client("s3").list_objects_v2(Bucket=bucket)["Contents"]]
    assert "bots/sre/session_T1_C9_1700000000.000100/session.json" in keys
    reader = second.manager("T1:C9:1700000000.000100")  # another replica takes the thread over
    read = reader.list_messages("T1_C9_1700000000.000100", "coordinator")  # type: ignore[attr-defined]
    assert [m.message["content"][0]["text"] for m in read] == ["why is web failing?"]


# --- clients -------------------------------------------------------------------------------------------


def test_each_client_is_made_once_and_the_per_service_endpoints_are_honoured(
    aws: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    table, bucket = new_shared_state()
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:9")  # nothing there
    monkeypatch.setenv("AWS_ENDPOINT_URL_DYNAMODB", aws)
    monkeypatch.setenv("AWS_ENDPOINT_URL_S3", aws)
    settings = shared(monkeypatch, table, bucket)
    one, two = build_stores(settings, claims_path=tmp_path / "x"), build_stores(settings)
    assert one.approvals.table.dynamodb is two.approvals.table.dynamodb  # type: ignore[attr-defined]
    assert one.leases.table.dynamodb is one.approvals.table.dynamodb  # type: ignore[attr-defined]
    assert one.sessions.s3 is two.sessions.s3  # type: ignore[attr-defined]
    assert one.claims is not None and one.claims.claim("T1:Ev1") and not two.leases.release("x", "y")
    assert table_problems(table, "us-east-1") == []
    assert Table(table).get("event#T1:Ev1") is not None
    assert key("event#T1:Ev1")["sk"] == {"S": "#"}
