"""The fleet: CLUSTERS_FILE fails at start in one line, questions resolve to clusters of the fleet only,
and a tool call's cluster_name is bound in code to a cluster of the question.

These use the agents' own cluster model; the Slack front end's keys are in tests/test_slack_fleet.py."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from agents.fleet import (
    ClusterConfig,
    ClusterRefused,
    Fleet,
    FleetError,
    KeyProblem,
    Resolution,
    check_call_cluster,
    flag_resolution,
    load_fleet,
    mentioned,
    resolve,
    single_cluster_fleet,
)
from agents.settings import ConfigError

# The example file without the Slack front end's keys (approvers, channels).
EXAMPLE = """\
default: staging                 # the cluster meant when nothing else says
clusters:
  staging:
    kubeconfig_context: staging
    writes: true
  prod:
    eks: {name: prod-eks, region: eu-west-1}
    writes: false
"""


def kubeconfig(path: Path, *contexts: str) -> Path:
    entries = "".join(f"- name: {c}\n  context: {{cluster: {c}, user: u}}\n" for c in contexts)
    path.write_text(f"apiVersion: v1\nkind: Config\ncontexts:\n{entries}")
    return path


@pytest.fixture
def kube_file(tmp_path: Path) -> Path:
    return kubeconfig(tmp_path / "kubeconfig", "staging", "dev")


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "clusters.yaml"
    path.write_text(text)
    return path


def fleet_of(text: str, tmp_path: Path, kube_file: Path) -> Fleet:
    return load_fleet(write(tmp_path, text), [kube_file])


# --- the file --------------------------------------------------------------------------------------


def test_the_example_loads_with_its_modes_targets_and_policies(tmp_path: Path, kube_file: Path) -> None:
    fleet = fleet_of(EXAMPLE, tmp_path, kube_file)
    assert fleet.names == ("staging", "prod")
    assert fleet.default_cluster == "staging"
    staging, prod = fleet.clusters["staging"], fleet.clusters["prod"]
    assert type(staging) is ClusterConfig
    assert (staging.mode, staging.target, staging.writes) == ("kubeconfig", "staging", True)
    assert (prod.mode, prod.target, prod.writes) == ("iam", "prod-eks", False)
    assert prod.eks is not None and prod.eks.region == "eu-west-1" and prod.eks.role_arn is None


@pytest.mark.parametrize(("key", "value"), [("approvers", "[U0123ABCD]"), ("channels", "[C0PROD123]")])
def test_the_agents_model_refuses_a_front_end_s_keys(
    tmp_path: Path, kube_file: Path, key: str, value: str
) -> None:
    path = write(tmp_path, f"clusters:\n  staging:\n    kubeconfig_context: staging\n    {key}: {value}\n")
    with pytest.raises(FleetError, match=rf": clusters\.staging\.{key}: unknown key"):
        load_fleet(path, [kube_file])


def test_writes_are_off_unless_the_file_turns_them_on(tmp_path: Path, kube_file: Path) -> None:
    fleet = fleet_of("clusters:\n  staging:\n    kubeconfig_context: staging\n", tmp_path, kube_file)
    assert fleet.clusters["staging"].writes is False
    assert fleet.default_cluster == "staging"  # a fleet of one needs no `default`


def test_a_context_may_come_from_any_file_of_kubeconfig_list(tmp_path: Path) -> None:
    first = kubeconfig(tmp_path / "a", "dev")
    second = kubeconfig(tmp_path / "b", "staging")
    path = write(tmp_path, "clusters:\n  staging:\n    kubeconfig_context: staging\n")
    fleet = load_fleet(path, f"{first}{os.pathsep}{tmp_path / 'missing'}{os.pathsep}{second}")
    assert fleet.clusters["staging"].target == "staging"


GOOD_EKS = "eks: {name: prod-eks, region: eu-west-1}"
BAD_FILES = [
    ("clusters: [\n", "(file)", "expected YAML"),
    ("", "(top level)", "expected a mapping"),
    ("- staging\n", "(top level)", "expected a mapping"),
    (f"clusters:\n  prod:\n    {GOOD_EKS}\n    write: true\n", "clusters.prod.write", "unknown key"),
    (f"clusters:\n  prod:\n    {GOOD_EKS}\nregion: x\n", "region", "unknown key"),
    (
        "clusters:\n  prod:\n    eks: {name: p, region: eu-west-1, role: r}\n",
        "clusters.prod.eks.role",
        "unknown key",
    ),
    (
        f"clusters:\n  prod:\n    {GOOD_EKS}\n    kubeconfig_context: staging\n",
        "clusters.prod",
        "exactly one of kubeconfig_context",
    ),
    ("clusters:\n  prod:\n    writes: false\n", "clusters.prod", "exactly one of kubeconfig_context"),
    ("clusters:\n  prod:\n    eks: {name: p, region: eu-west}\n", "clusters.prod.eks.region", "AWS region"),
    ("clusters:\n  prod:\n    eks: {name: p}\n", "clusters.prod.eks.region", "required"),
    (
        "clusters:\n  prod:\n    eks: {name: p, region: eu-west-1, role_arn: admin}\n",
        "clusters.prod.eks.role_arn",
        "IAM role ARN",
    ),
    (
        "clusters:\n  prod:\n    kubeconfig_context: prod\n",
        "clusters.prod.kubeconfig_context",
        "'prod' is not in",
    ),
    (f"default: dev\nclusters:\n  prod:\n    {GOOD_EKS}\n", "default", "expected the name of a cluster"),
    (
        f"clusters:\n  prod:\n    {GOOD_EKS}\n  staging:\n    kubeconfig_context: staging\n",
        "default",
        "required with several clusters",
    ),
    (f"clusters:\n  Prod:\n    {GOOD_EKS}\n", "clusters.Prod", "DNS-1123 label"),
    (f"clusters:\n  prod_eu:\n    {GOOD_EKS}\n", "clusters.prod_eu", "DNS-1123 label"),
    (f"clusters:\n  {'p' * 64}:\n    {GOOD_EKS}\n", f"clusters.{'p' * 64}", "DNS-1123 label"),
    (f"clusters:\n  prod:\n    {GOOD_EKS}\n  prod:\n    {GOOD_EKS}\n", "(file)", "duplicate key 'prod'"),
    (
        f"clusters:\n  prod:\n    {GOOD_EKS}\n    writes: maybe\n",
        "clusters.prod.writes",
        "expected true or false",
    ),
    (f"clusters:\n  prod:\n    {GOOD_EKS}\n    writes:\n", "clusters.prod.writes", "expected true or false"),
    (
        "default: a\nclusters:\n  a:\n    kubeconfig_context: staging\n  b:\n    kubeconfig_context: staging\n",
        "clusters.b.kubeconfig_context",
        "already clusters.a",
    ),
    (
        "default: dev\nclusters:\n  dev:\n    kubeconfig_context: staging\n  staging:\n    kubeconfig_context: dev\n",
        "clusters.dev.kubeconfig_context",
        "the name of another cluster",
    ),
    ("clusters: {}\n", "clusters", "at least 1"),
]


@pytest.mark.parametrize(("text", "key", "expected"), BAD_FILES)
def test_a_bad_file_is_one_line_naming_the_file_the_key_and_what_is_expected(
    tmp_path: Path, kube_file: Path, text: str, key: str, expected: str
) -> None:
    path = write(tmp_path, text)
    with pytest.raises(FleetError) as caught:
        load_fleet(path, [kube_file])
    message = str(caught.value)
    assert "\n" not in message
    assert message.startswith(f"CLUSTERS_FILE: {path}: {key}: ")
    assert expected in message
    assert caught.value.key == key
    assert isinstance(caught.value, ConfigError)  # the CLI prints ConfigErrors in one line and exits 2


def test_a_missing_context_lists_the_files_read_and_their_contexts(tmp_path: Path, kube_file: Path) -> None:
    path = write(tmp_path, "clusters:\n  prod:\n    kubeconfig_context: prod\n")
    with pytest.raises(FleetError, match=rf"not in {kube_file} \(contexts: dev, staging\)"):
        load_fleet(path, [kube_file])
    with pytest.raises(FleetError, match="no kubeconfig"):
        load_fleet(path, None)


def test_a_missing_file_is_named(tmp_path: Path) -> None:
    with pytest.raises(FleetError, match=r"clusters\.yaml: \(file\): cannot read it"):
        load_fleet(tmp_path / "clusters.yaml")


class TeamCluster(ClusterConfig):
    """A front end's cluster model: one key of its own and a cross-cluster rule for it."""

    team: str = "sre"

    @classmethod
    def check_fleet(cls, clusters: Mapping[str, ClusterConfig]) -> list[KeyProblem]:
        teams = [(n, c.team) for n, c in clusters.items() if isinstance(c, TeamCluster)]
        return [
            KeyProblem(f"clusters.{n}.team", "expected a team other than 'nobody'")
            for n, t in teams
            if t == "nobody"
        ]


