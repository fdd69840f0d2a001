"""AWS cost: `finops_assistant` over the awslabs billing-cost-management MCP server (a pinned install)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

from agents.capabilities.base import ASK_AGAIN, INSTALL_HINT, TELL_ADMIN, Capability
from agents.mcp.output import UNTRUSTED_RULE
from agents.mcp.servers import ServerSpec, child_env

if TYPE_CHECKING:
    from agents.settings import Settings

EXECUTABLE = "awslabs.billing-cost-management-mcp-server"

# Of the billing server's 47 tools (~46k tokens of specs), the ones cost questions need. None of these
# starts paid work or changes anything (sp-purchase-analyzer, storage-lens and compute-optimizer-automation
# are left out for that reason too).
TOOLS = (
    "cost-explorer",
    "cost-comparison",
    "cost-anomaly",
    "budgets",
    "cost-optimization",
    "compute-optimizer",
    "rec-details",
    "sp-performance",
    "ri-performance",
)

PROMPT = (
    """You are finops_assistant, an AWS cost expert helping an SRE team.
How to work:
- Use Cost Explorer (tool cost-explorer, operation getCostAndUsage) with explicit date ranges; today is {today}.
- Compare periods with cost-comparison, forecast with cost-explorer getCostForecast, anomalies with
  cost-anomaly, budgets with budgets, rightsizing and savings with cost-optimization / compute-optimizer /
  rec-details, Savings Plans and RI coverage/utilization with sp-performance / ri-performance.
- State amounts with currency and period; name the top services or accounts behind a change.
- Never start purchases or paid analyses unless the user explicitly asked for them.
"""
    + UNTRUSTED_RULE
)


def server_spec(settings: Settings, base: Mapping[str, str], common: Mapping[str, str]) -> ServerSpec:
    env = child_env(
        base, {**common, "FASTMCP_LOG_FILE": str((settings.mcp_log_dir / "billing-server.log").resolve())}
    )
    return ServerSpec(
        name="billing",
        command=settings.mcp_command(EXECUTABLE),
        env={k: v for k, v in env.items() if v},
        log_file=settings.mcp_log_dir / "billing-server.stderr.log",
        missing_hint=INSTALL_HINT,
    )


FINOPS = Capability(
    name="finops_assistant",
    server="billing",
    title="AWS cost (FinOps)",
    server_title="billing",
    asking="Asking the cost specialist",
    route="AWS cost (spend, trends, forecasts, anomalies, budgets, savings, rightsizing)",
    description=(
        "AWS cost specialist with live Cost Explorer, budgets, anomalies, forecasts, rightsizing and "
        "Savings Plans / RI coverage. Pass the user's question with the period and any filters."
    ),
    prompt=PROMPT,
    tools=TOOLS,
    server_spec=server_spec,
    # reads only (the paid or mutating ones are not here on purpose; not "sp-recommendation": one of its
    # operations starts a purchase-recommendation job)
    read_only_tools=frozenset(
        {
            "cost-explorer",
            "cost-comparison",
            "cost-anomaly",
            "budgets",
            "budget-actions",
            "budget-notifications",
            "cost-optimization",
            "compute-optimizer",
            "rec-details",
            "sp-performance",
            "ri-performance",
            "aws-pricing",
            "free-tier-usage",
            "sp-explorer",
        }
    ),
    notes={
        "unreachable": (
            "AWS could not be reached for cost data.",
            ASK_AGAIN,
            "Check AWS_REGION, the network and any proxy; `sre-bot doctor` tests it.",
        ),
        "credentials": (
            "AWS refused the bot's credentials for cost data.",
            TELL_ADMIN,
            "Check AWS_PROFILE or the role's credentials (expired?) and its Cost Explorer permissions; "
            "`sre-bot doctor` tests it.",
        ),
    },
    description_limit=1000,
    # Its operation list (forecasts, dimension values, …) is what makes the tool usable.
    description_limits={"cost-explorer": 3500},
)
