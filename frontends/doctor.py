"""`sre-bot doctor`: check each thing the bot depends on and say how to fix what fails.

One line per check, and only the checks the configuration uses (no AWS credentials for a kubeconfig +
local model setup). Every failing check is listed, settings included, so a newcomer fixes everything in
one pass instead of one error per run. `agents/` knows nothing about Slack: the front end hands its own
settings checks in (`front_ends`, built with `settings_checks`).

Why one module of ~370 lines: a list of independent checks of the same shape, read as a checklist.
"""

from __future__ import annotations

import asyncio
import sys
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from pydantic import ValidationError
from pydantic_settings import BaseSettings

from agents.capabilities import Capability, not_offered, registered
from agents.capabilities import problems as capability_problems
from agents.capabilities.eks import EKS
from agents.compose import FrontEnd, load_cluster_fleet
from agents.coordinator import Assistant, current_context, default_cluster
from agents.failures import classify_tool_error
from agents.fleet import ClusterConfig, Fleet
from agents.mcp.servers import McpServer, ServerUnavailable
from agents.models import describe_model_endpoint
from agents.settings import (
    ConfigError,
    Settings,
    describe_validation_error,
    export_aws_environment,
)
from agents.specialists import select_tools
from slackbot.config import ApproverSettings
from slackbot.fleet import SlackClusterConfig

EXIT_OK, EXIT_FAILED, EXIT_CONFIG = 0, 1, 2
SETTINGS_FIX = "Change {variable} in .env or the environment (.env.example explains each setting)."

S = TypeVar("S", bound=BaseSettings)


@dataclass
class Check:
    name: str
    status: str  # OK, WARN, FAIL, SKIP
    detail: str
    fix: str = ""
    config: bool = False  # a settings problem (exit code 2), not a broken dependency (exit code 1)


FrontEndChecks = Callable[[], list[Check]]
"""A front end's own settings checks (the Slack settings of `sre-bot run`), run by `diagnose`."""


# --- settings ----------------------------------------------------------------------------------------


def read_settings(model: type[S]) -> tuple[S, list[ConfigError]]:
    """Validate every field and report each bad one, not only the first.

    Bad fields fall back to their defaults so the cross-field rules can still be checked.
    """
    try:
        return model(), []
    except ValidationError as exc:
        errors: list[dict[str, Any]] = [dict(e) for e in exc.errors()]
    problems = [describe_validation_error(e, model) for e in errors]
    bad = {str(e["loc"][0]) for e in errors if e.get("loc")}
    defaults = {
        name: field.get_default(call_default_factory=True)
        for name, field in model.model_fields.items()
        if name in bad
    }
    return model(**defaults), problems


def _config_failures(name: str, problems: Iterable[ConfigError]) -> list[Check]:
    return [
        Check(name, "FAIL", str(p), SETTINGS_FIX.format(variable=p.variable), config=True) for p in problems
    ]


def settings_checks(
    name: str,
    model: type[BaseSettings],
    load: Callable[[], object],
    *,
    needed_by: str,
    required: Sequence[str] = (),
) -> list[Check]:
    """Checks of a front end's settings: each bad field, then `load`'s own rules (a ConfigError).

    With none of `required` set the front end is just not used here: WARN, not FAIL, because a terminal-
    only setup needs no Slack tokens. Set but wrong is a FAIL, as it stops `needed_by` with exit code 2.
    """
    values, problems = read_settings(model)
    if problems:
        return _config_failures(name, problems)
    if required and not any(getattr(values, field) for field in required):
        names = " and ".join(f.upper() for f in required)
        return [
            Check(
                name, "WARN", f"{names} not set: `{needed_by}` needs them", f"Set {names} to use {needed_by}."
            )
        ]
    try:
        load()
    except ConfigError as exc:
        return _config_failures(name, [exc])
    return [Check(name, "OK", f"settings of `{needed_by}` are complete")]


