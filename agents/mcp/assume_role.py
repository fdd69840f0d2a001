"""A server process that reaches its clusters as an IAM role: an AWS config profile the SDK assumes itself.

Why a profile and not credentials the bot fetches: an MCP server lives for hours and STS credentials
expire in one; botocore refreshes an assumed role's credentials on its own when the role is a profile's
`role_arn`. The profile's source is the identity the bot itself has, whichever way it got it (a named
profile, IRSA's web identity, EKS Pod Identity, static keys, the instance role), so the child needs
nothing the bot does not already have.

botocore prefers keys in the environment to AWS_PROFILE's role, so the child's environment keeps no
identity of its own: static keys move into a source profile of the file (mode 0600, in the server's
own temporary directory, removed when the bot closes its servers), IRSA's role and token file likewise.
Temporary keys (AWS_SESSION_TOKEN) are copied as they are at the server's first start: when they
expire, so do the bot's own, and the bot needs new ones either way.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

PROFILE = "sre-bot-cluster-role"
SOURCE_PROFILE = "sre-bot-source-identity"
# The environment's own identity: taken out of the child's environment (it moves into the file, or the
# named profile is the source), because botocore prefers keys in the environment to AWS_PROFILE's role.
IDENTITY = (
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
    "AWS_ROLE_ARN",
    "AWS_WEB_IDENTITY_TOKEN_FILE",
    "AWS_ROLE_SESSION_NAME",
)


def _source(env: Mapping[str, str]) -> tuple[list[str], list[str]]:
    """The target profile's source lines, and any profile they need: the identity the bot's own SDK
    would pick, in botocore's order (keys in the environment, a named profile, IRSA, the container's
    credentials, the instance role)."""
    if env.get("AWS_ACCESS_KEY_ID") and env.get("AWS_SECRET_ACCESS_KEY"):
        keys = [
            f"[profile {SOURCE_PROFILE}]",
            f"aws_access_key_id = {env['AWS_ACCESS_KEY_ID']}",
            f"aws_secret_access_key = {env['AWS_SECRET_ACCESS_KEY']}",
            *([f"aws_session_token = {env['AWS_SESSION_TOKEN']}"] if env.get("AWS_SESSION_TOKEN") else []),
        ]
        return [f"source_profile = {SOURCE_PROFILE}"], keys
    if env.get("AWS_PROFILE"):
        return [f"source_profile = {env['AWS_PROFILE']}"], []
    if env.get("AWS_ROLE_ARN") and env.get("AWS_WEB_IDENTITY_TOKEN_FILE"):  # IRSA
        extra = [
            f"[profile {SOURCE_PROFILE}]",
            f"role_arn = {env['AWS_ROLE_ARN']}",
            f"web_identity_token_file = {env['AWS_WEB_IDENTITY_TOKEN_FILE']}",
            f"role_session_name = {env.get('AWS_ROLE_SESSION_NAME') or 'sre-bot'}",
        ]
        return [f"source_profile = {SOURCE_PROFILE}"], extra
    if _has_default_profile(env):  # ~/.aws/credentials or config [default]: what botocore reads next
        return ["source_profile = default"], []
    if env.get("AWS_CONTAINER_CREDENTIALS_FULL_URI") or env.get("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI"):
        return ["credential_source = EcsContainer"], []  # EKS Pod Identity and ECS task roles
    return ["credential_source = Ec2InstanceMetadata"], []


def _has_default_profile(env: Mapping[str, str]) -> bool:
    home = Path(env.get("HOME") or Path.home())
    credentials = env.get("AWS_SHARED_CREDENTIALS_FILE") or str(home / ".aws" / "credentials")
    try:
        text = Path(credentials).expanduser().read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        text = ""
    return "[default]" in text.splitlines() or "[default]" in _existing_config(env).splitlines()


def _existing_config(env: Mapping[str, str]) -> str:
    """The AWS config file the bot reads (its profiles stay usable as the role's source)."""
    path = env.get("AWS_CONFIG_FILE") or str(Path(env.get("HOME") or Path.home()) / ".aws" / "config")
    try:
        return Path(path).expanduser().read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return ""


def assume_role_env(env: Mapping[str, str], role_arn: str, directory: Path) -> dict[str, str]:
    """`env` changed so an AWS SDK in the child assumes `role_arn` from the bot's own identity.

    Writes `directory/aws-config` (the bot's config file, if any, plus one or two profiles) and points
    AWS_CONFIG_FILE and AWS_PROFILE at it. The role's session is named `sre-bot`, so CloudTrail shows
    which calls were the bot's.
    """
    source, extra = _source(env)
    region = env.get("AWS_REGION") or env.get("AWS_DEFAULT_REGION")
    lines = [
        _existing_config(env).rstrip(),
        "",
        f"[profile {PROFILE}]",
        f"role_arn = {role_arn}",
        "role_session_name = sre-bot",
        *source,
        *([f"region = {region}"] if region else []),
        "",
        *extra,
        "",
    ]
    directory.mkdir(mode=0o700, parents=True, exist_ok=True)
    config = directory / "aws-config"
    # Created 0600 before anything is written (it may hold the bot's keys), never through a link.
    descriptor = os.open(config, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as out:
        out.write("\n".join(lines).lstrip("\n"))
    changed = {k: v for k, v in env.items() if k not in IDENTITY}
    changed.update({"AWS_CONFIG_FILE": str(config), "AWS_PROFILE": PROFILE})
    return changed
