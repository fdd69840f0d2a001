"""The shared table's layout, its clients, and the few calls every store makes.

Items (`pk`, `sk`; `sk` is "#" for an item alone under its key):

    event#<key>            one-time claim of a redelivered event       until, purge_at
    lease#<key>            a thread's lease                            owner, until, purge_at
    approval#<id>          one approval (gsi1: by state and time; gsi2: by turn)
    delivery#<id>          an alert delivery's dedupe marker and lease seq, done_at, until, purge_at
    inbox / <seq, padded>  a delivery not yet done, in arrival order  (deleted when done)
    inbox-seq              the arrival counter
    group#<key>            an alert group's thread and status

`until` is when a claim, lease or marker stops counting; conditions compare it with the caller's clock.
`purge_at` (whole seconds) is the TTL attribute: DynamoDB deletes the item some time after it.

Clients are made once per process (boto3 clients are thread-safe; making one costs tens of ms) and
never given an endpoint or credentials: boto3 reads AWS_ENDPOINT_URL (and AWS_ENDPOINT_URL_DYNAMODB,
AWS_ENDPOINT_URL_S3), the region and the credential chain itself, so moto or LocalStack is one setting.
"""

from __future__ import annotations

import functools
import hashlib
import math
import os
import threading
import time
from collections.abc import Iterator, Mapping
from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError

PK, SK, ONE = "pk", "sk", "#"
GSI1 = "gsi1"  # approvals by state: pending ones by expiry time, decided ones by decision time
GSI2 = "gsi2"  # approvals by turn, in the order they were asked
TTL_ATTRIBUTE = "purge_at"
CONFIG = Config(
    retries={"mode": "standard", "max_attempts": 4},
    connect_timeout=5,
    read_timeout=10,
    max_pool_connections=32,  # the desks, the listener and the runner's threads share one client
)

Item = dict[str, dict[str, Any]]


def table_definition(name: str) -> dict[str, Any]:
    """CreateTable's arguments: on demand (no capacity to plan), two keys-only GSIs of the approvals."""

    def index(name: str) -> dict[str, Any]:
        return {
            "IndexName": name,
            "KeySchema": [
                {"AttributeName": f"{name}pk", "KeyType": "HASH"},
                {"AttributeName": f"{name}sk", "KeyType": "RANGE"},
            ],
            "Projection": {"ProjectionType": "KEYS_ONLY"},
        }

    attributes = [(PK, "S"), (SK, "S"), ("gsi1pk", "S"), ("gsi1sk", "N"), ("gsi2pk", "S"), ("gsi2sk", "N")]
    return {
        "TableName": name,
        "KeySchema": [{"AttributeName": PK, "KeyType": "HASH"}, {"AttributeName": SK, "KeyType": "RANGE"}],
        "AttributeDefinitions": [{"AttributeName": a, "AttributeType": t} for a, t in attributes],
        "GlobalSecondaryIndexes": [index(GSI1), index(GSI2)],
        "BillingMode": "PAY_PER_REQUEST",
    }


_lock = threading.Lock()


@functools.cache
def _client(service: str, region: str | None, profile: str | None, endpoints: tuple[str | None, ...]) -> Any:
    del endpoints  # only part of the cache key: boto3 reads them from the environment itself
    return boto3.session.Session(profile_name=profile, region_name=region).client(service, config=CONFIG)  # type: ignore[call-overload]


def client(service: str) -> Any:
    """The process's client of `service` ("dynamodb", "s3") for the AWS environment of now.

    Cached by what it was made from, so one deployment makes each client once (tests that point the
    environment elsewhere get another)."""
    env = os.environ
    with _lock:
        return _client(
            service,
            env.get("AWS_REGION") or env.get("AWS_DEFAULT_REGION"),
            env.get("AWS_PROFILE"),
            (
                env.get("AWS_ENDPOINT_URL"),
                env.get(f"AWS_ENDPOINT_URL_{service.upper()}"),
                env.get("AWS_ACCESS_KEY_ID"),
            ),
        )


# --- values --------------------------------------------------------------------------------------------


def s(value: str) -> dict[str, str]:
    return {"S": value}


def n(value: float) -> dict[str, str]:
    """A number as DynamoDB takes it; a float's repr reads back as exactly the same float."""
    return {"N": str(value) if isinstance(value, int) else repr(float(value))}


def purge(until: float, grace: float = 3600.0) -> dict[str, str]:
    """The TTL attribute for something that stops counting at `until` (an hour later: clock skew)."""
    return n(math.ceil(until + grace))


def text(item: Mapping[str, Any], name: str, default: str = "") -> str:
    value = item.get(name)
    return default if value is None or "NULL" in value else str(value["S"])


def number(item: Mapping[str, Any], name: str) -> float | None:
    value = item.get(name)
    return None if value is None or "NULL" in value else float(value["N"])


