"""Time from an Approve click to the approved call reaching the cluster, and what the gate adds.

Through the real Bolt app (fake Slack), the real EKS MCP server and the fake cluster, with a zero-latency
scripted model. Side by side in one run:
- click → DELETE: the Approve envelope leaving the fake Slack until the DELETE arrives at the fake cluster
  (ack, authorization, atomic claim, card update, resume from the session on disk, the call);
- direct → DELETE: the same delete called on the warm MCP server with no gate at all.
The difference is what the gate adds. Run: `uv run python -m bench.approval_latency [--n 15]`.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import time
from pathlib import Path

from bench.common import fake_world
from slackbot.approvals.cards import APPROVE_ACTION
from tests.fakes.brains import default_brains
from tests.fakes.fake_cluster import FakeKubeAPI
from tests.fakes.scripted_model import ScriptedModels
from tests.slack_harness import running_bot


async def run(n: int, workdir: Path, kube: FakeKubeAPI) -> tuple[list[float], list[float]]:
    gated: list[float] = []
    direct: list[float] = []
    async with running_bot(ScriptedModels(default_brains()), workdir) as h:
        server = h.assistant.servers["eks"]
        for i in range(n):
            name = f"bench-{i}"
            kube.add({"kind": "ConfigMap", "metadata": {"name": name, "namespace": "default"}, "data": {}})
            event = h.slack.mention(f"delete configmap {name}")
            await asyncio.to_thread(h.slack.send_event, event)
            card = None
            while card is None or h.bot.conversations.tasks:
                await asyncio.sleep(0.01)
                found = [
                    m
                    for m in h.slack.thread(event["channel"], event["ts"])
                    if any(b.get("type") == "actions" for b in m.blocks)
                ]
                card = found[0] if found else None
            value = next(e["value"] for b in card.blocks if b.get("type") == "actions" for e in b["elements"])
            before = len(kube.requests)
            envelope = await asyncio.to_thread(
                h.slack.send_block_action,
                APPROVE_ACTION,
                value,
                user_id="U2",
                channel_id=event["channel"],
                message_ts=card.ts,
            )
            sent = h.slack.envelopes[envelope]["sent"]
            while not [r for r in kube.requests[before:] if r["method"] == "DELETE"]:
                await asyncio.sleep(0.001)
            arrived = next(r for r in kube.requests[before:] if r["method"] == "DELETE")["time"]
            gated.append(arrived - sent)
            while h.bot.conversations.tasks:
                await asyncio.sleep(0.01)

            other = f"direct-{i}"
            kube.add({"kind": "ConfigMap", "metadata": {"name": other, "namespace": "default"}, "data": {}})
            before = len(kube.requests)
            started = time.monotonic()
            await server.call(
                "bench",
                "manage_k8s_resource",
                {
                    "operation": "delete",
                    "cluster_name": "fake-k3s",
                    "kind": "ConfigMap",
                    "api_version": "v1",
                    "name": other,
                    "namespace": "default",
                },
            )
            arrived = next(r for r in kube.requests[before:] if r["method"] == "DELETE")["time"]
            direct.append(arrived - started)
    return gated, direct


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--n", type=int, default=15)
    args = parser.parse_args()
    workdir, kube = fake_world("approval", EKS_MCP_ALLOW_WRITE="true", APPROVER_USER_IDS="U2")
    gated, direct = asyncio.run(run(args.n, workdir, kube))
    kube.stop()
    g, d = statistics.median(gated) * 1000, statistics.median(direct) * 1000
    print(
        f"click → DELETE at the cluster : median {g:6.1f} ms  max {max(gated) * 1000:6.1f} ms  (n={len(gated)})"
    )
    print(f"direct MCP call → DELETE      : median {d:6.1f} ms  max {max(direct) * 1000:6.1f} ms")
    print(f"added by the gate and resume  : median {g - d:6.1f} ms  (target < 100 ms)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