def test_a_front_end_s_subclass_adds_its_keys_and_unknown_keys_are_still_refused(
    tmp_path: Path, kube_file: Path
) -> None:
    fleet = load_fleet(write(tmp_path, EXAMPLE + "    team: payments\n"), [kube_file], TeamCluster)
    assert isinstance(fleet.clusters["prod"], TeamCluster) and fleet.clusters["prod"].team == "payments"
    assert fleet.clusters["staging"].team == "sre" and fleet.clusters["staging"].writes is True
    path = write(tmp_path, EXAMPLE + "    teem: payments\n")
    with pytest.raises(FleetError, match=rf"^CLUSTERS_FILE: {path}: clusters\.prod\.teem: unknown key"):
        load_fleet(path, [kube_file], cluster_model=TeamCluster)
    with pytest.raises(FleetError, match=r": clusters\.prod\.team: unknown key"):
        load_fleet(write(tmp_path, EXAMPLE + "    team: payments\n"), [kube_file])  # the agents' model


def test_a_front_end_s_cross_cluster_check_is_one_line_naming_its_key(
    tmp_path: Path, kube_file: Path
) -> None:
    path = write(tmp_path, EXAMPLE + "    team: nobody\n")
    with pytest.raises(FleetError) as caught:
        load_fleet(path, [kube_file], TeamCluster)
    assert (
        str(caught.value) == f"CLUSTERS_FILE: {path}: clusters.prod.team: expected a team other than 'nobody'"
    )
    assert caught.value.key == "clusters.prod.team"


