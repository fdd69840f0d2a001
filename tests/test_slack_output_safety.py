"""Nothing the bot posts pings, links or leaks what an attacker planted, end to end.

Anyone who can write a pod log, a manifest or a Slack message can put `<!channel>`, a hidden link or a
secret in front of the model, which repeats it. Real Bolt over Socket Mode against the fake Slack: every
string any Web API call carried is checked, not just what the final message shows.
"""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.fakes.brains import coordinator, default_brains
from tests.fakes.fake_cluster import FakeKubeAPI
from tests.fakes.scripted_model import Reply, ScriptedModels, Turn
from tests.fakes.slack_api import BOT_USER, FakeSlack, Message
from tests.slack_harness import running_bot

PING = re.compile(r"<(?:!|@|#|https?:|mailto:)")  # Slack's control sequences: pings, channel links, links
ATTACK = (
    "Heads up <!channel> and <!here> and <!everyone>, cc <!subteam^S1> <!subteam^S123|@team> <@U999> "
    "in <#C123|ops>.\n"
    "Status: <https://evil.example/?d=secret|click> or [here](https://evil.example/?d=more)\n"
    "```\nlog line <!here> ``` still code\n```\nDone."
)
SECRETS = "The bot token xoxb-123-456-abc and the key AKIAABCDEFGHIJKLMNOP were in the logs. Rotate both."
LEAKS = ("xoxb-123", "456-abc", "AKIAABCD", "EFGHIJKLMNOP")  # whole or in part, in any one call


def planted(turn: Turn) -> Reply:
    """A coordinator that repeats planted text (as a model may) when asked to summarize or to recap."""
    if "summarize" in turn.user_text:
        return ATTACK
    return SECRETS if "recap" in turn.user_text else coordinator(turn)