def kubernetes_check(settings: Settings) -> Check:
    """Which Kubernetes access mode was chosen and why, which kubeconfig, which cluster."""
    mode, why = settings.auth_mode_and_reason
    if mode == "kubeconfig":
        files = ", ".join(str(p) for p in settings.kubeconfig_paths()) or "no kubeconfig file"
        if settings.default_cluster:
            cluster = f"cluster {settings.default_cluster} (DEFAULT_CLUSTER)"
        elif context := current_context(settings):
            cluster = f"cluster {context} (the kubeconfig's current-context)"
        else:
            return Check(
                "kubernetes",
                "FAIL",
                f"kubeconfig mode ({why}): {files} has no current-context",
                "Set DEFAULT_CLUSTER to one of its contexts (kubectl config get-contexts), or run "
                "kubectl config use-context.",
                config=True,
            )
        return Check("kubernetes", "OK", f"kubeconfig mode ({why}): {files}; {cluster}")
    return Check(
        "kubernetes",
        "OK",
        f"IAM mode ({why}): EKS cluster {settings.default_cluster} (DEFAULT_CLUSTER) "
        f"in {settings.aws_region}",
    )


def _approvals(settings: Settings) -> Check:
    """Who can approve a change: Slack's approver settings (bad values are the slack check's to report)."""
    approvers, _problems = read_settings(ApproverSettings)
    if settings.eks_mcp_allow_write and not approvers.approvals_configured:
        return Check(
            "approvals",
            "WARN",
            "EKS_MCP_ALLOW_WRITE=true but nobody can approve, so every change will be refused",
            "Set APPROVER_USER_IDS (Slack user ids) or APPROVER_USERGROUP (a user group id).",
        )
    if settings.eks_mcp_allow_write:
        who = ", ".join(approvers.approvers) or f"group {approvers.approver_usergroup}"
        return Check("approvals", "OK", f"changes need an approval by {who}")
    return Check("approvals", "OK", "read-only mode (EKS_MCP_ALLOW_WRITE=false): write tools are not offered")


# --- what the settings point at ----------------------------------------------------------------------


def state_checks(settings: Settings) -> list[Check]:
    """Where the state lives; with STATE_BACKEND=aws, that the table and the bucket exist and can be used
    (the bot refuses to start otherwise), one line each problem."""
    if settings.state_backend != "aws":
        return [Check("state", "OK", "local files under the state paths (one replica; STATE_BACKEND=local)")]
    from agents.state.aws.setup import Missing, problems

    table, bucket, region = (
        settings.state_table or "",
        settings.session_bucket or "",
        settings.aws_region or "",
    )
    found = problems(table, bucket, region)
    if not found:
        where = f"s3://{bucket}/{settings.session_prefix}".rstrip("/")
        return [
            Check("state", "OK", f"DynamoDB table {table} and {where} in {region}, shared by every replica")
        ]
    return [
        Check(
            "state",
            "FAIL",
            str(p),
            "Run `sre-bot state init`."
            if isinstance(p, Missing)
            else f"Check {p.variable} and AWS_REGION, and that the bot's role may use them (README: Several replicas).",
        )
        for p in found
    ]


def aws_needed_by(settings: Settings) -> list[str]:
    """What in this configuration uses AWS credentials; empty means none is checked."""
    needs = []
    if settings.model_provider == "bedrock":
        needs.append("the Bedrock model")
    if "eks" in settings.enabled_servers and settings.resolved_auth_mode == "iam":
        needs.append("EKS in IAM mode")
    if "billing" in settings.enabled_servers:
        needs.append("the billing server")
    if settings.state_backend == "aws":
        needs.append("the shared state")
    return needs


def _aws_identity(settings: Settings) -> Check:
    needs = aws_needed_by(settings)
    if not needs:
        return Check(
            "aws credentials",
            "SKIP",
            f"not used: model {settings.model_provider}, Kubernetes in {settings.resolved_auth_mode} mode, "
            "no billing server",
        )
    try:
        import boto3

        session = boto3.Session(profile_name=settings.aws_profile, region_name=settings.aws_region)
        credentials = session.get_credentials()
        source = f" from {credentials.method}" if credentials is not None else ""
        ident = session.client("sts").get_caller_identity()
        return Check(
            "aws credentials",
            "OK",
            f"{ident.get('Arn')} (account {ident.get('Account')}){source}, for {', '.join(needs)}",
        )
    except Exception as exc:  # botocore raises many kinds; the message is what matters here
        return Check(
            "aws credentials",
            "FAIL",
            f"{type(exc).__name__}: {str(exc)[:160]} (needed by {', '.join(needs)})",
            "Set AWS_PROFILE, or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (in .env or the environment); "
            "on EKS use IRSA or Pod Identity.",
        )


