"""Which channel an alert's thread goes to, and which fleet cluster its investigation is about.

The alert's `cluster` label (a CloudWatch alarm's ClusterName dimension) names the cluster as the fleet
does or as its server does (an EKS cluster name, a kubeconfig context); the cluster's `alert_channel`
in CLUSTERS_FILE wins over ALERT_CHANNEL. An alert naming no cluster the bot knows is about the cluster
of the channel it lands in, else the fleet's default: always one the bot knows, never one an annotation
names.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from agents.fleet import Fleet
from slackbot.alerts.model import Notification
from slackbot.fleet import SlackClusterConfig, channel_cluster


@dataclass(frozen=True)
class Route:
    """Where an alert goes: its channel, and the fleet cluster it is about (None: the bot's only one)."""

    channel: str
    cluster: str | None


def fleet_cluster(fleet: Fleet[Any], named: str) -> str | None:
    """The fleet's name for the cluster an alert names (by fleet name or by target), or None."""
    wanted = named.strip()
    if not wanted:
        return None
    for name, cluster in fleet.clusters.items():
        if wanted.lower() == name or wanted == cluster.target:
            return name
    return None


def router(fleet: Fleet[Any] | None, default_channel: str) -> Callable[[Notification], Route]:
    def route(notification: Notification) -> Route:
        if fleet is None:
            return Route(default_channel, None)
        cluster = fleet_cluster(fleet, notification.cluster)
        config = fleet.clusters.get(cluster) if cluster else None
        own = config.alert_channel if isinstance(config, SlackClusterConfig) else None
        channel = own or default_channel
        return Route(channel, cluster or channel_cluster(fleet, channel) or fleet.default_cluster)

    return route