def test_without_a_file_today_s_settings_are_a_fleet_of_one() -> None:
    fleet = single_cluster_fleet("kind-sre", writes=True)
    assert fleet is not None
    assert fleet.names == ("kind-sre",) and fleet.default_cluster == "kind-sre"
    assert fleet.clusters["kind-sre"] == ClusterConfig(kubeconfig_context="kind-sre", writes=True)
    assert single_cluster_fleet("kind-sre", writes=False).clusters["kind-sre"].writes is False  # type: ignore[union-attr]


def test_the_fleet_of_one_sends_today_s_name_unchanged_whatever_its_shape() -> None:
    arn = "arn:aws:eks:eu-west-1:123456789012:cluster/Prod_EKS"
    fleet = single_cluster_fleet(arn, writes=False)
    assert fleet is not None and fleet.names == ("prod-eks",)
    assert check_call_cluster(fleet, "prod-eks", {}).args == {"cluster_name": arn}
    iam = single_cluster_fleet("prod", writes=False, mode="iam", region="eu-west-1")
    assert iam is not None and iam.clusters["prod"].mode == "iam" and iam.clusters["prod"].target == "prod"


def test_no_cluster_in_today_s_settings_means_no_fleet() -> None:
    assert single_cluster_fleet(None, writes=True) is None
    assert single_cluster_fleet("", writes=True) is None


