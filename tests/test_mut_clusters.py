"""The cluster binding (agents/gate/clusters.py) on its own: each rule pinned, so mutation testing of it
does not depend on the slow end-to-end fleet tests (tests/test_fleet_e2e.py keeps those)."""

from __future__ import annotations

from typing import Any

import pytest

from agents.fleet import ClusterConfig, ClusterRefused, Fleet, Resolution
from agents.fleet.scope import CLUSTER_SCOPE, ClusterScope
from agents.gate import clusters
from agents.gate.clusters import Bound, bind_call, read_only_cluster, writes_allowed

EKS = {"server": "eks", "parameters": ("cluster_name", "kind", "name")}
ACCOUNT_WIDE = {"server": "eks", "parameters": ("role_name", "policy_name")}  # add_inline_policy
BILLING = {"server": "billing", "parameters": ("start_date",)}


def fleet(**writes: bool) -> Fleet[ClusterConfig]:
    return Fleet[ClusterConfig](
        default=next(iter(writes)),
        clusters={n: ClusterConfig(kubeconfig_context=f"ctx-{n}", writes=w) for n, w in writes.items()},
    )


def state(*names: str, bind: bool = True) -> dict[str, Any]:
    return {CLUSTER_SCOPE: ClusterScope(Resolution(names, "question"), bind=bind)}


FLEET = fleet(staging=True, prod=False)


def test_without_a_fleet_nothing_is_bound() -> None:
    args = {"cluster_name": "anything"}
    assert bind_call(None, state("staging"), args, EKS) == Bound(args, None)


def test_a_call_is_filled_translated_or_refused_against_the_question() -> None:
    assert bind_call(FLEET, state("staging"), {"kind": "Pod"}, EKS) == Bound(
        {"kind": "Pod", "cluster_name": "ctx-staging"}, "staging"
    )
    assert bind_call(FLEET, state("staging"), {"cluster_name": "staging"}, EKS) == Bound(
        {"cluster_name": "ctx-staging"}, "staging"
    )
    with pytest.raises(ClusterRefused, match="prod"):  # in the fleet, not in the question
        bind_call(FLEET, state("staging"), {"cluster_name": "ctx-prod"}, EKS)
    with pytest.raises(ClusterRefused, match="not a cluster of this bot's fleet"):
        bind_call(FLEET, state("staging"), {"cluster_name": "ctx-elsewhere"}, EKS)


def test_without_a_scope_binding_refuses_every_cluster_tool() -> None:
    message = "no cluster was resolved for this request, so no cluster tool may run"
    for no_scope in ({}, state("staging", bind=False)):
        with pytest.raises(ClusterRefused) as refused:
            bind_call(FLEET, no_scope, {"kind": "Pod"}, EKS)
        assert str(refused.value) == message
        with pytest.raises(ClusterRefused, match=message):  # its capability declares none, the tool has one
            bind_call(FLEET, no_scope, {}, {"server": "billing", "parameters": ("cluster_name",)})
        args = {"start_date": "2026-11-01"}
        bound = bind_call(FLEET, no_scope, args, BILLING)
        assert bound == Bound(args, None) and bound.args is args


def test_a_cluster_argument_its_capability_does_not_declare_is_refused() -> None:
    with pytest.raises(ClusterRefused) as refused:
        bind_call(
            FLEET,
            state("staging"),
            {"cluster_name": "ctx-prod"},
            {"server": "billing", "parameters": ("cluster_name",)},
        )
    assert str(refused.value) == "this tool's cluster_name cannot be bound to the question's clusters"
    args = {"start_date": "2026-11-01"}
    assert bind_call(FLEET, state("staging"), args, BILLING) == Bound(args, None)


def test_an_account_wide_tool_is_about_no_cluster() -> None:
    args = {"role_name": "node-role", "policy_name": "p"}
    bound = bind_call(FLEET, state("staging"), args, ACCOUNT_WIDE)
    assert bound == Bound(args, None) and "cluster_name" not in bound.args


def test_only_the_fleets_own_cluster_argument_can_be_bound(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(clusters, "cluster_argument", lambda server: "context")
    with pytest.raises(ClusterRefused) as refused:
        bind_call(FLEET, state("staging"), {"context": "x"}, {"server": "eks", "parameters": ("context",)})
    assert str(refused.value) == "cannot bind the cluster argument 'context' of this tool"


ONE = fleet(k3s=True)


def test_the_fleet_of_one_records_the_cluster_only_when_the_call_names_it() -> None:
    one = state("k3s", bind=False)
    named = {"cluster_name": "ctx-k3s"}
    assert bind_call(ONE, one, named, EKS, bind=False) == Bound(named, "k3s")
    other = {"cluster_name": "ctx-other"}  # any context of the kubeconfig, as before: unchanged, unrecorded
    bound = bind_call(ONE, one, other, EKS, bind=False)
    assert bound == Bound(other, None) and bound.args is other
    assert bind_call(ONE, one, {}, EKS, bind=False) == Bound({}, None)
    assert bind_call(ONE, one, named, ACCOUNT_WIDE, bind=False) == Bound(named, None)
    assert bind_call(ONE, {}, named, EKS, bind=False) == Bound(named, None)
    assert bind_call(ONE, state(bind=False), named, EKS, bind=False) == Bound(named, None)
    assert bind_call(fleet(other=True), one, named, EKS, bind=False) == Bound(named, None)  # not its cluster


def test_writes_follow_the_clusters_policy_and_fail_closed() -> None:
    scope = ClusterScope(Resolution(("staging",), "question"))
    assert writes_allowed(None, None, None) is True
    assert writes_allowed(FLEET, None, "staging", bind=False) is True  # the fleet of one: the settings decide
    assert writes_allowed(FLEET, None, "staging") is False  # binding on, no scope
    assert (
        writes_allowed(FLEET, ClusterScope(Resolution(("staging",), "question"), bind=False), "staging")
        is False
    )
    assert writes_allowed(FLEET, scope, "staging") is True
    assert writes_allowed(FLEET, scope, "prod") is False
    assert writes_allowed(FLEET, scope, "elsewhere") is False
    assert writes_allowed(FLEET, scope, None) is False  # about no cluster: every one must be writable
    assert writes_allowed(fleet(a=True, b=True), scope, None) is True


def test_the_refusal_says_which_clusters_are_read_only_and_how_to_open_them() -> None:
    assert read_only_cluster("prod", FLEET) == (
        "Not executed: cluster prod is read-only in this bot's fleet, so nothing was changed and no approval "
        "was asked for. An operator can allow changes there with `clusters.prod.writes: true` in CLUSTERS_FILE "
        "(each change then still needs a person's approval)."
    )
    assert read_only_cluster(None, fleet(a=False, b=True, c=False)) == (
        "Not executed: this change is not about one cluster, and cluster a, c is read-only in this bot's fleet, "
        "so nothing was changed and no approval was asked for. An operator can allow changes there with "
        "`clusters.a.writes: true and clusters.c.writes: true` in CLUSTERS_FILE (each change then still needs "
        "a person's approval)."
    )
    assert "cluster a is read-only" in read_only_cluster("a", fleet(a=False, b=True, c=False))  # only its own
    nothing = "Not executed: no cluster was resolved for this request, so nothing was changed. Tell the user."
    assert read_only_cluster(None, fleet(a=True)) == nothing
    assert read_only_cluster(None, None) == nothing
