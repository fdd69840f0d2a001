"""The Slack keys of the fleet file: who approves writes on a cluster, and in which channels it is the default.

They live here, not in `agents/fleet`, because user and channel ids are Slack's: the agents validate the
keys every front end shares, and `load_fleet(path, kubeconfig, SlackClusterConfig)` adds these. Unknown
keys are still refused in one line (`extra="forbid"` is inherited), and so is a channel under two
clusters (`check_fleet`, which fleet validation calls).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from pydantic import field_validator

from agents.fleet import ClusterConfig, Fleet, KeyProblem
from slackbot.safe_text import USER_ID

CHANNEL_ID = re.compile(r"[CGD][A-Z0-9]+")


class SlackClusterConfig(ClusterConfig):
    """A cluster of the fleet with the Slack front end's keys.

    `approvers`: the Slack users who decide its writes (empty: APPROVER_USER_IDS / APPROVER_USERGROUP).
    `channels`: the channels where it is the default, so a question there needs no cluster name.
    `alert_channel`: where its alerts' threads go (None: ALERT_CHANNEL).
    """

    approvers: tuple[str, ...] = ()
    channels: tuple[str, ...] = ()
    alert_channel: str | None = None

    @field_validator("approvers")
    @classmethod
    def _approvers_shape(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        return _ids(value, USER_ID, "Slack user ids such as U0123ABCD")

    @field_validator("channels")
    @classmethod
    def _channels_shape(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        return _ids(value, CHANNEL_ID, "channel ids such as C0123ABCD (not #names)")

    @field_validator("alert_channel")
    @classmethod
    def _alert_channel_shape(cls, value: str | None) -> str | None:
        return (
            _ids((value,), CHANNEL_ID, "a channel id such as C0123ABCD (not a #name)")[0] if value else value
        )

    @classmethod
    def check_fleet(cls, clusters: Mapping[str, ClusterConfig]) -> list[KeyProblem]:
        """A channel belongs to one cluster, or a question there would have two defaults."""
        owner: dict[str, str] = {}
        for name, cluster in clusters.items():
            for channel in cluster.channels if isinstance(cluster, SlackClusterConfig) else ():
                if channel in owner and owner[channel] != name:
                    return [
                        KeyProblem(
                            f"clusters.{name}.channels",
                            f"channel {channel} is already bound to clusters.{owner[channel]}: "
                            "expected each channel under one cluster",
                        )
                    ]
                owner[channel] = name
        return []


def _ids(values: tuple[str, ...], pattern: re.Pattern[str], expected: str) -> tuple[str, ...]:
    for value in values:
        if not pattern.fullmatch(value):
            raise ValueError(f"expected {expected}; {value!r} is not one")
    return values


def channel_cluster(fleet: Fleet[Any], channel: str | None) -> str | None:
    """The cluster the file binds to `channel` (validated: at most one), for `resolve`'s `place_cluster`.

    A fleet read without the Slack keys (today's fleet of one) binds no channel.
    """
    if not channel:
        return None
    return next(
        (
            name
            for name, cluster in fleet.clusters.items()
            if isinstance(cluster, SlackClusterConfig) and channel in cluster.channels
        ),
        None,
    )