# --- which cluster ---------------------------------------------------------------------------------


@pytest.fixture
def fleet(tmp_path: Path, kube_file: Path) -> Fleet:
    text = EXAMPLE + "  dev:\n    kubeconfig_context: dev\n"
    return fleet_of(text, tmp_path, kube_file)


@pytest.mark.parametrize(
    ("question", "clusters"),
    [
        ("why is checkout failing in prod?", ("prod",)),
        ("what runs on staging", ("staging",)),
        ("show prod's pods", ("prod",)),
        ("any restarts for prod", ("prod",)),
        ("is PROD healthy", ("prod",)),
        ("`prod` looks slow", ("prod",)),
        ("compare prod and staging", ("prod", "staging")),
        ("compare staging, prod and dev", ("staging", "prod", "dev")),
        ("staging vs prod, then staging again", ("staging", "prod")),
    ],
)
def test_clusters_named_in_the_question_win_in_order_of_mention(
    fleet: Fleet, question: str, clusters: tuple[str, ...]
) -> None:
    assert resolve(fleet, question, thread_cluster="dev", place_cluster="prod") == Resolution(
        clusters, "question"
    )


@pytest.mark.parametrize(
    "question",
    [
        "why is production slow",
        "the kube-prod cluster",
        "prod-eu is down",
        "prod_1 is down",
        "db.prod is unreachable",
        "see prod.example.com",
        "pods in the dev namespace",
        "pods in namespace dev",
        "kubectl get pods -n dev",
        "staginghouse",
    ],
)
def test_a_name_inside_another_word_or_used_as_a_namespace_is_not_a_mention(
    fleet: Fleet, question: str
) -> None:
    assert resolve(fleet, question, thread_cluster=None, place_cluster=None) == Resolution(
        ("staging",), "default"
    )


def test_the_flag_names_clusters_and_an_unknown_one_lists_the_known(fleet: Fleet) -> None:
    ask = "why is checkout failing on staging"
    assert resolve(fleet, f"--cluster prod {ask}", thread_cluster=None, place_cluster=None) == Resolution(
        ("prod",), "flag"
    )
    assert resolve(fleet, f"--cluster=DEV, {ask}", thread_cluster=None, place_cluster=None).clusters == (
        "dev",
    )
    unknown = resolve(fleet, f"--cluster qa {ask}", thread_cluster="dev", place_cluster="prod")
    assert unknown.clusters == () and unknown.source == "flag"
    assert (
        unknown.error
        == "There is no cluster 'qa' in this bot's fleet. Known clusters: staging (default), prod, dev."
    )
    with pytest.raises(ValueError, match="no cluster 'qa'"):
        _ = unknown.cluster


def test_flags_given_apart_from_the_text_are_the_same_flag(fleet: Fleet) -> None:
    """A front end's own --cluster option: first in the order, case-insensitive, merged with the text's."""
    ask = "why is checkout failing on staging"
    flagged = resolve(fleet, ask, thread_cluster="dev", place_cluster="dev", flagged=["Prod"])
    assert flagged == Resolution(("prod",), "flag")
    both = resolve(fleet, f"--cluster dev {ask}", thread_cluster=None, place_cluster=None, flagged=["prod"])
    assert both == Resolution(("prod", "dev"), "flag")
    unknown = resolve(fleet, ask, thread_cluster=None, place_cluster=None, flagged=["prod", "qa"])
    assert unknown.clusters == () and unknown.error is not None and "no cluster 'qa'" in unknown.error
    assert flag_resolution(fleet, []) is None
    nobody = flag_resolution(None, ["prod"])  # the settings name no cluster: every name is unknown
    assert nobody is not None and nobody.error is not None
    assert nobody.error.startswith("There is no cluster 'prod' in this bot's fleet. Known clusters: none (")