def whole(item: Mapping[str, Any], name: str) -> int:
    value = item.get(name)
    return 0 if value is None or "NULL" in value else int(value["N"])


MAX_KEY_BYTES = 1024  # DynamoDB: a partition key up to 2048 bytes, a sort key up to 1024


def bounded(value: str) -> str:
    """`value` as a key part: itself, or its SHA-256 when too long in UTF-8 for a key (an alert's group key
    is written by whoever writes alert rules: 1024 characters of emoji are ~4 KB)."""
    raw = value.encode("utf-8", "surrogatepass")
    if len(raw) <= MAX_KEY_BYTES - 64:  # room for the type prefix
        return value
    return "sha256:" + hashlib.sha256(raw).hexdigest()


def key(pk: str, sk: str = ONE) -> Item:
    return {PK: s(pk), SK: s(sk)}


def code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))


class Table:
    """One table through the process's client; conditional writes answer True/False, never raise for a
    condition that is false (every other error is raised)."""

    def __init__(self, name: str, dynamodb: Any | None = None) -> None:
        self.name = name
        self.dynamodb = dynamodb if dynamodb is not None else client("dynamodb")

    def get(self, pk: str, sk: str = ONE) -> Item | None:
        """Strongly consistent: what the last successful write left."""
        found = self.dynamodb.get_item(TableName=self.name, Key=key(pk, sk), ConsistentRead=True)
        item: Item | None = found.get("Item")
        return item

    def put(
        self,
        item: Item,
        condition: str | None = None,
        values: Item | None = None,
        names: dict[str, str] | None = None,
    ) -> bool:
        args: dict[str, Any] = {"TableName": self.name, "Item": item}
        return self._conditional(self.dynamodb.put_item, args, condition, values, names)

    def update(
        self,
        pk: str,
        expression: str,
        values: Item | None = None,
        condition: str | None = None,
        names: dict[str, str] | None = None,
        sk: str = ONE,
    ) -> bool:
        args: dict[str, Any] = {"TableName": self.name, "Key": key(pk, sk), "UpdateExpression": expression}
        return self._conditional(self.dynamodb.update_item, args, condition, values, names)

    def delete(
        self,
        pk: str,
        condition: str | None = None,
        values: Item | None = None,
        names: dict[str, str] | None = None,
        sk: str = ONE,
    ) -> bool:
        args: dict[str, Any] = {"TableName": self.name, "Key": key(pk, sk)}
        return self._conditional(self.dynamodb.delete_item, args, condition, values, names)

    def _conditional(
        self,
        call: Any,
        args: dict[str, Any],
        condition: str | None,
        values: Item | None,
        names: dict[str, str] | None,
    ) -> bool:
        if condition:
            args["ConditionExpression"] = condition
        if values:
            args["ExpressionAttributeValues"] = values
        if names:
            args["ExpressionAttributeNames"] = names
        try:
            call(**args)
        except ClientError as exc:
            if code(exc) == "ConditionalCheckFailedException":
                return False
            raise
        return True

    def transact(self, items: list[dict[str, Any]]) -> list[str] | None:
        """All of `items` or none: None when written, else each item's cancellation code
        ("ConditionalCheckFailed" where a condition was false, "None" where it was not the reason)."""
        for entry in items:
            next(iter(entry.values()))["TableName"] = self.name
        try:
            self.dynamodb.transact_write_items(TransactItems=items)
        except ClientError as exc:
            if code(exc) != "TransactionCanceledException":
                raise
            reasons = exc.response.get("CancellationReasons") or []
            return [str(r.get("Code", "None")) for r in reasons]
        return None

    def query(
        self, condition: str, values: Item, index: str | None = None, forward: bool = True
    ) -> Iterator[Item]:
        """Every item the key condition selects, page by page (consistent on the table; a GSI is not)."""
        args: dict[str, Any] = {
            "TableName": self.name,
            "KeyConditionExpression": condition,
            "ExpressionAttributeValues": values,
            "ScanIndexForward": forward,
        }
        if index:
            args["IndexName"] = index
        else:
            args["ConsistentRead"] = True
        while True:
            page = self.dynamodb.query(**args)
            yield from page.get("Items", [])
            if "LastEvaluatedKey" not in page:
                return
            args["ExclusiveStartKey"] = page["LastEvaluatedKey"]

    def get_many(self, keys: list[Item]) -> list[Item]:
        """Strongly consistent reads of many items (any order; missing ones left out)."""
        found: list[Item] = []
        for start in range(0, len(keys), 100):
            wanted: dict[str, Any] = {self.name: {"Keys": keys[start : start + 100], "ConsistentRead": True}}
            while wanted:
                page = self.dynamodb.batch_get_item(RequestItems=wanted)
                found.extend(page.get("Responses", {}).get(self.name, []))
                wanted = page.get("UnprocessedKeys") or {}
                if wanted:
                    time.sleep(0.05)  # throttled: the rest after a pause
        return found
