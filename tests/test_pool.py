"""Server processes per way of reaching clusters: shared where they can be, made on first use, stopped idle.

The unit part uses specs that never start; the lifecycle part runs a tiny real MCP server (on the `mcp`
package, as the capabilities' servers are) so idle stops, calls in flight and one process dying are real.
"""

from __future__ import annotations

import asyncio
import os
import signal
import sys
import textwrap
import threading
import time
from collections import Counter
from pathlib import Path

import pytest

from agents.fleet import ClusterConfig, Fleet
from agents.fleet.instances import ServerInstance
from agents.mcp.pool import ClusterServers
from agents.mcp.servers import McpServers, ServerSpec, child_env

FLEET = Fleet[ClusterConfig].model_validate(
    {
        "default": "staging",
        "clusters": {
            "staging": {"kubeconfig_context": "ctx-staging", "writes": True},
            "dev": {"kubeconfig_context": "ctx-dev", "writes": True},
            "prod": {"kubeconfig_context": "ctx-prod"},
            "eu": {"eks": {"name": "eu-eks", "region": "eu-west-1"}},
            "eu-shared": {"eks": {"name": "eu-shared-eks", "region": "eu-west-1"}},
            "eu-other": {
                "eks": {
                    "name": "eu-other-eks",
                    "region": "eu-west-1",
                    "role_arn": "arn:aws:iam::123456789012:role/other",
                }
            },
            "us": {"eks": {"name": "us-eks", "region": "us-east-1"}},
            "us-rw": {"eks": {"name": "us-rw-eks", "region": "us-east-1"}, "writes": True},
        },
    }
)


def pool(allow_write: bool = True) -> tuple[ClusterServers, Counter[ServerInstance]]:
    made: Counter[ServerInstance] = Counter()

    def make(instance: ServerInstance) -> ServerSpec:
        made[instance] += 1
        return ServerSpec(name=f"eks-{instance.slug}", command=None, kind="eks")

    return ClusterServers(McpServers([]), FLEET, make, allow_write=allow_write), made


def test_clusters_share_a_process_only_when_mode_region_role_and_write_mode_agree() -> None:
    servers, made = pool()
    assert made == Counter()  # nothing is made before a cluster is asked about
    by_cluster = {name: servers.server(name) for name in FLEET.clusters}
    assert by_cluster["staging"] is by_cluster["dev"]  # kubeconfig, writable: one process
    assert by_cluster["prod"] is not by_cluster["staging"]  # read-only: a process without --allow-write
    assert by_cluster["eu"] is by_cluster["eu-shared"]  # one region, the bot's identity
    assert by_cluster["eu-other"] is not by_cluster["eu"]  # its own role
    assert by_cluster["us"] is not by_cluster["eu"]  # its own region
    assert by_cluster["us-rw"] is not by_cluster["us"]  # writable: a process with --allow-write
    assert len({id(s) for s in by_cluster.values()}) == 6 and sum(made.values()) == 6
    assert by_cluster["prod"].kind == "eks" and by_cluster["prod"].name == "eks-kubeconfig-ro"
    assert by_cluster["staging"].name == "eks-kubeconfig-rw"
    assert (
        by_cluster["us"].name == "eks-iam-us-east-1-ro" and by_cluster["us-rw"].name == "eks-iam-us-east-1-rw"
    )
    assert by_cluster["eu-other"].name.startswith("eks-iam-eu-west-1-") and by_cluster[
        "eu-other"
    ].name.endswith("-ro")
    assert servers.instance("eu-other").role_arn == "arn:aws:iam::123456789012:role/other"


def test_without_eks_mcp_allow_write_every_cluster_is_served_read_only() -> None:
    servers, _ = pool(allow_write=False)
    assert servers.server("staging") is servers.server("prod")
    assert not servers.instance("staging").writes


