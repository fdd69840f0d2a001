"""How each EKS server process is run: its auth mode, region, write flag and the role it assumes."""

from __future__ import annotations

from pathlib import Path

import botocore.session
import pytest

from agents.capabilities.eks import base_instance, instance_spec
from agents.fleet.instances import ServerInstance
from agents.mcp.assume_role import PROFILE, assume_role_env
from agents.settings import Settings

ROLE = "arn:aws:iam::123456789012:role/prod-reader"


def settings(tmp_path: Path, **values: object) -> Settings:
    kubeconfig = tmp_path / "kubeconfig"
    kubeconfig.write_text("apiVersion: v1\nkind: Config\ncontexts: []\n")
    defaults: dict[str, object] = {
        "model_provider": "openai",
        "kubeconfig": str(kubeconfig),
        "aws_region": "us-east-1",
        "mcp_log_dir": tmp_path / "log",
        "eks_mcp_allow_write": True,
    }
    return Settings(**{**defaults, **values})  # type: ignore[arg-type]


def spec(tmp_path: Path, instance: ServerInstance, **env: str):  # type: ignore[no-untyped-def]
    base = {"HOME": str(tmp_path), "PATH": "/bin", **env}
    return instance_spec(settings(tmp_path), base, {"AWS_REGION": "us-east-1"}, instance)


def test_todays_settings_are_the_instance_called_eks(tmp_path: Path) -> None:
    s = settings(tmp_path)
    assert base_instance(s) == ServerInstance("kubeconfig", True)
    made = spec(tmp_path, ServerInstance("kubeconfig", True))
    assert made.name == "eks" and made.kind == "eks"
    assert made.args[:2] == ["--auth-mode", "kubeconfig"] and "--allow-write" in made.args


def test_a_read_only_instance_runs_without_allow_write_in_its_own_files(tmp_path: Path) -> None:
    made = spec(tmp_path, ServerInstance("kubeconfig", False))
    assert made.name == "eks-kubeconfig-ro" and made.kind == "eks"
    assert "--allow-write" not in made.args
    assert made.log_file is not None and made.log_file.name == "eks-kubeconfig-ro-server.stderr.log"
    other = spec(tmp_path, ServerInstance("kubeconfig", True))
    assert made.env["TMPDIR"] != other.env["TMPDIR"]  # its own discovery cache


def test_an_iam_instance_calls_eks_in_its_own_region(tmp_path: Path) -> None:
    made = spec(tmp_path, ServerInstance("iam", False, "eu-west-1"))
    assert made.args[:2] == ["--auth-mode", "iam"] and "--allow-write" not in made.args
    assert made.env["AWS_REGION"] == made.env["AWS_DEFAULT_REGION"] == "eu-west-1"
    assert "AWS_PROFILE" not in made.env  # the bot's own identity


def test_a_role_instance_gets_a_profile_that_assumes_the_role(tmp_path: Path) -> None:
    made = spec(
        tmp_path,
        ServerInstance("iam", False, "eu-west-1", ROLE),
        AWS_ACCESS_KEY_ID="AKIAEXAMPLE",
        AWS_SECRET_ACCESS_KEY="x",
    )
    assert made.env["AWS_PROFILE"] == PROFILE
    config = Path(made.env["AWS_CONFIG_FILE"]).read_text()
    assert f"role_arn = {ROLE}" in config and "source_profile = sre-bot-source-identity" in config
    assert "AWS_ACCESS_KEY_ID" not in made.env  # keys in the environment would win over the role
    assert Path(made.env["AWS_CONFIG_FILE"]).stat().st_mode & 0o077 == 0  # the owner's alone


