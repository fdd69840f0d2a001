"""Who may decide on a change in Slack: a listed approver or a member of the approver group, and not the
requester when REQUIRE_SEPARATE_APPROVER is set.

The group is looked up at each decision, not cached: someone just removed from it cannot approve. A
group that cannot be read refuses the click with the reason (a missing scope, a wrong id), never allows it.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from slackbot.config import ApproverSettings
from slackbot.rate_budget import RateBudget
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
    def __init__(self, settings: ApproverSettings, client: AsyncWebClient, budget: RateBudget) -> None:
        self.settings = settings
        self.client = client
        self.budget = budget

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

    async def refusal(self, user: str, requester: str) -> Refusal | None:
        """None if `user` may decide on `requester`'s change; else why not."""
        allowed = await self.may_approve(user)
        if isinstance(allowed, str):
            return Refusal("group_unreadable", allowed)
        if not allowed:
            return Refusal("not_an_approver", NOT_AN_APPROVER)
        if self.settings.require_separate_approver and user == requester:
            return Refusal("self_approval", SELF_APPROVAL)
        return None
