"""The Slack keys of the fleet file (slackbot/fleet.py): approvers and channels per cluster, checked in one
line like the agents' keys, and a channel's cluster as the place a question was asked."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from agents.fleet import Fleet, FleetError, Resolution, load_fleet, resolve, single_cluster_fleet
from slackbot.fleet import SlackClusterConfig, channel_cluster
from tests.test_fleet import BAD_FILES, GOOD_EKS, kubeconfig, write

ISSUE_EXAMPLE = """\
default: staging                 # the cluster meant when nothing else says
clusters:
  staging:
    kubeconfig_context: staging  # kubeconfig mode: a context of KUBECONFIG (K3s, kind, EKS via kubeconfig)
    writes: true                 # changes allowed, each still behind an approval card
    approvers: [U0123ABCD]       # optional; else APPROVER_USER_IDS / APPROVER_USERGROUP
  prod:
    eks: {name: prod-eks, region: eu-west-1}   # IAM mode; optional role_arn: assumed for this cluster
    writes: false                # read-only: no write tool is ever offered for this cluster
    channels: [C0PROD123]        # in these channels prod is the default
"""


@pytest.fixture
def kube_file(tmp_path: Path) -> Path:
    return kubeconfig(tmp_path / "kubeconfig", "staging", "dev")


def slack_fleet(text: str, tmp_path: Path, kube_file: Path) -> Fleet[SlackClusterConfig]:
    return load_fleet(write(tmp_path, text), [kube_file], SlackClusterConfig)


def test_the_issue_example_loads_with_its_slack_keys(tmp_path: Path, kube_file: Path) -> None:
    fleet = slack_fleet(ISSUE_EXAMPLE, tmp_path, kube_file)
    assert fleet.names == ("staging", "prod") and fleet.default_cluster == "staging"
    staging, prod = fleet.clusters["staging"], fleet.clusters["prod"]
    assert (staging.mode, staging.target, staging.writes, staging.approvers, staging.channels) == (
        "kubeconfig",
        "staging",
        True,
        ("U0123ABCD",),
        (),
    )
    assert (prod.mode, prod.target, prod.writes, prod.approvers, prod.channels) == (
        "iam",
        "prod-eks",
        False,
        (),
        ("C0PROD123",),
    )
    assert prod.eks is not None and prod.eks.region == "eu-west-1" and prod.eks.role_arn is None
    assert channel_cluster(fleet, "C0PROD123") == "prod"
    assert channel_cluster(fleet, "C0OTHER") is None
    assert channel_cluster(fleet, None) is None and channel_cluster(fleet, "") is None


SLACK_BAD_FILES = [
    (
        f"default: prod\nclusters:\n  prod:\n    {GOOD_EKS}\n    channels: [C1]\n"
        "  staging:\n    kubeconfig_context: staging\n    channels: [C2, C1]\n",
        "clusters.staging.channels",
        "C1 is already bound to clusters.prod",
    ),
    (
        f"clusters:\n  prod:\n    {GOOD_EKS}\n    approvers: [alice]\n",
        "clusters.prod.approvers",
        "Slack user ids",
    ),
    (
        f"clusters:\n  prod:\n    {GOOD_EKS}\n    channels: ['#prod']\n",
        "clusters.prod.channels",
        "channel ids",
    ),
    (f"clusters:\n  prod:\n    {GOOD_EKS}\n    approver: [U1]\n", "clusters.prod.approver", "unknown key"),
    (f"clusters:\n  prod:\n    {GOOD_EKS}\n    channels: C1\n", "clusters.prod.channels", "valid tuple"),
]


@pytest.mark.parametrize(("text", "key", "expected"), SLACK_BAD_FILES + BAD_FILES)
def test_a_bad_file_read_with_the_slack_keys_is_still_one_line(
    tmp_path: Path, kube_file: Path, text: str, key: str, expected: str
) -> None:
    path = write(tmp_path, text)
    with pytest.raises(FleetError) as caught:
        load_fleet(path, [kube_file], SlackClusterConfig)
    message = str(caught.value)
    assert "\n" not in message
    assert message.startswith(f"CLUSTERS_FILE: {path}: {key}: ")
    assert expected in message
    assert caught.value.key == key


def test_a_channel_listed_twice_under_one_cluster_is_fine(tmp_path: Path, kube_file: Path) -> None:
    fleet = slack_fleet(f"clusters:\n  prod:\n    {GOOD_EKS}\n    channels: [C1, C1]\n", tmp_path, kube_file)
    assert channel_cluster(fleet, "C1") == "prod"


def test_a_fleet_without_the_slack_keys_binds_no_channel() -> None:
    fleet = single_cluster_fleet("kind-sre", writes=False)
    assert fleet is not None and channel_cluster(fleet, "C0PROD123") is None


def test_the_channel_s_cluster_comes_after_the_question_and_the_thread(
    tmp_path: Path, kube_file: Path
) -> None:
    fleet = slack_fleet(ISSUE_EXAMPLE + "  dev:\n    kubeconfig_context: dev\n", tmp_path, kube_file)
    ask = "why is checkout failing?"

    def in_channel(text: str, thread: str | None, channel: str) -> Resolution:
        return resolve(fleet, text, thread_cluster=thread, place_cluster=channel_cluster(fleet, channel))

    assert in_channel("what runs on staging", "dev", "C0PROD123") == Resolution(("staging",), "question")
    assert in_channel(ask, "dev", "C0PROD123") == Resolution(("dev",), "thread")
    assert in_channel(ask, None, "C0PROD123") == Resolution(("prod",), "place")
    assert in_channel(ask, None, "C0OTHER") == Resolution(("staging",), "default")


CHANNELS = st.lists(st.from_regex(r"C[0-9]{3}", fullmatch=True), max_size=4)


@given(owned=st.lists(CHANNELS, min_size=1, max_size=3), asked_in=st.from_regex(r"C[0-9]{3}", fullmatch=True))
def test_a_fleet_loads_only_if_each_channel_has_one_cluster(owned: list[list[str]], asked_in: str) -> None:
    clusters = {
        f"c{i}": SlackClusterConfig(kubeconfig_context=f"ctx_{i}", channels=tuple(channels))
        for i, channels in enumerate(owned)
    }
    owners = {ch: {n for n, c in clusters.items() if ch in c.channels} for ch in {asked_in}.union(*owned)}
    if any(len(names) > 1 for names in owners.values()):
        with pytest.raises(ValidationError, match=r"is already bound to clusters\."):
            Fleet[SlackClusterConfig](default="c0", clusters=clusters)
        return
    fleet = Fleet[SlackClusterConfig](default="c0", clusters=clusters)
    assert channel_cluster(fleet, asked_in) == next(iter(owners[asked_in]), None)