def _model(assistant: Assistant) -> Check:
    from strands import Agent

    settings = assistant.settings
    label = f"{settings.model_provider}:{settings.resolved_model_id}"
    try:
        agent = Agent(model=assistant.models("coordinator"), callback_handler=None, retry_strategy=None)
        started = time.monotonic()
        reply = str(agent("Reply with the single word OK.")).strip()
        return Check("model", "OK", f"{label} answered in {time.monotonic() - started:.1f}s: {reply[:40]!r}")
    except Exception as exc:
        return Check(
            "model",
            "FAIL",
            f"{describe_model_endpoint(settings)}: {type(exc).__name__}: {str(exc)[:160]}",
            "Check MODEL_PROVIDER / MODEL_ID and the provider's credentials or endpoint.",
        )


def _cluster(assistant: Assistant) -> Check:
    server = assistant.servers.get("eks")
    if server is None or not server.available:
        return Check("cluster", "SKIP", "the EKS MCP server is not running")
    settings = assistant.settings
    cluster = default_cluster(settings)
    named = settings.default_cluster or (
        settings.resolved_auth_mode == "kubeconfig" and current_context(settings)
    )
    if not named:  # never send default_cluster's "(none set …)" placeholder as a cluster name
        return Check("cluster", "SKIP", "no cluster to ask (see kubernetes above)")
    result = asyncio.run(
        server.call(
            "doctor",
            "list_k8s_resources",
            {"cluster_name": cluster, "kind": "Namespace", "api_version": "v1"},
        )
    )
    text = " ".join(str(b.get("text", "")) for b in result.get("content", []))
    if result.get("status") == "error":
        if settings.resolved_auth_mode == "kubeconfig":
            files = ", ".join(str(p) for p in settings.kubeconfig_paths())
            fix = (
                f"Check that {files} has a context {cluster} and the cluster answers "
                f"(kubectl --context {cluster} get namespaces); DEFAULT_CLUSTER picks another context."
            )
        else:
            fix = (
                f"Check that DEFAULT_CLUSTER is the EKS cluster's name in {settings.aws_region} "
                "(aws eks list-clusters) and that the bot's AWS identity has an EKS access entry on it."
            )
        return Check("cluster", "FAIL", f"{cluster}: {text[:200]}", fix)
    return Check("cluster", "OK", f"{cluster}: namespaces listed")


def fleet_assistant(settings: Settings, **kwargs: Any) -> Assistant:
    """The Assistant as the bot runs it: with CLUSTERS_FILE's fleet (read with the Slack keys the
    deployment's one file may hold) when there is one. A wrong file raises FleetError."""
    fleet = load_cluster_fleet(settings, FrontEnd(approvals=False, cluster_model=SlackClusterConfig))
    return Assistant(settings, fleet=fleet, bind_clusters=fleet is not None, **kwargs)


def _how(cluster: ClusterConfig) -> str:
    """How the bot reaches a cluster and what it may do there, in a few words."""
    if cluster.eks is None:
        way = f"kubeconfig context {cluster.target}"
    else:
        role = f" as {cluster.eks.role_arn}" if cluster.eks.role_arn else ""
        way = f"EKS {cluster.target} in {cluster.eks.region}{role}"
    return f"{way}, {'writes with approval' if cluster.writes else 'read-only'}"


def _fix(cluster: ClusterConfig) -> str:
    if cluster.eks is None:
        return (
            f"Check that the cluster answers and the kubeconfig user may list pods "
            f"(kubectl --context {cluster.target} get pods -n default)."
        )
    return (
        f"Check that {cluster.target} exists in {cluster.eks.region} (aws eks list-clusters --region "
        f"{cluster.eks.region}) and that the identity the bot uses there"
        f"{' (the role ' + cluster.eks.role_arn + ')' if cluster.eks.role_arn else ''} has an EKS access entry "
        "with a policy that can list pods (see README, Many clusters)."
    )


async def _fleet_cluster(server: McpServer, name: str, cluster: ClusterConfig) -> Check:
    """Reachable with these credentials (namespaces), and RBAC lets the bot list pods (default)."""
    label = f"cluster {name}"
    for kind, namespace in (("Namespace", None), ("Pod", "default")):
        args: dict[str, Any] = {"cluster_name": cluster.target, "kind": kind, "api_version": "v1"}
        if namespace:
            args["namespace"] = namespace
        result = await server.call("doctor", "list_k8s_resources", args)
        if result.get("status") == "error":
            text = " ".join(str(b.get("text", "")) for b in result.get("content", []))
            return Check(
                label, "FAIL", f"{_how(cluster)}: listing {kind}s failed: {text[:200]}", _fix(cluster)
            )
    return Check(label, "OK", f"{_how(cluster)}: reachable; namespaces and pods listable ({server.name})")


