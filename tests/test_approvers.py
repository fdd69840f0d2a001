"""Who may decide on a change in Slack (slackbot/approvals/approvers.py), with Slack faked at the network
edge: a real AsyncWebClient talks HTTP to tests/fakes/slack_api.py's FakeSlack, which answers
usergroups.users.list from its `usergroups` and records every call."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any

import pytest
from slack_sdk.web.async_client import AsyncWebClient

from slackbot.approvals.approvers import NOT_AN_APPROVER, SELF_APPROVAL, Approvers, Refusal
from slackbot.config import ApproverSettings
from slackbot.rate_budget import RateBudget
from tests.fakes.slack_api import BOT_TOKEN, FakeSlack

LOGGER = "slackbot.approvals.approvers"


@pytest.fixture
def slack() -> Iterator[FakeSlack]:
    with FakeSlack() as fake:
        yield fake


def approvers(slack: FakeSlack, **settings: Any) -> Approvers:
    client = AsyncWebClient(token=BOT_TOKEN, base_url=slack.api_url, timeout=10)
    return Approvers(ApproverSettings(_env_file=None, **settings), client, RateBudget())  # type: ignore[call-arg]


def lookups(slack: FakeSlack) -> list[dict[str, Any]]:
    return [call.params for call in slack.calls_of("usergroups.users.list")]


async def test_a_listed_approver_may_decide_without_any_lookup(slack: FakeSlack) -> None:
    desk = approvers(slack, approver_user_ids="U2,U3", approver_usergroup="S0ONCALL")
    assert await desk.refusal("U3", requester="U1") is None
    assert slack.calls == []


async def test_without_a_group_only_listed_approvers_may_decide(slack: FakeSlack) -> None:
    desk = approvers(slack, approver_user_ids="U2,U3")
    refused = Refusal("not_an_approver", NOT_AN_APPROVER)
    assert await desk.refusal("U9", requester="U1") == refused
    assert await desk.refusal("", requester="U1") == refused
    assert NOT_AN_APPROVER == (
        "Only configured approvers can decide on changes (APPROVER_USER_IDS / APPROVER_USERGROUP). "
        "Nothing was changed."
    )
    assert slack.calls == []


async def test_members_of_the_group_may_decide_and_it_is_looked_up_at_each_decision(slack: FakeSlack) -> None:
    slack.usergroups["S0ONCALL"] = ["U8", "U9"]
    desk = approvers(slack, approver_usergroup="S0ONCALL")
    assert await desk.refusal("U9", requester="U1") is None
    assert await desk.refusal("U7", requester="U1") == Refusal("not_an_approver", NOT_AN_APPROVER)
    slack.usergroups["S0ONCALL"] = ["U8"]  # U9 just left the on-call group
    assert await desk.refusal("U9", requester="U1") == Refusal("not_an_approver", NOT_AN_APPROVER)
    assert lookups(slack) == [{"usergroup": "S0ONCALL"}] * 3


async def test_a_group_without_members_lets_nobody_decide(slack: FakeSlack) -> None:
    slack.usergroups["S0EMPTY"] = []
    desk = approvers(slack, approver_usergroup="S0EMPTY")
    assert await desk.may_approve("U9") is False


@pytest.mark.parametrize("error", ["no_such_subteam", "missing_scope"])
async def test_a_group_that_cannot_be_read_refuses_with_the_reason_and_logs_it(
    slack: FakeSlack, caplog: pytest.LogCaptureFixture, error: str
) -> None:
    if error == "missing_scope":
        slack.usergroups["S0ONCALL"] = ["U9"]
        slack.fail_next("usergroups.users.list", status=200, error=error)
    desk = approvers(slack, approver_usergroup="S0ONCALL")
    with caplog.at_level(logging.ERROR, logger=LOGGER):
        refusal = await desk.refusal("U9", requester="U1")
    assert refusal == Refusal(
        "group_unreadable",
        f"I could not read the approver group S0ONCALL (Slack said `{error}`; the app needs the "
        "usergroups:read scope and APPROVER_USERGROUP must be the group's id). Nothing was changed.",
    )
    assert caplog.record_tuples == [(LOGGER, logging.ERROR, f"cannot read approver group S0ONCALL: {error}")]


async def test_with_separate_approvers_required_nobody_decides_on_their_own_request(slack: FakeSlack) -> None:
    slack.usergroups["S0ONCALL"] = ["U9"]
    desk = approvers(
        slack, approver_user_ids="U2,U3", approver_usergroup="S0ONCALL", require_separate_approver=True
    )
    assert await desk.refusal("U2", requester="U2") == Refusal("self_approval", SELF_APPROVAL)
    assert await desk.refusal("U9", requester="U9") == Refusal("self_approval", SELF_APPROVAL)
    assert await desk.refusal("U3", requester="U2") is None
    assert SELF_APPROVAL == (
        "You asked for this change, so another approver must decide (REQUIRE_SEPARATE_APPROVER). "
        "Nothing was changed."
    )


async def test_someone_who_is_no_approver_is_told_so_even_on_their_own_request(slack: FakeSlack) -> None:
    desk = approvers(slack, approver_user_ids="U2", require_separate_approver=True)
    assert await desk.refusal("U7", requester="U7") == Refusal("not_an_approver", NOT_AN_APPROVER)


async def test_without_separate_approvers_required_the_requester_may_decide(slack: FakeSlack) -> None:
    desk = approvers(slack, approver_user_ids="U2")
    assert await desk.refusal("U2", requester="U2") is None


async def test_each_group_lookup_takes_a_token_of_its_budget(slack: FakeSlack) -> None:
    slack.usergroups["S0ONCALL"] = ["U9"]
    desk = approvers(slack, approver_usergroup="S0ONCALL")
    await desk.refusal("U9", requester="U1")
    await desk.refusal("U9", requester="U1")
    assert desk.budget.granted["usergroups.users.list"] == 2
