"""Alerts end to end: a real Alertmanager delivers to the bot's listener, and the bot opens one thread per
alert group with a header and an investigation that names the failing pod (the real EKS MCP server over
the fake cluster; only the models are scripted).

Alertmanager, not the test, groups the alerts, sends them with the bearer token, repeats them and
resolves them; the test only pushes alerts to Alertmanager's own API and watches the fake Slack.
"""

from __future__ import annotations

import asyncio
import json
import time
import urllib.error
import urllib.request
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest

from slackbot.alerts.service import AlertService, build_alerts, start_alerts
from slackbot.alerts.settings import AlertSettings
from tests.fakes.brains import default_brains
from tests.fakes.scripted_model import Reply, ScriptedModels, ToolCall, Turn
from tests.fakes.slack_api import BOT_USER, TEAM, FakeSlack, Message
from tests.real_alertmanager import RealAlertmanager
from tests.real_prometheus import free_port
from tests.slack_harness import Harness, running_bot
from tests.sns_signing import (
    CERT_URL,
    TOPIC_ARN,
    CertServer,
    alarm_message,
    make_ca,
    make_signing_cert,
    notification,
    pem,
    sign_message,
)

TOKEN = "alertmanager-bearer-4f1c9a7e2d"
CHANNEL = "C1"
CRASHING = {
    "labels": {
        "alertname": "KubePodCrashLooping",
        "namespace": "default",
        "pod": "crashy-7f9c",
        "severity": "critical",
    },
    "annotations": {
        "summary": "Pod default/crashy-7f9c is crash looping",
        "runbook_url": "https://runbooks.example.com/KubePodCrashLooping",
    },
    "generatorURL": "http://prometheus.example:9090/graph?g0.expr=x",
}


def coordinator(turn: Turn) -> Reply:
    """Asks the Kubernetes specialist about the pod the alert names, then answers in the sections."""
    if not turn.tool_results:
        if "crashy-7f9c" not in turn.user_text or "<untrusted-data" not in turn.user_text:
            return "## What fired\nan alarm without a pod to look at"
        return ToolCall("eks_assistant", {"query": "why is pod crashy-7f9c in default failing?"})
    found = turn.unfenced_results()[-1].strip()
    return (
        "## What fired\nKubePodCrashLooping for default/crashy-7f9c\n## Findings\n"
        f"{found}\n## Likely cause\nDATABASE_URL is not set\n## Next steps\nSet it.\n## Runbook\n"
        "https://runbooks.example.com/KubePodCrashLooping"
    )


@pytest.fixture
def models() -> ScriptedModels:
    return ScriptedModels({**default_brains(), "coordinator": coordinator})


def roots(h: Harness) -> list[Message]:
    """The bot's thread roots in the alert channel: one per alert group."""
    return [
        m
        for m in h.slack.messages.values()
        if m.channel == CHANNEL and m.thread_ts is None and m.user == BOT_USER
    ]


async def until(condition: Callable[[], Any], what: str, within: float = 60) -> Any:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        found = condition()
        if found:
            return found
        await asyncio.sleep(0.1)
    raise TimeoutError(f"not seen within {within}s: {what}")


@asynccontextmanager
async def listening(
    h: Harness, port: int, fetch: Callable[[str], bytes] | None = None, **more: Any
) -> AsyncIterator[AlertService]:
    settings = AlertSettings(
        _env_file=None,  # type: ignore[call-arg]
        alerts_port=port,
        alerts_host="127.0.0.1",
        alerts_token=TOKEN,
        alert_channel=CHANNEL,
        **more,
    )
    service = build_alerts(
        settings,
        h.core,
        client=h.bot.client,
        budget=h.bot.budget,
        conversations=h.bot.conversations,
        team=TEAM,
        **({"fetch": fetch} if fetch else {}),
    )
    await start_alerts(service, settings)
    try:
        yield service
    finally:
        await service.stop()


def header_text(message: Message) -> str:
    return message.text + " " + " ".join(str(b) for b in message.blocks)


