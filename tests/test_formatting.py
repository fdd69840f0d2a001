"""Markdown for Slack: tables become code blocks, long answers split with balanced fences, mrkdwn text."""

from __future__ import annotations

import re
import threading

import pytest

from agents.redact import remember_secrets
from slackbot.formatting import cut_for_message, split_markdown, stable_prefix, tables_to_code, to_mrkdwn
from slackbot.outbound import answer_markdown, growing_answer
from slackbot.safe_text import neutralize


def test_pipe_tables_become_aligned_code_blocks() -> None:
    text = (
        "Pods:\n\n| name | status |\n|---|:---:|\n| web-1 | Running |\n| crashy | CrashLoopBackOff |\n\nDone."
    )
    out = tables_to_code(text)
    assert "|" not in out
    assert (
        "```\nname    status\n------  ----------------\nweb-1   Running\ncrashy  CrashLoopBackOff\n```" in out
    )
    assert out.startswith("Pods:") and out.endswith("Done.")


def test_tables_inside_code_blocks_are_left_alone() -> None:
    text = "```\n| a | b |\n|---|---|\n```"
    assert tables_to_code(text) == text


def test_split_keeps_every_part_within_the_limit_and_fences_balanced() -> None:
    code = "\n".join(f"line {i:04d} " + "x" * 50 for i in range(300))
    text = "intro\n\n```python\n" + code + "\n```\n\noutro"
    parts = split_markdown(text, 2000)
    assert len(parts) > 5
    for part in parts:
        assert len(part) <= 2000
        assert part.count("```") % 2 == 0
    joined = "\n".join(parts)
    for i in (0, 150, 299):
        assert f"line {i:04d}" in joined
    assert parts[0].startswith("intro") and parts[-1].rstrip().endswith("outro")


def test_a_single_huge_line_is_split_too() -> None:
    parts = split_markdown("y" * 25_000, 11_000)
    assert all(len(p) <= 11_000 for p in parts) and sum(len(p) for p in parts) >= 25_000


def test_mrkdwn_fallback_text() -> None:
    out = to_mrkdwn(
        neutralize(
            "# Title\n**bold** and [docs](https://example.com) a<b\n- item\n```\n**not bold** <x>\n```"
        )
    )
    assert out.splitlines()[0] == "*Title*"
    assert "*bold*" in out and "a&lt;b" in out
    assert "[docs]\u200b(https://example.com)" in out  # where a link goes stays visible: no <url|label>
    assert "• item" in out
    assert "**not bold** &lt;x&gt;" in out  # code keeps its Markdown, escaped (mrkdwn reads <x> there)


STREAMED = (
    "Here is what I found:\n\n| pod | status |\n|---|---|\n| web-1 | Running |\n| crashy | CrashLoopBackOff |\n"
    "\nAnd the logs:\n```\n| not | a table |\n|---|---|\n```\nDone."
)


def test_a_growing_answer_only_ever_grows_once_rendered() -> None:
    """Every prefix renders to a prefix of the final rendering: a streamed message never has to shrink."""
    final = tables_to_code(STREAMED)
    previous = ""
    for end in range(len(STREAMED) + 1):
        shown = stable_prefix(STREAMED[:end])
        assert final.startswith(shown), STREAMED[:end]
        assert shown.startswith(previous)
        previous = shown
    assert previous == final
    assert "|" not in final.split("```")[1]  # the real table was converted
    assert "| not | a table |" in final  # the one inside code was not


def test_an_unfinished_table_is_held_back() -> None:
    assert stable_prefix("Pods:\n| pod | status |\n|---|---|\n| web") == "Pods:\n"
    assert stable_prefix("Pods:\n| pod | status |\n|---|---|\n| web-1 | ok |\nnext").startswith("Pods:\n```")


def test_cut_for_message_prefers_a_line_break_outside_code() -> None:
    text = "intro line\n" * 10 + "```\n" + "code line\n" * 100 + "```\n"
    head, tail, fence = cut_for_message(text, limit=300)
    assert head == "intro line\n" * 10 and fence is None and head + tail == text