def _fleet_clusters(assistant: Assistant) -> list[Check]:
    """One line per cluster of CLUSTERS_FILE, each asked through the server process that serves it."""
    fleet = assistant.context.fleet
    found = {n: assistant.cluster_server(EKS, n) for n in fleet.clusters} if fleet is not None else {}
    servers = {n: s for n, s in found.items() if s is not None}
    if fleet is None or len(servers) < len(found):
        return [Check("clusters", "SKIP", "the EKS capability is not enabled")]

    async def every() -> list[Check]:
        return list(
            await asyncio.gather(*(_fleet_cluster(servers[n], n, c) for n, c in fleet.clusters.items()))
        )

    return asyncio.run(every())


def offered_tools(assistant: Assistant, server_name: str) -> list[str]:
    """The tools the specialists really give their models: curated, and read-only unless writes are on."""
    server = assistant.servers[server_name]
    names: list[str] = []
    for specialist in assistant.specialists:
        if specialist.spec.server == server.kind:  # a fleet's server started with the bot: "eks-iam-…-ro"
            tools = select_tools(
                specialist.spec,
                server,
                output_budget=assistant.settings.tool_result_max_chars,
                allowed=assistant.context.tool_allowed,
            )
            names.extend(t.tool_name for t in tools)
    return sorted(names)


def _servers(assistant: Assistant) -> list[Check]:
    checks = []
    for name, error in assistant.start().items():
        if error:
            checks.append(
                Check(
                    f"mcp server {name}",
                    "FAIL",
                    error[:300],
                    "Run scripts/setup (or scripts/install-mcp-servers); check AWS_REGION and credentials.",
                )
            )
            continue
        offered = offered_tools(assistant, name)
        others = len(assistant.servers[name].tool_specs()) - len(offered)
        rest = (
            f"; {others} more not offered (write tools in read-only mode, or not used)"
            if others and not assistant.settings.eks_mcp_allow_write
            else f"; {others} more not used"
            if others
            else ""
        )
        checks.append(
            Check(f"mcp server {name}", "OK", f"{len(offered)} tools offered: {', '.join(offered)}{rest}")
        )
    return checks


def offer_checks(settings: Settings, fleet: Fleet[Any] | None = None) -> list[Check]:
    """A capability MCP_SERVERS names but the settings (and `fleet`, CLUSTERS_FILE's) leave out (no
    Prometheus URL): how to enable it; and one they configure but MCP_SERVERS leaves out (an older
    .env's list): likely a mistake."""
    checks = [
        Check(f"mcp server {c.server}", "SKIP", f"{c.title} is not offered: {why}")
        for c, why in not_offered(settings, fleet)
    ]
    for c in registered():
        if (
            c.unconfigured is not None
            and c.not_offered(settings, fleet) is None
            and c.server not in settings.enabled_servers
        ):
            checks.append(
                Check(
                    f"mcp server {c.server}",
                    "WARN",
                    f"{c.title} is set up, but MCP_SERVERS ({settings.mcp_servers}) leaves {c.server} out",
                    f"Add {c.server} to MCP_SERVERS to offer it.",
                )
            )
    return checks


def _probes(assistant: Assistant) -> list[Check]:
    """Each capability's own reading call (`Capability.probe`): its server reaches what it serves. With a
    fleet file whose clusters it serves by several processes (a Prometheus URL each), one line per
    process, naming its clusters; a cluster nothing serves is a warning naming what to set."""
    checks = []
    for capability in assistant.capabilities:
        if capability.probe is None:
            continue
        pool = assistant.context.cluster_servers.get(capability.name)
        if pool is None:
            server = assistant.servers.get(capability.server)
            checks.append(_probe(assistant, capability, capability.server, server, ""))
            continue
        for instance, clusters in pool.groups().items():
            name = f"{capability.server}: {', '.join(clusters)}"
            why = pool.missing(clusters[0])
            if why is not None:
                checks.append(Check(name, "WARN", why))
                continue
            server = pool.server(clusters[0])
            try:
                server.ensure_started()  # on first use otherwise: doctor checks every one
            except ServerUnavailable as exc:
                checks.append(Check(name, "FAIL", f"{instance}: {exc}"[:300]))
                continue
            checks.append(_probe(assistant, capability, name, server, f"{instance}: "))
    return checks


