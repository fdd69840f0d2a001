"""Per-question tool overhead: warm shared MCP servers (this design) vs spawn-a-server-per-question (seed).

Both sides answer the same question through the same coordinator → eks_assistant → list_k8s_resources
path, against the same fake cluster, with a zero-latency scripted model, in one run. The only difference
is how the specialist gets its MCP tools: shared long-lived servers, or a server spawned, listed and
closed per question (the seed did that with `uv tool run …@latest`, slower still; here it runs the same
pinned install so the comparison needs no network). Also prints the tool-spec tokens each agent sends per
model call. Run: `uv run python -m bench.mcp_overhead [--warm N] [--cold N]`.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import sys
import time
from typing import Any

from mcp import StdioServerParameters
from mcp.client.stdio import stdio_client
from strands import Agent
from strands.tools.mcp import MCPClient
from strands.types.tools import AgentTool, ToolGenerator, ToolUse

from agents.capabilities import EKS, FINOPS
from agents.coordinator import Assistant
from agents.events import FinalAnswer
from agents.mcp.servers import McpServer
from agents.runner import ConversationRunner
from agents.server_specs import server_specs
from agents.settings import load_settings
from agents.specialists import SpecialistTool, select_tools
from bench.common import fake_world
from tests.fakes.brains import default_brains
from tests.fakes.scripted_model import ScriptedModels

QUESTION = "list the pods in default"


class SpawnPerQuestionTool(SpecialistTool):
    """The seed's pattern: a new server process per question, tools listed, one answer, process closed."""

    async def stream(
        self, tool_use: ToolUse, invocation_state: dict[str, Any], **kwargs: Any
    ) -> ToolGenerator:
        spec = next(s for s in server_specs(self.context_settings) if s.name == self.spec.server)
        assert spec.command
        params = StdioServerParameters(command=spec.command, args=spec.args, env=spec.env)
        devnull = open(os.devnull, "w")  # noqa: SIM115, ASYNC230 - a cheap local open, closed below
        client = MCPClient(lambda: stdio_client(params, errlog=devnull))  # type: ignore[arg-type,return-value]
        await asyncio.to_thread(client.start)
        try:
            tools = await asyncio.to_thread(client.list_tools_sync)
            agent = Agent(
                name=self.spec.name,
                model=self.context.model_factory(self.spec.name),
                system_prompt=self.spec.prompt.format(**self.context.prompt_values),
                tools=list[Any](tools),
                callback_handler=None,
            )
            async for event in self.run_agent(agent, tool_use, invocation_state, **kwargs):
                yield event
        finally:
            await asyncio.to_thread(client.stop, None, None, None)
            devnull.close()

    context_settings: Any = None


def spec_tokens(tools: list[AgentTool]) -> tuple[int, int]:
    """(tool count, estimated tokens) of the specs an agent sends with every model call (chars / 4)."""
    chars = sum(len(json.dumps(t.tool_spec)) for t in tools)
    return len(tools), chars // 4


