"""Who may decide on a change in Slack: the approvers of the change's cluster when the fleet file lists
some (`clusters.<name>.approvers`), else a listed approver or a member of the approver group; and not
the requester when REQUIRE_SEPARATE_APPROVER is set.

The group is looked up at each decision, not cached: someone just removed from it cannot approve. A
group that cannot be read refuses the click with the reason (a missing scope, a wrong id), never allows it.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from agents.fleet import Fleet
from slackbot.config import ApproverSettings
from slackbot.fleet import SlackClusterConfig
from slackbot.rate_budget import RateBudget
from slackbot.safe_text import escape_mrkdwn, mention
from slackbot.slack_errors import slack_error

logger = logging.getLogger(__name__)

NOT_AN_APPROVER = (
    "Only configured approvers can decide on changes (APPROVER_USER_IDS / APPROVER_USERGROUP). "
    "Nothing was changed."
)
SELF_APPROVAL = (
    "You asked for this change, so another approver must decide (REQUIRE_SEPARATE_APPROVER). "
    "Nothing was changed."
)


@dataclass(frozen=True)
class Refusal:
    """Why a user may not decide: `reason` for the audit log, `message` for the user."""

    reason: str
    message: str


class Approvers:
    def __init__(
        self,
        settings: ApproverSettings,
        client: AsyncWebClient,
        budget: RateBudget,
        fleet: Fleet[Any] | None = None,
    ) -> None:
        self.settings = settings
        self.client = client
        self.budget = budget
        self.fleet = fleet  # the clusters whose own `approvers` replace the settings-wide ones

    def cluster_approvers(self, cluster: str | None) -> tuple[str, ...] | Refusal:
        """The cluster's own approvers (empty: the settings' decide), or a refusal for a cluster the
        fleet no longer has (its approvers cannot be known, so nobody may decide: fail closed)."""
        if cluster is None or self.fleet is None:
            return ()
        config = self.fleet.clusters.get(cluster)
        if config is None:
            return Refusal(
                "unknown_cluster",
                f"This change is for cluster {escape_mrkdwn(cluster)}, which this bot's fleet no longer has, "
                "so nobody can approve it. Nothing was changed.",
            )
        return config.approvers if isinstance(config, SlackClusterConfig) else ()

    async def may_approve(self, user: str) -> bool | str:
        """True if `user` may decide; False if not; a reason string if the group could not be read."""
        if user in self.settings.approvers:
            return True
        group = self.settings.approver_usergroup
        if not group:
            return False
        try:
            await self.budget.take("usergroups.users.list")
            response = await self.client.usergroups_users_list(usergroup=group)
        except SlackApiError as exc:
            error = slack_error(exc)
            logger.error("cannot read approver group %s: %s", group, error)
            return (
                f"I could not read the approver group {group} (Slack said `{error}`; the app needs the "
                "usergroups:read scope and APPROVER_USERGROUP must be the group's id). Nothing was changed."
            )
        return user in set(response.get("users") or [])

    async def refusal(self, user: str, requester: str, cluster: str | None = None) -> Refusal | None:
        """None if `user` may decide on `requester`'s change to `cluster` (a fleet name); else why not."""
        own = self.cluster_approvers(cluster)
        if isinstance(own, Refusal):
            return own
        if own and user not in own:  # the cluster's approvers alone: a settings-wide approver is not one
            who = ", ".join(mention(u) for u in own)
            return Refusal(
                "not_a_cluster_approver",
                f"Only the approvers of cluster {escape_mrkdwn(str(cluster))} ({who}) can decide on its changes "
                f"(clusters.{escape_mrkdwn(str(cluster))}.approvers in CLUSTERS_FILE). Nothing was changed.",
            )
        allowed = True if own else await self.may_approve(user)
        if isinstance(allowed, str):
            return Refusal("group_unreadable", allowed)
        if not allowed:
            return Refusal("not_an_approver", NOT_AN_APPROVER)
        if self.settings.require_separate_approver and user == requester:
            return Refusal("self_approval", SELF_APPROVAL)
        return None
