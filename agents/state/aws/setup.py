"""`sre-bot state init` (create the table and the bucket) and the start-up check that they are usable.

The check runs before the bot starts and in `doctor`: a missing table, a bucket in another region or a
role without permission is one line naming the setting, not a failure at the first question or click.
"""

from __future__ import annotations

from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from agents.settings import ConfigError
from agents.state.aws.table import GSI1, GSI2, TTL_ATTRIBUTE, client, code, key, table_definition

INIT = "create it with `sre-bot state init`"


class Missing(ConfigError):
    """The table or the bucket does not exist (yet): what `state init` creates."""


def _why(exc: Exception) -> str:
    """An AWS failure in a few words (credentials, network, permission), never a traceback."""
    if isinstance(exc, ClientError):
        message = str(exc.response.get("Error", {}).get("Message", ""))[:160]
        return f"{code(exc)}: {message}".rstrip(": ")
    return f"{type(exc).__name__}: {str(exc)[:160]}"


def _denied(exc: Exception) -> bool:
    return isinstance(exc, ClientError) and code(exc) in ("AccessDeniedException", "AccessDenied", "403")


def table_problems(name: str, region: str, dynamodb: Any | None = None) -> list[ConfigError]:
    """What keeps STATE_TABLE from working: missing (here: this region), no permission, wrong shape."""
    dynamodb = dynamodb if dynamodb is not None else client("dynamodb")
    try:
        table = dynamodb.describe_table(TableName=name)["Table"]
        dynamodb.get_item(TableName=name, Key=key("doctor#probe"))
    except ClientError as exc:
        if code(exc) == "ResourceNotFoundException":
            return [Missing("STATE_TABLE", f"no DynamoDB table {name!r} in {region}; {INIT}")]
        if _denied(exc):
            return [
                ConfigError("STATE_TABLE", f"no permission to use table {name!r} in {region}: {_why(exc)}")
            ]
        return [ConfigError("STATE_TABLE", f"table {name!r} in {region} cannot be read: {_why(exc)}")]
    except (BotoCoreError, OSError) as exc:
        return [ConfigError("STATE_TABLE", f"DynamoDB in {region} cannot be reached: {_why(exc)}")]
    indexes = {i["IndexName"] for i in table.get("GlobalSecondaryIndexes", [])}
    if not {GSI1, GSI2} <= indexes:
        return [
            ConfigError(
                "STATE_TABLE",
                f"table {name!r} lacks the indexes {GSI1} and {GSI2}: it was not made by `sre-bot state init` "
                "(use a new table name, and let state init create it)",
            )
        ]
    return []


def bucket_problems(bucket: str, region: str, s3: Any | None = None) -> list[ConfigError]:
    """What keeps SESSION_BUCKET from working: missing, no permission, or in another region."""
    s3 = s3 if s3 is not None else client("s3")
    try:
        found = s3.head_bucket(Bucket=bucket)
    except ClientError as exc:
        headers = exc.response.get("ResponseMetadata", {}).get("HTTPHeaders", {})
        if code(exc) in ("404", "NoSuchBucket"):
            return [Missing("SESSION_BUCKET", f"no S3 bucket {bucket!r}; {INIT}")]
        if code(exc) in ("301", "PermanentRedirect") or headers.get("x-amz-bucket-region", region) != region:
            where = headers.get("x-amz-bucket-region", "another region")
            return [
                ConfigError(
                    "SESSION_BUCKET", f"bucket {bucket!r} is in {where}, not in {region} (AWS_REGION)"
                )
            ]
        if _denied(exc):
            return [
                ConfigError(
                    "SESSION_BUCKET", f"no permission to use bucket {bucket!r} (or it is another account's)"
                )
            ]
        return [ConfigError("SESSION_BUCKET", f"bucket {bucket!r} cannot be used: {_why(exc)}")]
    except (BotoCoreError, OSError) as exc:
        return [ConfigError("SESSION_BUCKET", f"S3 cannot be reached: {_why(exc)}")]
    where = found.get("ResponseMetadata", {}).get("HTTPHeaders", {}).get("x-amz-bucket-region", region)
    if where != region:
        return [
            ConfigError("SESSION_BUCKET", f"bucket {bucket!r} is in {where}, not in {region} (AWS_REGION)")
        ]
    return []


def problems(table: str, bucket: str, region: str) -> list[ConfigError]:
    """Every problem of the shared state, table first."""
    return [*table_problems(table, region), *bucket_problems(bucket, region)]


def init(table: str, bucket: str, region: str) -> list[str]:
    """Create what is missing (the table with TTL on, the bucket); one line per thing, saying which.

    Raises ConfigError for what it cannot fix: a table of another shape, a bucket elsewhere or not ours."""
    dynamodb, s3 = client("dynamodb"), client("s3")
    lines = []
    try:
        dynamodb.create_table(**table_definition(table))
        lines.append(f"created DynamoDB table {table} in {region}")
    except ClientError as exc:
        if code(exc) != "ResourceInUseException":
            raise
        lines.append(f"DynamoDB table {table} already existed")
    dynamodb.get_waiter("table_exists").wait(TableName=table, WaiterConfig={"Delay": 2, "MaxAttempts": 90})
    for problem in table_problems(table, region, dynamodb):
        raise problem
    ttl = dynamodb.describe_time_to_live(TableName=table)["TimeToLiveDescription"]
    if ttl.get("TimeToLiveStatus") in ("ENABLED", "ENABLING"):
        lines.append(f"its TTL was on already ({ttl.get('AttributeName')})")
    else:
        dynamodb.update_time_to_live(
            TableName=table, TimeToLiveSpecification={"Enabled": True, "AttributeName": TTL_ATTRIBUTE}
        )
        lines.append(f"turned its TTL on ({TTL_ATTRIBUTE}): expired claims and leases are deleted")
    found = bucket_problems(bucket, region, s3)
    if not found:
        lines.append(f"S3 bucket {bucket} already existed")
        return lines
    if not isinstance(found[0], Missing):
        raise found[0]
    args: dict[str, Any] = {"Bucket": bucket}
    if region != "us-east-1":  # the one region S3 refuses to be told
        args["CreateBucketConfiguration"] = {"LocationConstraint": region}
    try:
        s3.create_bucket(**args)
    except ClientError as exc:
        if code(exc) != "BucketAlreadyOwnedByYou":
            raise
    lines.append(f"created S3 bucket {bucket} in {region}")
    return lines