def test_two_first_questions_at_once_make_one_process_per_instance() -> None:
    servers, made = pool()
    barrier = threading.Barrier(8)

    def first_use() -> None:
        barrier.wait()
        servers.server("us")

    slow = servers.make_spec

    def make_slowly(instance: ServerInstance) -> ServerSpec:
        time.sleep(0.05)  # widen the window two first uses could both make a spec in
        return slow(instance)

    servers.make_spec = make_slowly

    threads = [threading.Thread(target=first_use) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert list(made.values()) == [1]


def test_a_call_goes_to_the_process_of_the_cluster_it_names_and_nowhere_outside_the_scope() -> None:
    servers, _ = pool()
    route = servers.router(("prod", "us"), "cluster_name")
    assert route({"cluster_name": "ctx-prod"}) is servers.server("prod")  # the server's name for it
    assert route({"cluster_name": "us"}) is servers.server("us")  # the fleet's name
    assert route({"cluster_name": "us-eks"}) is servers.server("us")
    assert isinstance(route({}), str)  # a tool naming no cluster, clusters of two identities: refused
    refused = "Not executed: that cluster is not one this question is about."
    assert route({"cluster_name": "ctx-staging"}) == refused  # in the fleet, not in this question
    assert route({"cluster_name": "elsewhere"}) == refused
    assert route({"cluster_name": ["ctx-prod"]}) == refused


def test_a_call_naming_no_cluster_runs_only_where_its_clusters_share_one_identity() -> None:
    """An IAM policy tool names no cluster: with clusters of two regions or roles, which account it would
    act in is refused, not left to the order of the clusters."""
    servers, _ = pool()
    assert servers.router(("eu", "eu-shared"), "cluster_name")({}) is servers.server("eu")
    for clusters in (("eu", "us"), ("us", "eu"), ("eu", "eu-other")):
        refusal = servers.router(clusters, "cluster_name")({})
        assert isinstance(refusal, str) and "different AWS identities or regions" in refusal
    assert servers.router(("eu", "us"), "cluster_name")({"cluster_name": "us-eks"}) is servers.server("us")


def test_the_warm_default_process_is_adopted_not_made_again() -> None:
    servers, made = pool()
    warm = servers.servers.instance("eks", lambda: ServerSpec(name="eks", command=None, kind="eks"))
    servers.adopt("staging", "eks")
    assert servers.server("staging") is warm and servers.server("dev") is warm
    assert made == Counter()  # no second spec (temporary directory, credentials file) for it


# --- lifecycle against a real tiny MCP server --------------------------------------------------------

SERVER = textwrap.dedent(
    """
    import pathlib
    import time

    from mcp.server.mcpserver import MCPServer

    mcp = MCPServer("waiter")


    @mcp.tool()
    def wait_for(path: str) -> str:
        \"\"\"Return once the file exists.\"\"\"
        while not pathlib.Path(path).exists():
            time.sleep(0.02)
        return "done"


    @mcp.tool()
    def ping() -> str:
        \"\"\"Answer.\"\"\"
        return "pong"


    mcp.run()
    """
)


@pytest.fixture
def make_spec(tmp_path: Path):  # type: ignore[no-untyped-def]
    script = tmp_path / "waiter.py"
    script.write_text(SERVER)

    def make(name: str) -> ServerSpec:
        return ServerSpec(
            name=name,
            command=sys.executable,
            args=[str(script)],
            env=child_env(dict(os.environ), {"PYTHONPATH": ":".join(sys.path)}),
            kind="waiter",
        )

    return make


def text(result: object) -> str:
    return " ".join(str(b.get("text", "")) for b in result["content"])  # type: ignore[index]


async def test_an_idle_on_demand_server_stops_and_the_next_call_starts_it_again(make_spec) -> None:  # type: ignore[no-untyped-def]
    servers = McpServers([make_spec("warm")])
    try:
        await asyncio.to_thread(servers.start_all)
        lazy = servers.instance("lazy", lambda: make_spec("lazy"))
        assert not lazy.running  # made, not started: the first call starts it
        assert text(await lazy.call("1", "ping", {})) == "pong"
        first_pid = lazy.pid
        assert servers.reap(600, now=lazy.last_used + 599) == []  # not idle long enough
        later = max(lazy.last_used, servers["warm"].last_used) + 601
        assert servers.reap(600, now=later) == ["lazy"]  # the warm one stays
        assert not lazy.running and servers["warm"].running
        assert first_pid is not None and _gone(first_pid)
        assert text(await lazy.call("2", "ping", {})) == "pong"
        assert lazy.pid != first_pid and lazy.restarts == 0 and lazy.idle_stops == 1
    finally:
        servers.close()


async def test_a_server_with_a_call_in_flight_is_never_stopped_for_idleness(
    make_spec, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    servers = McpServers([])
    try:
        lazy = servers.instance("lazy", lambda: make_spec("lazy"))
        await lazy.call("0", "ping", {})
        release = tmp_path / "release"
        call = asyncio.create_task(lazy.call("1", "wait_for", {"path": str(release)}))
        while lazy._busy == 0:  # the call has counted itself
            await asyncio.sleep(0.01)
        assert servers.reap(1, now=lazy.last_used + 10_000) == []  # in flight: not idle, however long
        release.write_text("")
        assert text(await call) == "done"
        assert servers.reap(1, now=lazy.last_used + 2) == ["lazy"]  # once it returned, idleness counts
    finally:
        servers.close()


async def test_one_process_dying_leaves_the_others_and_their_questions_alone(make_spec) -> None:  # type: ignore[no-untyped-def]
    servers = McpServers([])
    try:
        prod = servers.instance("prod", lambda: make_spec("prod"))
        staging = servers.instance("staging", lambda: make_spec("staging"))
        await asyncio.gather(prod.call("1", "ping", {}), staging.call("2", "ping", {}))
        staging_pid, prod_pid = staging.pid, prod.pid
        assert prod_pid is not None
        os.kill(prod_pid, signal.SIGKILL)
        while not _gone(prod_pid):  # the kill is delivered asynchronously
            await asyncio.sleep(0.01)
        assert text(await staging.call("3", "ping", {})) == "pong"
        assert staging.pid == staging_pid and staging.restarts == 0
        assert text(await prod.call("4", "ping", {})) == "pong"  # restarted on its next call
        assert prod.restarts == 1 and prod.pid != prod_pid
    finally:
        servers.close()


def test_the_reaper_runs_in_the_background_and_zero_never_stops(make_spec) -> None:  # type: ignore[no-untyped-def]
    servers = McpServers([])
    try:
        servers.start_reaper(0)
        assert servers._reaper is None
        servers.start_reaper(4)
        assert servers._reaper is not None and servers._reaper.is_alive()
    finally:
        servers.close()
    servers._reaper.join(timeout=10)
    assert not servers._reaper.is_alive()  # close ends it


def _gone(pid: int) -> bool:
    """Dead: no process, or a zombie not yet reaped."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] in ("Z", "X")
    except OSError:
        return True


async def test_readiness_and_the_watchdog_leave_idle_stopped_servers_stopped(make_spec) -> None:  # type: ignore[no-untyped-def]
    """Readiness is the warm servers'; the watchdog restarts a warm server that is down and an on-demand
    one that died in use, never one stopped for idleness (that would undo the idle stop)."""
    servers = McpServers([make_spec("warm")])
    try:
        idle = servers.instance("idle", lambda: make_spec("idle"))
        died = servers.instance("died", lambda: make_spec("died"))
        await asyncio.gather(idle.call("1", "ping", {}), died.call("2", "ping", {}))
        assert set(servers.warm()) == {"warm"}
        assert servers.to_restart() == [servers["warm"]]  # not started yet
        await asyncio.to_thread(servers.start_all)
        assert idle.stop_if_idle(60, now=idle.last_used + 61) and not idle.running
        pid = died.pid
        assert pid is not None
        os.kill(pid, signal.SIGKILL)
        while not _gone(pid):
            await asyncio.sleep(0.01)
        assert servers.to_restart() == [died]
    finally:
        servers.close()
