"""Markdown for Slack: tables become code blocks, long answers split with balanced fences, mrkdwn text."""

from __future__ import annotations

from slackbot.formatting import cut_for_message, split_markdown, stable_prefix, tables_to_code, to_mrkdwn


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
        "# Title\n**bold** and [docs](https://example.com) a<b\n- item\n```\n**not bold** <x>\n```"
    )
    assert out.splitlines()[0] == "*Title*"
    assert "*bold*" in out and "<https://example.com|docs>" in out and "a&lt;b" in out
    assert "• item" in out
    assert "**not bold** <x>" in out  # code stays verbatim


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