@pytest.mark.parametrize(
    ("env", "source"),
    [
        ({"AWS_ACCESS_KEY_ID": "AKIASOURCE0000000000", "AWS_SECRET_ACCESS_KEY": "s"}, "static keys"),
        ({"AWS_PROFILE": "team"}, "a named profile"),
        ({}, "the default profile of ~/.aws/credentials"),
    ],
)
def test_the_sdk_in_the_child_assumes_the_role_from_the_bots_own_identity(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, moto_url: str, env: dict[str, str], source: str
) -> None:
    """botocore, reading the environment the child gets, calls STS AssumeRole (moto) for the role."""
    aws = tmp_path / ".aws"
    aws.mkdir()
    (aws / "config").write_text("[profile team]\nregion = eu-west-1\n")
    (aws / "credentials").write_text(
        "[team]\naws_access_key_id = AKIATEAM000000000000\naws_secret_access_key = t\n"
        "[default]\naws_access_key_id = AKIADEFAULT000000000\naws_secret_access_key = d\n"
    )
    child = assume_role_env(
        {"HOME": str(tmp_path), "AWS_REGION": "eu-west-1", **env}, ROLE, tmp_path / "instance"
    )
    for key in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_PROFILE", "AWS_CONFIG_FILE"):
        monkeypatch.delenv(key, raising=False)
    for key, value in child.items():
        monkeypatch.setenv(key, value)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(aws / "credentials"))
    monkeypatch.setenv("AWS_ENDPOINT_URL", moto_url)  # STS is moto's server
    credentials = botocore.session.Session().get_credentials()
    assert credentials is not None, source
    assert credentials.method == "assume-role", source
    frozen = credentials.get_frozen_credentials()
    assert frozen.access_key.startswith("ASIA")  # STS's, not the source's
    assert frozen.access_key not in ("AKIASOURCE0000000000", "AKIATEAM000000000000", "AKIADEFAULT000000000")


def test_irsa_moves_into_a_source_profile_so_the_role_is_chained_not_replaced(tmp_path: Path) -> None:
    token = tmp_path / "token"
    token.write_text("jwt")
    child = assume_role_env(
        {"AWS_ROLE_ARN": "arn:aws:iam::123456789012:role/bot", "AWS_WEB_IDENTITY_TOKEN_FILE": str(token)},
        ROLE,
        tmp_path / "instance",
    )
    assert "AWS_ROLE_ARN" not in child and "AWS_WEB_IDENTITY_TOKEN_FILE" not in child
    config = Path(child["AWS_CONFIG_FILE"]).read_text()
    assert "role_arn = arn:aws:iam::123456789012:role/bot" in config
    assert (
        f"web_identity_token_file = {token}" in config
        and "source_profile = sre-bot-source-identity" in config
    )


def test_closing_the_servers_removes_the_instance_directory_and_its_credentials(tmp_path: Path) -> None:
    from agents.mcp.servers import McpServers

    made = spec(
        tmp_path,
        ServerInstance("iam", False, "eu-west-1", ROLE),
        AWS_ACCESS_KEY_ID="AKIAEXAMPLE",
        AWS_SECRET_ACCESS_KEY="secret",
    )
    config = Path(made.env["AWS_CONFIG_FILE"])
    assert "secret" in config.read_text()
    servers = McpServers([])
    servers.instance(made.name, lambda: made)
    servers.close()
    assert not config.exists() and not Path(made.env["TMPDIR"]).exists()


@pytest.mark.parametrize(
    ("env", "line"),
    [
        (
            {"AWS_CONTAINER_CREDENTIALS_FULL_URI": "http://169.254.170.23/v1/credentials"},
            "credential_source = EcsContainer",
        ),
        ({"AWS_CONTAINER_CREDENTIALS_RELATIVE_URI": "/v2/credentials/x"}, "credential_source = EcsContainer"),
        ({}, "credential_source = Ec2InstanceMetadata"),
        (
            {
                "AWS_ACCESS_KEY_ID": "AKIATEMP000000000000",
                "AWS_SECRET_ACCESS_KEY": "s",
                "AWS_SESSION_TOKEN": "tok",
            },
            "aws_session_token = tok",
        ),
    ],
)
def test_the_roles_source_is_the_identity_the_bots_own_sdk_would_use(
    tmp_path: Path, env: dict[str, str], line: str
) -> None:
    """Pod Identity / ECS, the instance role, temporary keys: each becomes the role's source, and no
    identity of its own stays in the child's environment to win over the profile."""
    child = assume_role_env({"HOME": str(tmp_path), **env}, ROLE, tmp_path / "instance")
    assert line in Path(child["AWS_CONFIG_FILE"]).read_text()
    assert not {"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"} & set(child)
