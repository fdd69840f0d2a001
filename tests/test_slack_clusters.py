"""The fleet in Slack: `/k8s clusters`, `/k8s use <cluster>`, `use <cluster>` in a thread, and help's default.

End to end through the real Bolt app and the fake Slack, with a fleet file of two fake clusters behind
one real EKS MCP server (only the models are scripted); the wording and the reachability probe alone
are tested without Slack.
"""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest

from agents.fleet import ClusterConfig, EksTarget, Fleet, Reach, ReachProbe
from agents.fleet.reach import NO_SERVER, NOT_RUNNING
from slackbot.clusters import NO_CLUSTER, FleetView, use_request
from slackbot.fleet import SlackClusterConfig
from tests.fakes.brains import default_brains
from tests.fakes.fake_cluster import FakeKubeAPI, _pod
from tests.fakes.scripted_model import ScriptedModels
from tests.fakes.slack_api import BOT_USER, Message
from tests.slack_harness import Harness, running_bot, wait_until
from tests.test_fleet_e2e import PROD_POD, STAGING_POD, fleet_coordinator

PROD_CHANNEL = "CPROD"
FLEET = f"""\
default: staging
clusters:
  staging:
    kubeconfig_context: ctx-staging
    writes: true
    approvers: [U0STAGE]
  prod:
    kubeconfig_context: ctx-prod
    channels: [{PROD_CHANNEL}]
"""


@pytest.fixture
def fleet_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, FakeKubeAPI]]:
    """Two fake clusters as two kubeconfig contexts, a fleet file binding prod to PROD_CHANNEL."""
    apis: dict[str, FakeKubeAPI] = {}
    kubeconfigs = []
    for name, pod in (("staging", STAGING_POD), ("prod", PROD_POD)):
        api = apis[name] = FakeKubeAPI().start()
        api.add(_pod(pod, "Running", {"app": name}, {}, "img"))
        kubeconfigs.append(
            api.write_kubeconfig(tmp_path / f"kc-{name}", context=f"ctx-{name}", cluster_name=name)
        )
    (tmp_path / "clusters.yaml").write_text(FLEET)
    env = {
        "MODEL_PROVIDER": "openai",
        "OPENAI_BASE_URL": "http://127.0.0.1:9/v1",  # never called: the models are scripted
        "KUBECONFIG": os.pathsep.join(str(k) for k in kubeconfigs),
        "CLUSTERS_FILE": str(tmp_path / "clusters.yaml"),
        "EKS_MCP_ALLOW_WRITE": "true",
        "MCP_SERVERS": "eks",
        "AWS_REGION": "us-east-1",
        "MCP_LOG_DIR": str(tmp_path / "log"),
        "SESSION_STORAGE_PATH": str(tmp_path / "sessions"),
        "TMPDIR": str(tmp_path),
    }
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    yield apis
    for api in apis.values():
        api.stop()


def fleet_models() -> ScriptedModels:
    return ScriptedModels({**default_brains(), "coordinator": fleet_coordinator})


def reached(apis: dict[str, FakeKubeAPI]) -> set[str]:
    return {name for name, api in apis.items() if any("/pods" in r["path"] for r in api.requests)}


async def command(h: Harness, text: str, channel: str = "C1") -> tuple[dict[str, Any], dict[str, Any]]:
    """/k8s `text`: what its ack carried, and the one reply it then sent to its response_url."""
    before = len(h.slack.responses)
    ack = await asyncio.to_thread(
        h.slack.wait_ack, h.slack.send_slash_command(text, user_id="U7", channel_id=channel)
    )
    await wait_until(lambda: len(h.slack.responses) > before, f"the reply to /k8s {text}")
    return ack, h.slack.responses[before]


def line_of(text: str, cluster: str) -> str:
    [line] = [ln for ln in text.splitlines() if ln.startswith(f"• `{cluster}`:")]
    return line


def roots(h: Harness, channel: str) -> list[Message]:
    found = (
        m
        for m in list(h.slack.messages.values())
        if m.channel == channel and m.thread_ts is None and m.user == BOT_USER
    )
    return sorted(found, key=lambda m: float(m.ts))


