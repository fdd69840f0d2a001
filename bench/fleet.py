"""Many clusters: memory of 1 vs 10 configured clusters, and a cold vs warm server for a first answer.

The 10-cluster fleet mixes the ways in: five kubeconfig contexts on fake API servers (three writable,
two read-only) and five IAM clusters against moto (two in eu-west-1, one of them behind a role, and one
each in us-west-2, ap-southeast-1 and us-east-1). The real EKS MCP server runs every process; the model
is scripted and costs nothing, so the times are the bot's and the servers'. RSS is read from /proc: the
bot's own process (which here also hosts the fake API servers and moto) and its MCP server children.
Run: `uv run python -m bench.fleet [--cold N]`.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import statistics
import time
from pathlib import Path

import boto3
from moto.server import ThreadedMotoServer

from agents.compose import Core, FrontEnd, build_core, load_settings
from agents.events import FinalAnswer
from bench.common import fake_world
from tests.fakes.brains import default_brains
from tests.fakes.fake_cluster import FakeKubeAPI, seed_demo
from tests.fakes.scripted_model import Reply, ScriptedModels, ToolCall, Turn

KUBECONFIG_CLUSTERS = {"staging": True, "dev": True, "qa": True, "prod": False, "perf": False}
IAM_CLUSTERS = {
    "eu-a": ("eu-west-1", None),
    "eu-b": ("eu-west-1", "arn:aws:iam::123456789012:role/eu-b-reader"),
    "us-w": ("us-west-2", None),
    "ap": ("ap-southeast-1", None),
    "us-e": ("us-east-1", None),
}


def coordinator(turn: Turn) -> Reply:
    if turn.tool_results:
        return "\n\n".join(turn.unfenced_results())
    found = re.search(r"Clusters of this question: ([^(]+) \(", turn.system)
    clusters = [c.strip() for c in found.group(1).split(",")] if found else [None]
    return [
        ToolCall("eks_assistant", {"query": turn.user_text, **({"cluster": c} if c else {})})
        for c in clusters
    ]


def specialist(turn: Turn) -> Reply:
    if turn.tool_results:
        return "\n".join(turn.unfenced_results())
    if "get_eks_vpc_config" in turn.tools:  # IAM mode: an EKS API call (moto)
        return ToolCall("get_eks_vpc_config", {})
    return ToolCall("list_k8s_resources", {"kind": "Pod", "api_version": "v1", "namespace": "default"})


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def server_rss(core: Core) -> tuple[int, int]:
    """(running MCP server processes, their total RSS in KiB)."""
    pids = [s.pid for s in core.assistant.servers.servers.values() if s.running and s.pid]
    return len(pids), sum(rss_kib(p) for p in pids if Path(f"/proc/{p}").exists())


def write_fleet(workdir: Path, clusters: int, moto_url: str) -> Path:
    kubeconfigs = []
    lines = ["default: staging", "clusters:"]
    for name, writes in list(KUBECONFIG_CLUSTERS.items())[: min(clusters, 5)]:
        kube = FakeKubeAPI().start()
        seed_demo(kube)
        kubeconfigs.append(
            kube.write_kubeconfig(workdir / f"kc-{name}", context=f"ctx-{name}", cluster_name=name)
        )
        lines.append(f"  {name}: {{kubeconfig_context: ctx-{name}, writes: {str(writes).lower()}}}")
    for name, (region, role) in list(IAM_CLUSTERS.items())[: max(0, clusters - 5)]:
        eks = boto3.client("eks", region_name=region, endpoint_url=moto_url)
        if f"{name}-eks" not in eks.list_clusters()["clusters"]:  # moto outlives one fleet
            ec2 = boto3.client("ec2", region_name=region, endpoint_url=moto_url)
            vpc = ec2.create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]
            subnet = ec2.create_subnet(VpcId=vpc, CidrBlock="10.0.1.0/24")["Subnet"]["SubnetId"]
            eks.create_cluster(
                name=f"{name}-eks",
                roleArn="arn:aws:iam::123456789012:role/eks",
                resourcesVpcConfig={"subnetIds": [subnet]},
            )
        role_key = f", role_arn: {role}" if role else ""
        lines.append(f"  {name}: {{eks: {{name: {name}-eks, region: {region}{role_key}}}}}")
    os.environ["KUBECONFIG"] = os.pathsep.join(str(k) for k in kubeconfigs)
    path = workdir / "clusters.yaml"
    path.write_text("\n".join(lines) + "\n")
    return path


async def answer(core: Core, cluster: str) -> float:
    started = time.perf_counter()
    final = None
    async for event in core.runner.ask(f"--cluster {cluster} what is running there?", None):
        if isinstance(event, FinalAnswer):
            final = event
    elapsed = time.perf_counter() - started
    assert final is not None and final.text, cluster
    return elapsed


def build(clusters: int, moto_url: str) -> Core:
    workdir, _ = fake_world(f"fleet-{clusters}", EKS_MCP_ALLOW_WRITE="true", MCP_SERVERS="eks")
    os.environ.update(
        {"AWS_ENDPOINT_URL": moto_url, "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"}
    )
    os.environ["CLUSTERS_FILE"] = str(write_fleet(workdir, clusters, moto_url))
    models = ScriptedModels({**default_brains(), "coordinator": coordinator, "eks_assistant": specialist})
    core = build_core(load_settings(), FrontEnd(approvals=False), models=models)
    errors = core.start()
    assert not any(errors.values()), errors
    return core


async def memory(clusters: int, moto_url: str) -> tuple[int, int, int, int, int, int, int]:
    """(bot KiB, servers at rest, their KiB, after one question each, their KiB, after idle, their KiB)."""
    core = build(clusters, moto_url)
    try:
        rest = server_rss(core)
        for name in core.assistant.fleet.clusters if core.assistant.fleet else []:
            await answer(core, name)
        busy = server_rss(core)
        core.assistant.servers.reap(0, now=time.monotonic() + 1)  # MCP_IDLE_SECONDS later
        idle = server_rss(core)
        return rss_kib(os.getpid()), *rest, *busy, *idle
    finally:
        core.close()


async def cold_vs_warm(moto_url: str, rounds: int) -> tuple[list[float], list[float]]:
    """A read-only kubeconfig cluster's first answer with its process stopped (cold) vs running (warm)."""
    core = build(10, moto_url)
    cold: list[float] = []
    warm: list[float] = []
    try:
        for _ in range(rounds):
            core.assistant.servers.reap(0, now=time.monotonic() + 1)  # as MCP_IDLE_SECONDS would
            cold.append(await answer(core, "prod"))
            warm.append(await answer(core, "prod"))
    finally:
        core.close()
    return cold, warm