def test_cut_for_message_inside_a_long_code_block_reports_the_fence() -> None:
    text = "```yaml\n" + "key: value\n" * 100 + "```\n"
    head, tail, fence = cut_for_message(text, limit=300)
    assert fence == "```yaml" and head.endswith("\n") and len(head) <= 300 and head + tail == text


def test_cut_for_message_is_stable_as_the_text_grows() -> None:
    text = "word " * 50 + "\n" + "another line here\n" * 50
    cuts = {cut_for_message(text[:end], limit=200)[0] for end in range(201, len(text) + 1)}
    assert len(cuts) == 1


PLANTED = (
    "Ping <!channel> <!here> <!everyone> <!subteam^S123|@team> <@U999> <#C1|ops> & "
    "<https://evil.example/?d=1|click> [docs](https://evil.example/?d=2) ![img](https://evil.example/i)\n"
    "> quoted <!here>\n```\ncode <!channel> a && b\n```\n[ref][1]"
)


def test_neutralized_text_has_no_slack_syntax_left_and_only_grows_as_the_text_grows() -> None:
    out = neutralize(PLANTED)
    assert not re.search(r"<[!@#]|<https?:|\]\(", out)
    assert "&lt;!channel&gt;" in out and "&amp;" in out and "[docs]\u200b(https://evil.example/?d=2)" in out
    assert "> quoted &lt;!here&gt;" in out  # a block quote stays one
    assert "code &lt;!channel&gt; a &amp;&amp; b" in out  # mrkdwn reads <…> inside code blocks too
    for end in range(len(PLANTED) + 1):
        assert out.startswith(neutralize(PLANTED[:end])), PLANTED[:end]


def test_values_cannot_leave_the_code_they_are_shown_in() -> None:
    from slackbot.safe_text import code_block, fence_safe, inline_code, mention

    value = "a ``` b ```` <!here>"
    block = code_block(value)
    assert block.count("```") == 2 and block.startswith("```\n") and block.endswith("\n```")
    assert fence_safe(value).replace("\u200b", "") == value  # the reader sees the same characters
    assert inline_code("x`y\n<!here>") == "`xˋy &lt;!here&gt;`"
    assert mention("U123ABC") == "<@U123ABC>" and mention("U1>|<!channel") == "U1&gt;|&lt;!channel"


def test_a_long_run_of_spaces_after_a_table_row_does_not_hang() -> None:
    """The table rule had adjacent optional runs: a 16k-space line took 20 s on the event loop, a million
    spaces would take days. Not a timing: the generous wait only tells "finished" from "hung"."""
    text = "| pod | status |\n" + " " * 1_000_000 + "x\nthat was all"
    results: list[str] = []
    worker = threading.Thread(target=lambda: results.append(tables_to_code(text)), daemon=True)
    worker.start()
    worker.join(timeout=120)
    assert results == [text]


def test_a_cell_cannot_close_the_code_block_of_its_table() -> None:
    out = tables_to_code("| a | b |\n|---|---|\n| 1 | ``` |\nafter [x](https://e.example)")
    assert out.count("```") == 2  # the block's own fences only


@pytest.mark.parametrize(
    "planted",
    [
        "see [the dashboard]\n\n[the dashboard]: https://evil.example/?d=x",
        "~~~\n```\n~~~\n[the dashboard](https://evil.example/?d=x)",
        "    ```\n[the dashboard](https://evil.example/?d=x)",
        "[x][1]\n\n[1]: https://evil.example/?d=x",
    ],
)
def test_no_markdown_link_survives_whatever_the_fences(planted: str) -> None:
    out = neutralize(planted)
    assert "](" not in out and "][" not in out and "]:" not in out


def test_a_remembered_secret_with_spaces_never_shows_its_first_words_while_streaming() -> None:
    secret = "correct horse battery staple"
    remember_secrets([secret])
    text = f"The password is {secret}, as the log says. Done."
    shown = [growing_answer(text[:n]) for n in range(len(text) + 1)]
    assert not [s for s in shown if "correct" in s or "horse" in s]
    assert "[redacted]" in answer_markdown(text)