async def test_clusters_lists_mode_writes_reach_and_the_channel_s_default_after_the_ack(
    fleet_env: dict[str, FakeKubeAPI], tmp_path: Path
) -> None:
    async with running_bot(fleet_models(), tmp_path) as h:
        await asyncio.to_thread(h.assistant.start)  # as `sre-bot run` does: the default cluster's server
        ack, here = await command(h, "clusters", channel="C1")
        asked = h.slack.mention("list the pods in default", channel=PROD_CHANNEL)  # starts prod's server
        await asyncio.to_thread(h.slack.send_event, asked)
        await h.final_reply(PROD_CHANNEL, asked["ts"])
        fleet_env["prod"].stop()
        _ack, there = await command(h, "clusters", channel=PROD_CHANNEL)
    assert "text" not in (ack["ack"] or {})  # acked at once; the list came after the probe
    assert here["response_type"] == "ephemeral"
    assert line_of(here["text"], "staging") == (
        "• `staging`: kubeconfig context `ctx-staging` · changes with approval · reachable · "
        "*default in this channel*"
    )
    assert line_of(here["text"], "prod") == (
        "• `prod`: kubeconfig context `ctx-prod` · read-only (changes need `writes: true` under "
        f"clusters.prod in CLUSTERS_FILE) · reachable: unknown ({NOT_RUNNING}); `sre-bot doctor` checks each one"
    )
    assert line_of(there["text"], "staging").endswith("· reachable · the fleet's default")
    prod = line_of(there["text"], "prod")
    assert "· not reachable: `" in prod  # the server's own error, in code
    assert prod.endswith("· *default in this channel* (the file binds it here)")
    namespaces = [r for r in fleet_env["staging"].requests if r["path"] == "/api/v1/namespaces"]
    assert len(namespaces) == 2  # the probe reads namespaces, once per /k8s clusters


class HeldProbe(ReachProbe):
    """A probe whose clusters answer only once the test lets them."""

    def __init__(self) -> None:
        super().__init__(lambda _cluster: None)
        self.asked, self.released = asyncio.Event(), asyncio.Event()

    async def check(self, fleet: Fleet[Any]) -> dict[str, Reach]:
        self.asked.set()
        await self.released.wait()
        return dict.fromkeys(fleet.clusters, Reach(True))


async def test_clusters_is_acked_before_any_cluster_is_asked(
    fleet_env: dict[str, FakeKubeAPI], tmp_path: Path
) -> None:
    async with running_bot(fleet_models(), tmp_path) as h:
        assert h.bot.handlers.clusters is not None
        probe = h.bot.handlers.clusters.probe = HeldProbe()
        ack = await asyncio.to_thread(h.slack.wait_ack, h.slack.send_slash_command("clusters"))
        await asyncio.wait_for(probe.asked.wait(), 10)
        assert h.slack.responses == []  # acked while the clusters had not answered yet ...
        assert ack["acked"] - ack["sent"] < 3  # ... by the listener (Bolt's own fallback comes after 3 s)
        probe.released.set()
        await wait_until(lambda: h.slack.responses, "the list")
    assert "text" not in (ack["ack"] or {})
    assert line_of(h.slack.responses[0]["text"], "prod").startswith("• `prod`: kubeconfig context")


async def test_use_opens_a_thread_whose_questions_are_about_that_cluster(
    fleet_env: dict[str, FakeKubeAPI], tmp_path: Path
) -> None:
    models = fleet_models()
    async with running_bot(models, tmp_path) as h:
        ack = await asyncio.to_thread(h.slack.wait_ack, h.slack.send_slash_command("use prod", user_id="U7"))
        await wait_until(lambda: roots(h, "C1"), "the thread /k8s use opened")
        [root] = roots(h, "C1")
        await wait_until(lambda: not h.bot.conversations.tasks, "the thread's cluster kept")
        asked = h.slack.mention("list the pods in default", thread_ts=root.ts)
        await asyncio.to_thread(h.slack.send_event, asked)
        [answer] = await h.final_reply("C1", root.ts)
        in_thread = reached(fleet_env)
        elsewhere = h.slack.mention("list the pods in default")  # another thread: the channel's default
        await asyncio.to_thread(h.slack.send_event, elsewhere)
        [other] = await h.final_reply("C1", elsewhere["ts"])
    assert "text" not in (ack["ack"] or {})
    assert root.text.startswith("<@U7> used `/k8s use`. Questions in this thread are about *prod* (")
    assert "kubeconfig context `ctx-prod`" in root.text
    assert PROD_POD in answer.final_text and in_thread == {"prod"}
    assert "(this thread's)" in models.models["coordinator"].requests[0].system
    assert STAGING_POD in other.final_text