async def test_alertmanager_opens_one_thread_investigates_repeats_and_resolves(
    agent_env: Path, tmp_path: Path, models: ScriptedModels
) -> None:
    port = free_port()
    am = RealAlertmanager(tmp_path / "am", f"http://127.0.0.1:{port}/alerts/alertmanager", TOKEN).start()
    try:
        async with running_bot(models, tmp_path) as h, listening(h, port):
            await asyncio.to_thread(am.push, [CRASHING])
            [root] = await until(lambda: roots(h), "the alert's header")
            assert "KubePodCrashLooping" in header_text(root) and "critical" in header_text(root)
            assert "runbooks.example.com/KubePodCrashLooping" in header_text(root)

            def investigation() -> str:
                replies = [m for m in h.slack.thread(CHANNEL, root.ts) if m.user == BOT_USER]
                return next((m.final_text for m in replies if "## Likely cause" in m.final_text), "")

            answer = await until(investigation, "the investigation in the thread")
            assert "crashy-7f9c" in answer and "DATABASE_URL is not set" in answer

            # Alertmanager repeats the group (repeat_interval): the header counts, no second thread
            await until(lambda: "2 notifications" in header_text(root), "the header counting a repeat", 30)
            assert len(roots(h)) == 1
            assert len(models.models["coordinator"].requests) == 2  # one investigation: call, then answer

            await asyncio.to_thread(am.resolve, [CRASHING])
            await until(lambda: "*Resolved* after" in header_text(root), "the header resolved", 30)
            assert len(roots(h)) == 1
    finally:
        am.stop()


async def test_a_wrong_token_is_refused_and_posts_nothing(
    agent_env: Path, tmp_path: Path, models: ScriptedModels
) -> None:
    port = free_port()
    async with running_bot(models, tmp_path) as h, listening(h, port):
        for authorization in ("Bearer wrong-token-0000000000", ""):
            request = urllib.request.Request(
                f"http://127.0.0.1:{port}/alerts/alertmanager",
                data=b'{"version": "4"}',
                headers={"Authorization": authorization} if authorization else {},
                method="POST",
            )
            with pytest.raises(urllib.error.HTTPError) as refused:
                await asyncio.to_thread(urllib.request.urlopen, request, timeout=5)
            assert refused.value.code == 401
        await asyncio.sleep(0.5)
        assert roots(h) == [] and await asyncio.to_thread(h.core.stores.alert_inbox.pending) == []


def post(port: int, path: str, body: dict[str, Any]) -> int:
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}{path}",
        data=json.dumps(body).encode(),
        headers={"Content-Type": "text/plain; charset=UTF-8"},  # as SNS posts it
        method="POST",
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return int(response.status)
    except urllib.error.HTTPError as exc:
        return int(exc.code)


async def test_a_signed_cloudwatch_alarm_opens_a_thread_and_a_forged_one_is_refused(
    agent_env: Path, tmp_path: Path, models: ScriptedModels
) -> None:
    ca_key, ca = make_ca()
    key, cert = make_signing_cert(ca_key, ca)
    ca_file = tmp_path / "sns-ca.pem"
    ca_file.write_bytes(pem(ca))
    certs = CertServer({CERT_URL: cert})
    port = free_port()
    async with (
        running_bot(models, tmp_path) as h,
        listening(h, port, certs, alerts_sns_topic_arns=TOPIC_ARN, alerts_sns_ca_file=ca_file),
    ):
        forged = sign_message(notification(alarm_message()), key)
        forged["Message"] = alarm_message(AlarmName="forged-after-signing")
        assert await asyncio.to_thread(post, port, "/alerts/sns", forged) == 403
        other_key, _ = make_signing_cert(*make_ca("another CA"))  # not the key of the certificate at CERT_URL
        assert (
            await asyncio.to_thread(
                post, port, "/alerts/sns", sign_message(notification(alarm_message()), other_key)
            )
            == 403
        )
        assert roots(h) == []

        signed = sign_message(notification(alarm_message()), key)
        assert await asyncio.to_thread(post, port, "/alerts/sns", signed) == 200
        [root] = await until(lambda: roots(h), "the alarm's header")
        assert "node-cpu-high" in header_text(root)
        assert (
            await asyncio.to_thread(post, port, "/alerts/sns", signed) == 200
        )  # SNS retried: same MessageId
        await asyncio.sleep(0.5)
        assert len(roots(h)) == 1 and not root.edits  # the retry changed nothing
        assert certs.calls == [CERT_URL]  # fetched once, then cached


async def test_a_restart_between_firing_and_resolving_keeps_the_thread(
    agent_env: Path, tmp_path: Path, models: ScriptedModels
) -> None:
    port = free_port()
    am = RealAlertmanager(
        tmp_path / "am", f"http://127.0.0.1:{port}/alerts/alertmanager", TOKEN, repeat="1h"
    ).start()
    slack = FakeSlack().start()
    try:
        async with running_bot(models, tmp_path, slack=slack) as h, listening(h, port):
            await asyncio.to_thread(am.push, [CRASHING])
            [root] = await until(lambda: roots(h), "the alert's header")
        async with running_bot(models, tmp_path, slack=slack) as h, listening(h, port):  # a new process
            await asyncio.to_thread(am.resolve, [CRASHING])
            await until(
                lambda: "*Resolved* after" in header_text(root), "the first thread's header resolved", 30
            )
            assert roots(h) == [root]
    finally:
        am.stop()
        slack.stop()