def _probe(
    assistant: Assistant, capability: Capability, name: str, server: McpServer | None, prefix: str
) -> Check:
    if server is None or not server.available:
        return Check(name, "SKIP", f"the {capability.server_title} MCP server is not running")
    tool, arguments = capability.probe or ("", {})
    result = asyncio.run(server.call("doctor", tool, dict(arguments)))
    text = " ".join(str(b.get("text", "")) for b in result.get("content", []))
    asked = f"{prefix}{tool} {' '.join(str(v) for v in arguments.values())}".strip()
    if result.get("status") == "error":
        note = capability.notes.get(classify_tool_error(text))
        fix = note[2] if note else f"See the server's log in {assistant.settings.mcp_log_dir}."
        return Check(name, "FAIL", f"{asked}: {text[:240]}", fix)
    return Check(name, "OK", f"{asked} answered ({len(text)} characters)")


def run_checks(
    settings: Settings, assistant_factory: Callable[[Settings], Assistant] = fleet_assistant
) -> list[Check]:
    """The checks of valid settings: the configuration found, then each thing it points at."""
    checks = [
        Check(
            "settings",
            "OK",
            f"provider={settings.model_provider} model={settings.resolved_model_id} "
            f"servers={settings.mcp_servers} writes={'on' if settings.eks_mcp_allow_write else 'off'}",
        )
    ]
    if "eks" in settings.enabled_servers:
        checks.append(kubernetes_check(settings))
    checks.append(_approvals(settings))
    checks.extend(state_checks(settings))
    assistant = assistant_factory(settings)
    try:
        checks.extend(_servers(assistant))
        checks.extend(offer_checks(settings, assistant.context.fleet))
        checks.extend(_probes(assistant))
        if "eks" in settings.enabled_servers:
            checks.extend(_fleet_clusters(assistant) if assistant.bind_clusters else [_cluster(assistant)])
        checks.append(_aws_identity(settings))
        checks.append(_model(assistant))
    finally:
        assistant.close()
    return checks


def diagnose(
    front_ends: Iterable[FrontEndChecks] = (),
    assistant_factory: Callable[[Settings], Assistant] = fleet_assistant,
) -> list[Check]:
    """Every check, reading the settings itself so that each bad setting is listed, not just the first.

    With bad settings nothing is started: servers, cluster and model would only fail for the same reason.
    """
    settings, problems = read_settings(Settings)
    export_aws_environment(settings)  # as load_settings does: keys in .env must reach boto3
    found = [*settings.problems(), *capability_problems(settings), *_fleet_problems(settings)]
    problems.extend(p for p in found if p.variable not in {q.variable for q in problems})
    front = [check for checks in front_ends for check in checks()]
    if problems:
        return [*_config_failures("settings", problems), *front, _skipped()]
    checks = run_checks(settings, assistant_factory)
    return [*checks[:1], *front, *checks[1:]]


def _fleet_problems(settings: Settings) -> list[ConfigError]:
    try:
        load_cluster_fleet(settings, FrontEnd(approvals=False, cluster_model=SlackClusterConfig))
    except ConfigError as exc:
        return [exc]
    return []


def _skipped() -> Check:
    return Check("servers, cluster, model", "SKIP", "not started until the settings above are fixed")


def exit_code(checks: Iterable[Check]) -> int:
    """2 when a setting is wrong (as every command exits then), 1 when something it points at fails."""
    failed = [c for c in checks if c.status == "FAIL"]
    if any(c.config for c in failed):
        return EXIT_CONFIG
    return EXIT_FAILED if failed else EXIT_OK


def main(front_ends: Iterable[FrontEndChecks] = (), **kwargs: Any) -> int:
    """`sre-bot doctor`: print the table, return the exit code."""
    checks = diagnose(front_ends, **kwargs)
    print(format_table(checks), file=sys.stdout)
    return exit_code(checks)


def format_table(checks: list[Check]) -> str:
    width = max(len(c.name) for c in checks)
    lines = [f"{'CHECK'.ljust(width)}  STATUS  DETAIL"]
    for c in checks:
        lines.append(f"{c.name.ljust(width)}  {c.status.ljust(6)}  {c.detail}")
        if c.fix and c.status in ("FAIL", "WARN"):
            lines.append(f"{''.ljust(width)}          fix: {c.fix}")
    return "\n".join(lines)