async def test_use_in_a_thread_moves_it_and_is_no_question(
    fleet_env: dict[str, FakeKubeAPI], tmp_path: Path
) -> None:
    models = fleet_models()
    async with running_bot(models, tmp_path) as h:
        first = h.slack.mention("list the pods in default")
        await asyncio.to_thread(h.slack.send_event, first)
        await h.final_reply("C1", first["ts"])
        use = h.slack.mention("use Prod", thread_ts=first["ts"])
        await asyncio.to_thread(h.slack.send_event, use)
        await wait_until(lambda: len(h.bot_messages("C1", first["ts"])) == 2, "the confirmation")
        fleet_env["staging"].requests.clear()
        again = h.slack.mention("list the pods in default again", thread_ts=first["ts"])
        await asyncio.to_thread(h.slack.send_event, again)
        replies = await h.final_reply("C1", first["ts"], count=3)
    confirmation = replies[1].text
    assert confirmation.startswith(
        "Questions in this thread are about *prod* (kubeconfig context `ctx-prod`;"
    )
    assert PROD_POD in replies[2].final_text and reached(fleet_env) == {"prod"}
    asked = {r.user_text for r in models.models["coordinator"].requests}
    assert asked == {"list the pods in default", "list the pods in default again"}  # `use` reached no model


async def test_an_unknown_cluster_answers_with_the_known_ones_escaped_and_opens_no_thread(
    fleet_env: dict[str, FakeKubeAPI], tmp_path: Path
) -> None:
    models = fleet_models()
    async with running_bot(models, tmp_path) as h:
        _ack, slash = await command(h, "use <!channel>")
        _ack, bare = await command(h, "use")
        _ack, uninvited = await command(h, "use prod", channel="CXOUT")  # the fake Slack: not_in_channel
        first = h.slack.mention("use <!here>")
        await asyncio.to_thread(h.slack.send_event, first)
        await wait_until(lambda: h.bot_messages("C1", first["ts"]), "the answer in the thread")
        [in_thread] = h.bot_messages("C1", first["ts"])
        opened = roots(h, "C1")
    known = "Known clusters: staging (default), prod."
    assert slash["text"] == f"There is no cluster `&lt;!channel&gt;` in this bot's fleet. {known}"
    assert bare["text"] == f"Which cluster? `/k8s use <cluster>` keeps a new thread on it. {known}"
    assert in_thread.text == f"There is no cluster `&lt;!here&gt;` in this bot's fleet. {known}"
    assert uninvited["text"] == "I can't post in this channel: invite me first: `/invite @sre-bot`."
    assert opened == [] and models.models["coordinator"].requests == []


async def test_help_shows_the_channel_s_default_and_the_fleet(
    fleet_env: dict[str, FakeKubeAPI], tmp_path: Path
) -> None:
    async with running_bot(fleet_models(), tmp_path) as h:
        there = await asyncio.to_thread(
            h.slack.wait_ack, h.slack.send_slash_command("help", channel_id=PROD_CHANNEL)
        )
        here = await asyncio.to_thread(h.slack.wait_ack, h.slack.send_slash_command("help"))
    assert (
        "*Mode*: cluster `prod` (this channel's default) · read-only (changes need `writes: true`"
        in (there["ack"]["text"])
    )
    assert "*Mode*: cluster `staging` (the default) · changes with approval ·" in here["ack"]["text"]
    for ack in (there, here):
        assert "*Clusters*: `staging`, `prod`;" in ack["ack"]["text"]
        assert "`/k8s use <cluster>`" in ack["ack"]["text"]


async def test_without_a_fleet_file_clusters_lists_the_one_cluster_and_use_has_nothing_to_choose(
    agent_env: Path, tmp_path: Path
) -> None:
    async with running_bot(ScriptedModels(default_brains()), tmp_path) as h:
        _ack, before_start = await command(h, "clusters")
        await asyncio.to_thread(h.assistant.start)
        _ack, listed = await command(h, "clusters")
        _ack, used = await command(h, "use fake-k3s")
        helped = await asyncio.to_thread(h.slack.wait_ack, h.slack.send_slash_command("help"))
        opened = roots(h, "C1")
    assert line_of(before_start["text"], "fake-k3s").endswith(
        f"reachable: unknown ({NOT_RUNNING}); `sre-bot doctor` checks each one · *default in this channel*"
    )
    assert line_of(listed["text"], "fake-k3s") == (
        "• `fake-k3s`: kubeconfig context `fake-k3s` · read-only (changes need EKS_MCP_ALLOW_WRITE=true) · "
        "reachable · *default in this channel*"
    )
    assert used["text"].startswith("This bot knows one cluster, `fake-k3s`: every question is about it")
    assert opened == []
    assert "*Mode*: cluster `fake-k3s` · read-only ·" in helped["ack"]["text"]
    assert "/k8s use" not in helped["ack"]["text"]


# --- the wording and the probe, without Slack ---------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "name"),
    [
        ("use prod", "prod"),
        ("USE Prod.", "prod"),
        ("  use   `staging`  ", "staging"),
        ("use", None),
        ("use prod now", None),
        ("please use prod", None),
        ("used prod", None),
    ],
)
def test_use_is_exactly_use_and_one_name(text: str, name: str | None) -> None:
    assert use_request(text) == name