def test_then_the_thread_then_the_place_then_the_default(fleet: Fleet) -> None:
    ask = "why is checkout failing?"
    assert resolve(fleet, ask, thread_cluster="dev", place_cluster="prod") == Resolution(("dev",), "thread")
    assert resolve(fleet, ask, thread_cluster=None, place_cluster="prod") == Resolution(("prod",), "place")
    assert resolve(fleet, ask, thread_cluster=None, place_cluster=None) == Resolution(("staging",), "default")
    # A thread's or place's cluster the file no longer has falls through, never outside the fleet.
    assert resolve(fleet, ask, thread_cluster="gone", place_cluster=None) == Resolution(
        ("staging",), "default"
    )
    assert resolve(fleet, ask, thread_cluster=None, place_cluster="gone") == Resolution(
        ("staging",), "default"
    )
    assert resolve(fleet, ask, thread_cluster="gone", place_cluster="prod") == Resolution(("prod",), "place")


NAMES = st.from_regex(r"[a-z][a-z0-9]{0,5}(-[a-z0-9]{1,3})?", fullmatch=True)


@st.composite
def fleets(draw: st.DrawFn) -> Fleet:
    names = draw(st.lists(NAMES, min_size=1, max_size=4, unique=True))
    # Contexts with "_" are never DNS labels, so never another cluster's name.
    clusters = {name: ClusterConfig(kubeconfig_context=f"ctx_{name}") for name in names}
    return Fleet[ClusterConfig](default=draw(st.sampled_from(names)), clusters=clusters)


@given(data=st.data(), fleet=fleets())
def test_resolution_never_leaves_the_fleet(data: st.DataObject, fleet: Fleet) -> None:
    words = st.one_of(
        st.sampled_from([*fleet.names, "--cluster", "--cluster=", "in", "namespace", "production", "-n"]),
        st.text(max_size=8),
    )
    text = " ".join(data.draw(st.lists(words, max_size=8)))
    thread = data.draw(st.one_of(st.none(), st.sampled_from(fleet.names), st.text(max_size=6)))
    place = data.draw(st.one_of(st.none(), st.sampled_from(fleet.names), st.text(max_size=4)))
    resolution = resolve(fleet, text, thread_cluster=thread, place_cluster=place)
    if resolution.error is None:
        assert resolution.clusters and set(resolution.clusters) <= set(fleet.names)
        assert len(set(resolution.clusters)) == len(resolution.clusters)
    else:
        assert resolution.clusters == () and all(name in resolution.error for name in fleet.names)


# One of each kind of character that continues a word: "-", "_", a lowercase and an uppercase letter, a digit.
JOINS = st.text(st.sampled_from("-_aZ7"), min_size=1, max_size=3)


@given(data=st.data(), fleet=fleets())
def test_a_name_embedded_in_another_word_never_matches(data: st.DataObject, fleet: Fleet) -> None:
    name = data.draw(st.sampled_from(fleet.names))
    side = data.draw(st.sampled_from(["before", "after", "both"]))
    before = data.draw(JOINS) if side != "after" else ""
    after = data.draw(JOINS) if side != "before" else ""
    word = f"{before}{name}{after}"
    assume(word.lower() not in fleet.clusters)
    text = f"why is {word} failing"
    assume(name not in ("why", "is", "failing"))
    assert name not in mentioned(fleet, text)
    assert resolve(fleet, text, thread_cluster=None, place_cluster=None).source != "question"