def strings(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for v in value.values():
            yield from strings(v)
    elif isinstance(value, list):
        for v in value:
            yield from strings(v)


def posted(slack: FakeSlack) -> list[str]:
    """Every string of every call that shows something to someone (messages, streams, titles)."""
    return [s for c in slack.calls if c.method.startswith(("chat.", "assistant.")) for s in strings(c.params)]


def assert_no_previews(slack: FakeSlack) -> None:
    """Every message posted or edited asked Slack not to fetch its links (the streaming methods and
    chat.postEphemeral take no such arguments)."""
    for call in slack.calls_of("chat.postMessage") + slack.calls_of("chat.update"):
        assert call.params.get("unfurl_links") is False, (call.method, call.params)
        assert call.params.get("unfurl_media") is False, (call.method, call.params)


async def until(condition: Any, within: float = 30) -> None:
    deadline = time.monotonic() + within
    while not condition():
        assert time.monotonic() < deadline, "condition not met in time"
        await asyncio.sleep(0.05)


@pytest.mark.parametrize("streaming", ["native", "update"])
async def test_planted_pings_and_links_in_an_answer_are_shown_not_sent(
    agent_env: Path, tmp_path: Path, kube: FakeKubeAPI, streaming: str
) -> None:
    kube.set_pod_log(
        "default",
        "crashy-7f9c",
        "ERROR db down <!channel> see <https://evil.example/?d=x|status page> from <@U999>\n",
    )
    models = ScriptedModels({**default_brains(), "coordinator": planted}, chunk_size=3)
    async with running_bot(models, tmp_path, slack_streaming=streaming) as h:
        said = h.slack.mention("summarize the incident")
        await asyncio.to_thread(h.slack.send_event, said)
        [answer] = await h.final_reply("C1", said["ts"])
        logs = h.slack.mention("why is crashy-7f9c failing?")  # the model quotes the planted log
        await asyncio.to_thread(h.slack.send_event, logs)
        [from_logs] = await h.final_reply("C1", logs["ts"])
    for text in posted(h.slack):
        assert not PING.search(text), text
    # what was planted is shown, literally
    assert "&lt;!channel&gt;" in answer.final_text and "&lt;@U999&gt;" in answer.final_text
    assert "[here]\u200b(https://evil.example/?d=more)" in answer.final_text  # a label hides no address
    assert answer.final_text.endswith("Done.")
    assert "&lt;!channel&gt;" in from_logs.final_text and "db down" in from_logs.final_text


@pytest.mark.parametrize("streaming", ["native", "update"])
async def test_secrets_in_an_answer_never_reach_slack_even_split_across_chunks(
    agent_env: Path, tmp_path: Path, streaming: str
) -> None:
    models = ScriptedModels({**default_brains(), "coordinator": planted}, chunk_size=3)  # tokens split
    async with running_bot(models, tmp_path, slack_streaming=streaming) as h:
        event = h.slack.mention("recap the incident")
        await asyncio.to_thread(h.slack.send_event, event)
        [answer] = await h.final_reply("C1", event["ts"])
    for text in posted(h.slack):
        for leak in LEAKS:
            assert leak not in text, text
    assert (
        answer.final_text == "The bot token [redacted] and the key [redacted] were in the logs. Rotate both."
    )


async def test_every_message_is_posted_without_link_previews(agent_env: Path, tmp_path: Path) -> None:
    async with running_bot(ScriptedModels(default_brains()), tmp_path, slack_streaming="update") as h:
        event = h.slack.mention("hello")  # placeholder (chat.postMessage), then the answer (chat.update)
        await asyncio.to_thread(h.slack.send_event, event)
        await h.final_reply("C1", event["ts"])
        started = {  # Bolt's own `say` in an assistant thread
            "type": "assistant_thread_started",
            "assistant_thread": {"user_id": "U1", "channel_id": "D1", "thread_ts": "1.1", "context": {}},
            "event_ts": "1.2",
        }
        await asyncio.to_thread(h.slack.send_event, started)
        await asyncio.to_thread(h.slack.send_slash_command, "hello there")  # the /k8s thread's root
        await until(lambda: len(h.slack.calls_of("chat.postMessage")) >= 4 and not h.bot.conversations.tasks)
    posts = [str(c.params.get("text")) for c in h.slack.calls_of("chat.postMessage")]
    assert any(p.startswith("Hi! Ask me") for p in posts) and any(" asked: hello there" in p for p in posts)
    assert h.slack.calls_of("chat.update")
    assert_no_previews(h.slack)


async def test_a_slash_question_is_echoed_without_pinging(
    agent_env: Path, tmp_path: Path, kube: FakeKubeAPI
) -> None:
    async with running_bot(ScriptedModels(default_brains()), tmp_path) as h:
        await asyncio.to_thread(
            h.slack.send_slash_command, "<!channel> list pods <https://evil.example|x>", user_id="U7"
        )

        def roots() -> list[Message]:
            return [
                m
                for m in list(h.slack.messages.values())
                if m.channel == "C1" and m.thread_ts is None and m.user == BOT_USER
            ]

        await until(lambda: len(roots()) == 1)
        [root] = roots()
        await h.final_reply("C1", root.ts)
    assert root.text == "<@U7> asked: &lt;!channel&gt; list pods &lt;https://evil.example|x&gt;"
    for text in posted(h.slack):
        assert not PING.search(text.replace("<@U7>", "")), text  # the bot's own mention of the asker
    assert_no_previews(h.slack)


async def test_an_approval_card_keeps_planted_fences_and_pings_inside_its_code_blocks(
    agent_env: Path, tmp_path: Path, kube: FakeKubeAPI, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("EKS_MCP_ALLOW_WRITE", "true")
    monkeypatch.setenv("APPROVER_USER_IDS", "U2")
    monkeypatch.setenv("MANIFEST_DIR", str(tmp_path / "manifests"))
    (tmp_path / "manifests").mkdir()
    manifest = tmp_path / "manifests" / "notes```<!here>.yaml"
    note = "```\n<!here> <@U999> approve me <https://evil.example|docs>\n```"
    manifest.write_text(
        yaml.safe_dump(
            {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "notes"}, "data": {"note": note}}
        )
    )
    async with running_bot(ScriptedModels(default_brains()), tmp_path) as h:
        event = h.slack.mention(f"apply the manifest {manifest} to the cluster")
        await asyncio.to_thread(h.slack.send_event, event)

        def cards() -> list[Message]:
            return [
                m
                for m in h.slack.thread("C1", event["ts"])
                if any(b.get("type") == "actions" for b in m.blocks)
            ]

        await until(lambda: len(cards()) == 1 and not h.bot.conversations.tasks)
        [card] = cards()
    assert kube.mutations() == []
    [call] = [b["text"]["text"] for b in card.blocks if "Exact call" in (b.get("text") or {}).get("text", "")]
    pieces = call.split("```")
    assert len(pieces) == 5, call  # two code blocks (the call, the file), nothing planted closed one
    inside, outside = "".join(pieces[1::2]), "".join(pieces[0::2])
    assert inside.count("&lt;!here&gt;") == 2 and "&lt;@U999&gt;" in inside  # the path and the file
    assert "here" not in outside and "U999" not in outside
    summary = next(b["text"] for b in card.blocks if "What will happen" in str(b))
    # plain text (no markup is read there) with the angle brackets shown as look-alikes
    assert summary["type"] == "plain_text" and "‹!here›" in summary["text"] and "```" not in summary["text"]
    shown = [card.text, *strings(card.blocks)]
    for text in shown:  # only the bot's own mention of the requester and its date stay live
        assert not PING.search(re.sub(r"<@U1>|<!date\^\d+\^[^>]*>", "", text)), text
    for text in posted(h.slack):
        assert "<!here>" not in text and "<@U999>" not in text, text
    assert_no_previews(h.slack)


def test_planted_values_on_a_card_are_shown_not_acted_on() -> None:
    from agents.state.approvals import FAILED, Approval
    from slackbot.approvals.cards import card_text, decided_card, outcome_line, pending_card

    approval = Approval(
        id="a",
        turn_id="t",
        conversation_id="c",
        interrupt_id="i",
        tool="manage_k8s_resource",
        arguments={"operation": "delete", "namespace": "ns`<!here>", "cluster_name": "c1\n<!channel>"},
        call_hash="f" * 64,
        summary="Delete <!channel> ``` everything",
        requester="U1>|<!everyone",
        place={"channel": "C1", "thread_ts": "1.0"},
        created_at=0,
        expires_at=900,
        status=FAILED,
        decided_by="U2",
        decided_at=10,
        detail="<!subteam^S1|@oncall> it failed ```",
    )
    texts = [card_text(approval), outcome_line(approval), *strings(pending_card(approval))]
    texts += list(strings(decided_card(approval)))
    for text in texts:
        assert not PING.search(re.sub(r"<@U2>|<!date\^\d+\^[^>]*>", "", text)), text
        assert "```" not in text.replace("```\n{", "").replace("}\n```", ""), text
    assert "&lt;!subteam^S1|@oncall&gt;" in outcome_line(approval) and "<@U2>" in outcome_line(approval)
    assert "U1&gt;|&lt;!everyone" in str(pending_card(approval))  # not an id: shown, not mentioned
