"""The fleet as Slack shows it: `/k8s clusters`' lines, the help's default cluster, `/k8s use`'s words.

Pure text from the fleet and the settings, so every wording is tested without Slack. A cluster changes
only with both its `writes: true` (CLUSTERS_FILE) and EKS_MCP_ALLOW_WRITE, and only if someone can
approve: a read-only cluster says which of these is missing. Names and targets come from the operator's
file, a cluster name a user typed and a server's error from outside: all are escaped.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from agents.fleet import Fleet, Reach
from agents.fleet.resolve import TRAILING
from slackbot.fleet import SlackClusterConfig, channel_cluster
from slackbot.safe_text import escape_mrkdwn, inline_code

# `use prod` (a mention's or a DM's whole text, or /k8s use's): the one word after `use` is the name.
USE = re.compile(r"use\s+(?P<name>\S+)", re.IGNORECASE)
NAME_CHARS = 63  # a fleet name is a DNS label: longer typed text is shown cut, never in full
NO_CLUSTER = (
    "No cluster is configured: set CLUSTERS_FILE (many clusters), or DEFAULT_CLUSTER / a kubeconfig "
    "current-context (one)."
)
DOCTOR = "`sre-bot doctor` checks each one"


def use_request(text: str) -> str | None:
    """The cluster named by a message that is exactly `use <name>` (lower case, prose punctuation off)."""
    match = USE.fullmatch(text.strip())
    return match.group("name").strip(TRAILING).lower() if match else None


@dataclass(frozen=True)
class FleetView:
    """The fleet and the settings that decide what each cluster allows.

    `from_file`: CLUSTERS_FILE (else the fleet of one today's settings imply, or None without a cluster).
    `allow_write`: EKS_MCP_ALLOW_WRITE. `approvers`: APPROVER_USER_IDS / APPROVER_USERGROUP are set.
    """

    fleet: Fleet[Any] | None
    from_file: bool
    allow_write: bool
    approvers: bool

    def default_for(self, channel: str | None) -> tuple[str, bool] | None:
        """The cluster a question in `channel` is about when it names none, and whether the file binds
        it to the channel (else it is the fleet's default)."""
        if self.fleet is None:
            return None
        bound = channel_cluster(self.fleet, channel)
        return (bound, True) if bound is not None else (self.fleet.default_cluster, False)

    def known(self, name: str) -> bool:
        return self.fleet is not None and name in self.fleet.clusters

    def mode(self, name: str) -> str:
        """How the bot reaches `name`: a kubeconfig context, or an EKS cluster in a region (and a role)."""
        assert self.fleet is not None
        cluster = self.fleet.clusters[name]
        if cluster.eks is None:
            return f"kubeconfig context {inline_code(cluster.target)}"
        role = f" as role {inline_code(cluster.eks.role_arn)}" if cluster.eks.role_arn else ""
        return f"EKS {inline_code(cluster.eks.name)} in {escape_mrkdwn(cluster.eks.region)}{role}"

    def writes(self, name: str) -> str:
        """Whether `name` can change, and when it cannot, what is missing."""
        assert self.fleet is not None
        cluster = self.fleet.clusters[name]
        missing = []
        if self.from_file and not cluster.writes:
            missing.append(f"`writes: true` under clusters.{escape_mrkdwn(name)} in CLUSTERS_FILE")
        if not self.allow_write:
            missing.append("EKS_MCP_ALLOW_WRITE=true")
        if missing:
            return f"read-only (changes need {' and '.join(missing)})"
        own = isinstance(cluster, SlackClusterConfig) and bool(cluster.approvers)
        if not (own or self.approvers):
            return (
                "changes enabled, but nobody can approve them "
                "(set APPROVER_USER_IDS / APPROVER_USERGROUP, or the cluster's `approvers`)"
            )
        return "changes with approval"

    def listing(self, channel: str | None, reach: Mapping[str, Reach]) -> str:
        """`/k8s clusters`: one line per cluster (mode, writes, reachable, default here)."""
        if self.fleet is None:
            return NO_CLUSTER
        here = self.default_for(channel)
        source = (
            "CLUSTERS_FILE"
            if self.from_file
            else "the one cluster today's settings name; CLUSTERS_FILE adds more"
        )
        lines = [f"*Clusters* ({source}):"]
        for name in self.fleet.clusters:
            parts = [self.mode(name), self.writes(name), reachable(reach.get(name))]
            if here is not None and here[0] == name:
                parts.append("*default in this channel*" + (" (the file binds it here)" if here[1] else ""))
            elif self.fleet.default_cluster == name:
                parts.append("the fleet's default")
            lines.append(f"• {inline_code(name)}: {' · '.join(parts)}")
        if self.from_file:
            lines.append(
                "Name a cluster in a question (`in prod`, `--cluster prod`), or keep a thread on one with "
                "`/k8s use <cluster>`."
            )
        return "\n".join(lines)

    def unknown(self, typed: str) -> str:
        """The answer to a cluster name the fleet does not have: the ones it has."""
        if self.fleet is None:
            return NO_CLUSTER
        shown = inline_code(typed[:NAME_CHARS] or "(nothing)")
        known = escape_mrkdwn(self.fleet.known())
        return f"There is no cluster {shown} in this bot's fleet. Known clusters: {known}."

    def only_one(self, name: str) -> str:
        """`use` without a fleet file: there is nothing to choose."""
        return (
            f"This bot knows one cluster, {inline_code(name)}: every question is about it already "
            "(CLUSTERS_FILE adds more)."
        )

    def thread_about(self, name: str) -> str:
        """What a thread whose cluster was set is about."""
        about = f"*{escape_mrkdwn(name)}* ({self.mode(name)}; {self.writes(name)})"
        return f"Questions in this thread are about {about}."


def reachable(reach: Reach | None) -> str:
    if reach is None or reach.ok is None:
        why = f" ({escape_mrkdwn(reach.detail)})" if reach is not None and reach.detail else ""
        return f"reachable: unknown{why}; {DOCTOR}"
    if reach.ok:
        return "reachable"
    return f"not reachable: {inline_code(reach.detail)}"