@given(data=st.data(), fleet=fleets())
def test_a_name_between_spaces_or_punctuation_always_matches(data: st.DataObject, fleet: Fleet) -> None:
    name = data.draw(st.sampled_from(fleet.names))
    before = data.draw(st.sampled_from(["", " ", "(", "`", '"', "'"]))
    after = data.draw(st.sampled_from(["", " ", "?", "'s", ",", ".", ")", "`", ". Then"]))
    text = f"is{' ' if before != ' ' else ''}{before}{name.upper()}{after} ok"
    assert name in resolve(fleet, text, thread_cluster=None, place_cluster=None).clusters


# --- a tool call's cluster -------------------------------------------------------------------------


def test_a_call_without_cluster_name_gets_the_resolved_cluster_s_server_name(fleet: Fleet) -> None:
    args = {"namespace": "shop"}
    bound = check_call_cluster(
        fleet, resolve(fleet, "in prod", thread_cluster=None, place_cluster=None), args
    )
    assert bound.args == {"namespace": "shop", "cluster_name": "prod-eks"} and bound.cluster == "prod"
    assert args == {"namespace": "shop"}  # the model's arguments are not changed in place
    assert check_call_cluster(fleet, "staging", {"cluster_name": ""}).args == {"cluster_name": "staging"}


@pytest.mark.parametrize("given_name", ["prod", "PROD", "prod-eks", " prod "])
def test_the_fleet_name_or_the_server_name_both_bind_to_the_cluster(fleet: Fleet, given_name: str) -> None:
    bound = check_call_cluster(fleet, "prod", {"cluster_name": given_name})
    assert bound.args == {"cluster_name": "prod-eks"} and bound.cluster == "prod"


@pytest.mark.parametrize("given_name", ["qa", "production", 7, ["prod"], "arn:aws:eks:x:1:cluster/other"])
def test_a_cluster_outside_the_fleet_is_refused_with_the_known_ones(fleet: Fleet, given_name: object) -> None:
    with pytest.raises(ClusterRefused) as caught:
        check_call_cluster(fleet, "prod", {"cluster_name": given_name})
    assert isinstance(caught.value, ValueError)
    assert "not a cluster of this bot's fleet. Known clusters: staging (default), prod, dev." in str(
        caught.value
    )
    assert "Pass cluster_name='prod-eks' for prod." in str(caught.value)


def test_a_cluster_of_the_fleet_the_question_is_not_about_is_refused(fleet: Fleet) -> None:
    with pytest.raises(
        ClusterRefused, match="This question is about staging, not prod: pass cluster_name='staging'"
    ):
        check_call_cluster(fleet, "staging", {"cluster_name": "prod-eks", "operation": "delete"})


def test_a_question_about_several_clusters_needs_the_call_to_say_which(fleet: Fleet) -> None:
    both = resolve(fleet, "compare prod and staging", thread_cluster=None, place_cluster=None)
    with pytest.raises(ClusterRefused, match=r"several clusters \(prod, staging\): pass cluster_name"):
        check_call_cluster(fleet, both, {})
    assert check_call_cluster(fleet, both, {"cluster_name": "staging"}).cluster == "staging"
    with pytest.raises(ClusterRefused, match="not dev"):
        check_call_cluster(fleet, both, {"cluster_name": "dev"})


def test_a_tool_without_cluster_name_keeps_its_arguments_and_still_has_a_policy(fleet: Fleet) -> None:
    bound = check_call_cluster(fleet, "prod", {"query": "pod pending"}, takes_cluster_name=False)
    assert bound.args == {"query": "pod pending"} and bound.cluster == "prod"


def test_an_error_or_stale_resolution_binds_nothing(fleet: Fleet) -> None:
    unknown = resolve(fleet, "--cluster qa hi", thread_cluster=None, place_cluster=None)
    with pytest.raises(ClusterRefused, match="no cluster 'qa'"):
        check_call_cluster(fleet, unknown, {})
    with pytest.raises(ClusterRefused, match="'gone' is not a cluster"):
        check_call_cluster(fleet, "gone", {"cluster_name": "prod"})