def view(*, writes: bool, allow_write: bool, approvals: bool = True, **keys: Any) -> FleetView:
    """A fleet file's one cluster `a` under the settings' EKS_MCP_ALLOW_WRITE and approvers."""
    cluster = SlackClusterConfig(kubeconfig_context="ctx-a", writes=writes, **keys)
    return FleetView(Fleet[SlackClusterConfig](clusters={"a": cluster}), True, allow_write, approvals)


@pytest.mark.parametrize(
    ("writes", "allow_write", "expected"),
    [
        (True, True, "changes with approval"),
        (True, False, "read-only (changes need EKS_MCP_ALLOW_WRITE=true)"),
        (False, True, "read-only (changes need `writes: true` under clusters.a in CLUSTERS_FILE)"),
        (
            False,
            False,
            "read-only (changes need `writes: true` under clusters.a in CLUSTERS_FILE and EKS_MCP_ALLOW_WRITE=true)",
        ),
    ],
)
def test_writes_need_the_cluster_s_key_and_the_setting_and_say_which_is_missing(
    writes: bool, allow_write: bool, expected: str
) -> None:
    assert view(writes=writes, allow_write=allow_write).writes("a") == expected


def test_changes_nobody_can_approve_say_so_and_a_cluster_s_own_approvers_count() -> None:
    assert (
        view(writes=True, allow_write=True, approvals=False)
        .writes("a")
        .startswith("changes enabled, but nobody can approve them")
    )
    own = view(writes=True, allow_write=True, approvals=False, approvers=("U0A",))
    assert own.writes("a") == "changes with approval"


def test_an_iam_cluster_shows_its_name_region_and_role() -> None:
    target = EksTarget(name="prod-eks", region="eu-west-1", role_arn="arn:aws:iam::123456789012:role/sre")
    fleet = Fleet[ClusterConfig](clusters={"prod": ClusterConfig(eks=target)})
    shown = FleetView(fleet, True, True, True).mode("prod")
    assert shown == "EKS `prod-eks` in eu-west-1 as role `arn:aws:iam::123456789012:role/sre`"


def test_no_cluster_at_all_says_how_to_configure_one() -> None:
    empty = FleetView(None, False, False, False)
    assert empty.listing("C1", {}) == NO_CLUSTER and empty.unknown("prod") == NO_CLUSTER


class Stub:
    """An MCP server stand-in: alive or not, answering `result`, raising it, or never answering."""

    def __init__(self, result: Mapping[str, Any] | BaseException | None, alive: bool = True) -> None:
        self.result, self._alive, self.calls = result, alive, 0

    def alive(self) -> bool:
        return self._alive

    async def call(self, tool_use_id: str, name: str, arguments: dict[str, Any]) -> Mapping[str, Any]:
        self.calls += 1
        if self.result is None:
            await asyncio.sleep(3600)
        if isinstance(self.result, BaseException):
            raise self.result
        assert isinstance(self.result, Mapping)
        return self.result


TWO = Fleet[ClusterConfig](
    default="a",
    clusters={"a": ClusterConfig(kubeconfig_context="ctx-a"), "b": ClusterConfig(kubeconfig_context="ctx-b")},
)


async def test_the_probe_never_starts_a_server_and_waits_at_most_its_timeout() -> None:
    stopped = Stub({"status": "success", "content": []}, alive=False)
    assert await ReachProbe(lambda _cluster: stopped).check(TWO) == dict.fromkeys(
        "ab", Reach(None, NOT_RUNNING)
    )
    assert stopped.calls == 0
    assert await ReachProbe(lambda _cluster: None).check(TWO) == dict.fromkeys("ab", Reach(None, NO_SERVER))
    hung = Stub(None)
    started = time.monotonic()
    reach = await asyncio.wait_for(ReachProbe(lambda _cluster: hung, timeout=0.2).check(TWO), 5)
    assert time.monotonic() - started < 2 and hung.calls == 2  # both asked at once, both cut off
    assert reach == dict.fromkeys("ab", Reach(False, "no answer within 0.2 s"))


async def test_the_probe_reports_a_failure_in_one_short_line() -> None:
    failing = Stub({"status": "error", "content": [{"text": "Failed:\n  connection   refused " + "x" * 500}]})
    [reach] = set((await ReachProbe(lambda _cluster: failing).check(TWO)).values())
    assert reach.ok is False and reach.detail.startswith("Failed: connection refused xx")
    assert len(reach.detail) == 160
    raising = Stub(RuntimeError("session closed"))
    assert (await ReachProbe(lambda _cluster: raising).check(TWO))["a"] == Reach(
        False, "RuntimeError: session closed"
    )