def mib(kib: int) -> str:
    return f"{kib / 1024:7.1f} MiB"


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--cold", type=int, default=8, help="cold/warm pairs")
    args = parser.parse_args()
    moto = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    moto.start()
    host, port = moto.get_host_and_port()
    moto_url = f"http://{host}:{port}"
    try:
        one = await memory(1, moto_url)
        ten = await memory(10, moto_url)
        cold, warm = await cold_vs_warm(moto_url, args.cold)
    finally:
        moto.stop()
    for label, (bot, n_rest, rest, n_busy, busy, n_idle, idle) in (
        ("1 cluster  ", one),
        ("10 clusters", ten),
    ):
        print(
            f"{label}: bot process {mib(bot)} | MCP servers at rest: {n_rest} = {mib(rest)} | "
            f"after one question each: {n_busy} = {mib(busy)} | idle again: {n_idle} = {mib(idle)}"
        )
    per_server = ten[4] / max(ten[3], 1)
    print(f"one process per cluster would hold 10 × {mib(int(per_server))} = {mib(int(per_server * 10))}")
    c, w = statistics.median(cold), statistics.median(warm)
    print(f"first answer, server cold : median {c * 1000:8.1f} ms (n={len(cold)})")
    print(f"first answer, server warm : median {w * 1000:8.1f} ms (n={len(warm)})")
    print(f"ratio cold / warm         : {c / w:8.1f}x")


if __name__ == "__main__":
    asyncio.run(main())