async def timed_questions(runner: ConversationRunner, n: int, expect: str) -> list[float]:
    times = []
    for _ in range(n):
        started = time.perf_counter()
        final = None
        async for event in runner.ask(QUESTION):
            if isinstance(event, FinalAnswer):
                final = event.text
        times.append(time.perf_counter() - started)
        if final is None or expect not in final:
            raise SystemExit(f"wrong answer: {final!r}")
    return times


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--warm", type=int, default=40, help="questions on warm servers")
    parser.add_argument("--cold", type=int, default=12, help="questions with a server spawned per question")
    args = parser.parse_args()

    _workdir, kube = fake_world(
        "mcp",
        AWS_ACCESS_KEY_ID="testing",
        AWS_SECRET_ACCESS_KEY="testing",
        AWS_ENDPOINT_URL="http://127.0.0.1:9",
        EKS_MCP_ALLOW_SENSITIVE_DATA="true",
    )
    settings = load_settings()

    warm = Assistant(settings, models=ScriptedModels(default_brains()))
    errors = warm.start()
    if errors.get("eks"):
        raise SystemExit(f"EKS server did not start: {errors['eks']}")
    cold = Assistant(settings, models=ScriptedModels(default_brains()))
    seed_tool = SpawnPerQuestionTool(EKS, cold.context)
    seed_tool.context_settings = settings
    cold.specialists = [seed_tool, *[s for s in cold.specialists if s.tool_name != EKS.name]]

    async def run() -> tuple[list[float], list[float]]:
        warm_runner = ConversationRunner(warm, None)
        cold_runner = ConversationRunner(cold, None)
        await timed_questions(warm_runner, 3, "web-")  # warm-up: imports, first discovery cache
        warm_times: list[float] = []
        cold_times: list[float] = []
        # Interleave so both sides see the same machine load.
        rounds = max(args.warm, args.cold)
        for i in range(rounds):
            if i < args.warm:
                warm_times += await timed_questions(warm_runner, 1, "web-")
            if i < args.cold:
                cold_times += await timed_questions(cold_runner, 1, "web-")
        return warm_times, cold_times

    warm_times, cold_times = asyncio.run(run())
    calls_before = len([r for r in kube.requests if "/pods" in r["path"]])

    warm_med = statistics.median(warm_times)
    cold_med = statistics.median(cold_times)
    print(f"question: {QUESTION!r} (coordinator → eks_assistant → list_k8s_resources, zero-latency model)")
    print(
        f"warm shared servers   : median {warm_med * 1000:7.1f} ms  p90 {sorted(warm_times)[int(len(warm_times) * 0.9) - 1] * 1000:7.1f} ms  (n={len(warm_times)})"
    )
    print(
        f"spawn per question    : median {cold_med * 1000:7.1f} ms  p90 {sorted(cold_times)[int(len(cold_times) * 0.9) - 1] * 1000:7.1f} ms  (n={len(cold_times)})"
    )
    print(f"ratio spawn / warm    : {cold_med / warm_med:7.1f}x")
    print(f"pod list requests that reached the fake cluster: {calls_before}")

    print("\ntool specs sent per model call (estimated tokens = characters / 4):")
    coordinator_tools: list[AgentTool] = list(warm.specialists)
    print(
        f"  coordinator              : {spec_tokens(coordinator_tools)[0]:2d} tools, ~{spec_tokens(coordinator_tools)[1]:6d} tokens"
    )
    eks_server = warm.servers["eks"]
    eks_tools = select_tools(EKS, eks_server, output_budget=settings.tool_result_max_chars)
    print(
        f"  eks_assistant (kubeconfig): {spec_tokens(eks_tools)[0]:2d} tools, ~{spec_tokens(eks_tools)[1]:6d} tokens"
    )
    print(
        f"    all EKS tools, untrimmed: ~{sum(len(json.dumps(s)) for s in eks_server.tool_specs().values()) // 4:6d} tokens"
    )

    iam_spec = next(s for s in server_specs(settings) if s.name == "eks")
    iam_spec.args = ["--auth-mode", "iam"]
    iam_spec.env.pop("KUBECONFIG", None)
    iam_server = McpServer(iam_spec)
    iam_server.start()
    iam_tools = select_tools(EKS, iam_server, output_budget=settings.tool_result_max_chars)
    print(
        f"  eks_assistant (IAM)       : {spec_tokens(iam_tools)[0]:2d} tools, ~{spec_tokens(iam_tools)[1]:6d} tokens"
    )
    print(
        f"    all EKS tools, untrimmed: ~{sum(len(json.dumps(s)) for s in iam_server.tool_specs().values()) // 4:6d} tokens"
    )
    iam_server.close()
    billing = warm.servers["billing"]
    if billing.available:
        fin_tools = select_tools(FINOPS, billing, output_budget=settings.tool_result_max_chars)
        print(
            f"  finops_assistant          : {spec_tokens(fin_tools)[0]:2d} tools, ~{spec_tokens(fin_tools)[1]:6d} tokens"
        )
        print(
            f"    all billing tools       : ~{sum(len(json.dumps(s)) for s in billing.tool_specs().values()) // 4:6d} tokens"
        )
    else:
        print(f"  finops_assistant          : billing server unavailable: {billing.error}")
    warm.close()
    cold.close()
    kube.stop()
    ok = warm_med <= 0.050 and cold_med / warm_med >= 25
    print(f"\ntargets (warm ≤ 50 ms, ≥ 25x): {'met' if ok else 'NOT met'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
