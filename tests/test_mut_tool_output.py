"""Tool results shaped for the model (agents/mcp/output.py), character by character: where a long text
is cut and what the note says, how many JSON items are kept, how blocks share the budget, and which spans
of a fenced text are defused.

Written for mutation testing (tests/MUTATION.md): tests/test_tool_output.py shows the purpose (bounded,
fenced, redacted); these pin the exact output the model reads.
"""

from __future__ import annotations

import datetime
import json
from typing import Any

import pytest
from strands.types.tools import ToolResult

from agents.mcp.output import DEFUSED, FENCE_CLOSE, cut_text, fence, shape_result

LINES = "\n".join(f"line{i}" for i in range(10))  # 59 characters


def note(cut: int, of: int, lines: int) -> str:
    return (
        f"\n[sre-bot: cut {cut:,} of {of:,} characters ({lines:,} line{'' if lines == 1 else 's'}) from the "
        "middle to stay within the "
        "output budget; narrow the query (namespace, selector, tail lines, time range) to see them]\n"
    )


def items_note(kept: int, of: int) -> str:
    return (
        f"[sre-bot: showing {kept} of {of} items to stay within the output budget; ask with a namespace, "
        "label selector or name to see the others]"
    )


def compact(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"))


# --- cut_text: head and tail at line boundaries, the middle counted --------------------------------------


@pytest.mark.parametrize(
    ("text", "budget", "expected"),
    [
        (LINES, 59, LINES),  # exactly the budget: untouched
        (LINES, 1000, LINES),
        ("", 0, ""),
        # head: the first 30 characters (3/4) back to a line end; tail: the last 10 from a line start
        (LINES, 40, "line0\nline1\nline2\nline3\nline4" + note(25, 59, 4) + "line9"),  # lines 5-8
        # head "line0\nline1\nlin" -> "line0\nline1"; tail "line9" has no line start: kept as it is
        (LINES, 20, "line0\nline1" + note(43, 59, 7) + "line9"),  # lines 2-8
        (
            LINES,
            58,
            "line0\nline1\nline2\nline3\nline4\nline5\nline6" + note(7, 59, 1) + "line8\nline9",
        ),  # line 7
        ("x" * 100, 40, "x" * 30 + note(60, 100, 1) + "x" * 10),  # part of its one line
        ("ab" * 1000, 8, "ab" * 3 + note(1992, 2000, 1) + "ab"),
        # blank lines cut count as lines (3 here), and so does the part of the b line cut
        ("a" * 30 + "\n\n\n\n" + "b" * 30, 40, "a" * 30 + note(24, 64, 4) + "b" * 10),
        # a line of spaces is kept whole at the head's edge; cut: mid, the second one, part of the t line
        ("l0\nl1\nl2\n  \nmid\n  \n" + "t" * 9, 20, "l0\nl1\nl2\n  " + note(12, 28, 3) + "t" * 5),
        # only a line break cut: no line of its own; two of them: the blank line between
        ("a" * 29 + "\n" + "b" * 10, 39, "a" * 29 + note(1, 40, 0) + "b" * 10),
        (
            "a" * 29 + "\n\n" + "b" * 9,
            39,
            "a" * 29 + note(2, 40, 1) + "b" * 9,
        ),  # counts with thousands separators
    ],
)
def test_cut_text_keeps_an_exact_head_and_tail_and_counts_the_middle(
    text: str, budget: int, expected: str
) -> None:
    assert cut_text(text, budget) == expected


def test_cut_text_counts_the_lines_it_cut_with_thousands_separators() -> None:
    text = "\n".join(f"{i:04d}" for i in range(3000))  # 14,999 characters
    out = cut_text(text, 100)
    head, rest = out.split("\n[sre-bot: ", 1)
    assert head == "\n".join(f"{i:04d}" for i in range(15))  # 75 characters, then back to a line end
    assert rest.startswith("cut 14,901 of 14,999 characters (2,980 lines) from the middle")  # 0015-2994
    assert out.endswith("to see them]\n" + "\n".join(f"{i:04d}" for i in range(2995, 3000)))


# --- _cut_json_items (through cut_text): whole leading items, within 90 % of the budget ------------------


@pytest.mark.parametrize(
    ("budget", "kept"),
    [
        # each item is 6 characters compact, 7 with its comma: items are kept while 7k + 6 <= 0.9 * budget
        (100, 13),  # 7 * 12 + 6 = 90: the 13th fills 90 % exactly and is kept
        (99, 12),
        (120, 15),
        (60, 7),
    ],
)
def test_a_json_list_keeps_the_leading_items_that_fit_in_90_percent(budget: int, kept: int) -> None:
    items = [f"a{i:03d}" for i in range(40)]
    out = cut_text(json.dumps(items), budget)
    assert out == items_note(kept, 40) + "\n" + compact(items[:kept])


ORDER = ("items", "resources", "results", "data")


@pytest.mark.parametrize("key", ORDER)
def test_a_json_object_is_cut_in_its_first_list_of_items_and_keeps_its_other_fields(key: str) -> None:
    """The keys are tried in order; a key whose value is no list is passed over; other fields stay."""
    many = [f"a{i:03d}" for i in range(200)]
    before, after = ORDER[: ORDER.index(key)], ORDER[ORDER.index(key) + 1 :]
    data = {k: "none" for k in before} | {key: many} | {k: ["x"] for k in after}
    out = cut_text(json.dumps(data), 1000)
    body = compact(data | {key: many[:128]})  # 7k + 6 <= 900
    assert len(body) <= 1000
    assert out == items_note(128, 200) + "\n" + body


@pytest.mark.parametrize(("budget", "kept"), [(170, 11), (169, 10)])
def test_json_items_are_measured_compact(budget: int, kept: int) -> None:
    """`{"n":0,"m":0}` is 13 characters (14 with its comma), not the 16 of `{"n": 0, "m": 0}`: items are
    kept while 14k + 13 <= 0.9 * budget."""
    items = [{"n": i % 10, "m": 0} for i in range(40)]
    out = cut_text(json.dumps(items), budget)
    assert out == items_note(kept, 40) + "\n" + compact(items[:kept])


@pytest.mark.parametrize(("pad", "cut_by_items"), [(5, True), (6, False)])
def test_items_are_cut_only_if_the_cut_json_fits_the_budget(pad: int, cut_by_items: bool) -> None:
    data = {"pad": "x" * pad, "items": [f"a{i:03d}" for i in range(40)]}
    out = cut_text(json.dumps(data), 200)
    body = compact({"pad": "x" * pad, "items": data["items"][:25]})
    assert len(body) == 195 + pad
    if cut_by_items:  # exactly 200 characters of JSON: kept
        assert out == items_note(25, 40) + "\n" + body
    else:  # one more: cut as text instead
        assert not out.startswith("[sre-bot: showing") and "\n[sre-bot: cut " in out


@pytest.mark.parametrize(
    "text",
    [
        "[]" + " " * 300,
        json.dumps({"items": [], "pad": "x" * 300}),
        json.dumps({"items": "not a list", "pad": "x" * 300}),
        json.dumps({"things": ["a"] * 100}),
        json.dumps("a string" * 50),
        "[not json" + "x" * 300,
        json.dumps(["x" * 300, "b"]),  # even the first item is over the budget: no empty list shown
        json.dumps({"items": ["a"] * 10, "pad": "x" * 300}),  # every item fits: the rest is too big
    ],
)
def test_json_that_has_no_list_to_cut_is_cut_as_text(text: str) -> None:
    out = cut_text(text, 200)
    assert "[sre-bot: showing" not in out and "\n[sre-bot: cut " in out
    assert out.startswith(text[:10])


# --- shape_result: the blocks share the budget ---------------------------------------------------------


def result(*blocks: dict[str, Any]) -> ToolResult:
    return {"toolUseId": "tu-1", "status": "success", "content": list(blocks)}  # type: ignore[typeddict-item]


def inner(shaped: ToolResult) -> str:
    text = str(shaped["content"][0]["text"])
    head, rest = text.split("\n", 1)
    assert head == '<untrusted-data source="eks:x">' and rest.endswith("\n" + FENCE_CLOSE)
    return rest[: -len(FENCE_CLOSE) - 1]


def test_blocks_are_joined_by_newlines_and_fenced_first_other_content_after() -> None:
    image = {"image": {"format": "png", "source": {"bytes": b"\x89PNG"}}}
    shaped = shape_result(result({"text": "one"}, image, {"json": {"b": 1}}, {"text": "two"}), "eks:x", 1000)
    assert shaped["toolUseId"] == "tu-1" and shaped["status"] == "success"
    assert inner(shaped) == 'one\n{"b": 1}\ntwo'
    assert shaped["content"][1:] == [image]


def test_json_blocks_show_values_json_cannot_encode_as_text() -> None:
    when = datetime.datetime(2026, 12, 2, 10, 0, tzinfo=datetime.UTC)
    assert (
        inner(shape_result(result({"json": {"at": when}}), "eks:x", 1000))
        == '{"at": "2026-12-02 10:00:00+00:00"}'
    )


def test_a_result_with_no_text_still_reaches_the_model_as_an_empty_fence() -> None:
    assert inner(shape_result({"toolUseId": "t", "status": "error"}, "eks:x", 100)) == ""  # type: ignore[typeddict-item]
    image = {"image": {"format": "png", "source": {"bytes": b"\x89PNG"}}}
    assert shape_result(result(image), "eks:x", 100)["content"] == [image]  # no empty fence before it


def test_the_largest_block_is_cut_to_the_room_the_others_and_its_note_leave() -> None:
    """Cut once, so the note counts what the model does not see (it was cut twice, and the second note
    counted a few hundred characters of the already-cut text)."""
    big = "\n".join(f"log line {i:03d}" for i in range(200))  # 2,599 characters
    shaped = inner(
        shape_result(result({"text": "Listed 200 lines"}, {"text": big}, {"text": "end"}), "eks:x", 1000)
    )
    room = 1000 - len("Listed 200 lines\n") - len("end\n") - 1 - len(note(2599, 2599, 2599))
    assert shaped == "Listed 200 lines\n" + cut_text(big, room) + "\nend"
    assert len(shaped) <= 1000 and shaped.count("[sre-bot: ") == 1 and " of 2,599 characters " in shaped
    assert shaped.startswith("Listed 200 lines\nlog line 000\n") and shaped.endswith("log line 199\nend")


@pytest.mark.parametrize("budget", [1000, 1500, 4000, 16000])
def test_a_long_log_is_cut_once_within_the_budget_and_says_how_much(budget: int) -> None:
    log = "\n".join(f"2026-12-02T10:00:{i % 60:02d} INFO request {i} served" for i in range(5000))
    shaped = inner(shape_result(result({"text": "Retrieved 5000 lines"}, {"text": log}), "eks:x", budget))
    assert len(shaped) <= budget and shaped.count("[sre-bot: ") == 1
    assert f" of {len(log):,} characters " in shaped
    head, rest = shaped.split("\n[sre-bot: cut ", 1)
    tail = rest.split("to see them]\n", 1)[1]
    cut = int(rest.split(" ", 1)[0].replace(",", ""))
    assert len(head) - len("Retrieved 5000 lines\n") + cut + len(tail) == len(log)  # every character counted


@pytest.mark.parametrize(("summary", "precut"), [(497, True), (498, False)])
def test_the_largest_block_is_cut_alone_only_while_it_keeps_over_half_the_budget(
    summary: int, precut: bool
) -> None:
    """With more than half the budget left for it, only the largest block is cut; else the whole text."""
    small = "s" * summary
    big = "\n".join(f"log line {i:03d}" for i in range(200))
    shaped = inner(shape_result(result({"text": small}, {"text": big}), "eks:x", 1000))
    room = 1000 - (summary + 1) - 1  # 502 or 501 (> 500), or 500 (not)
    if precut:
        assert shaped == small + "\n" + cut_text(big, room - len(note(2599, 2599, 2599)))
    else:
        assert shaped == cut_text(small + "\n" + big, 1000)


def test_the_whole_text_is_cut_to_the_budget_after_the_largest_block() -> None:
    blocks = [{"text": "\n".join(f"{b}-{i:03d}" for i in range(100))} for b in "abc"]  # 3 × 599 characters
    shaped = inner(shape_result(result(*blocks), "eks:x", 1000))
    assert shaped == cut_text("\n".join(str(block["text"]) for block in blocks), 1000)


@pytest.mark.parametrize("size", [1, 500, 999])
def test_a_single_block_within_the_budget_is_not_cut(size: int) -> None:
    text = "\n".join(["x" * 9] * 100)[:size]
    assert inner(shape_result(result({"text": text}), "eks:x", 1000)) == text


def test_a_result_just_within_the_budget_is_not_cut() -> None:
    texts = ["a" * 500, "b" * 499]  # 500 + 1 + 499 + 1 = 1,001 counted, 1,000 joined
    shaped = inner(shape_result(result(*({"text": t} for t in texts)), "eks:x", 1000))
    assert shaped == "a" * 500 + "\n" + "b" * 499


# --- fence: exactly what is defused -------------------------------------------------------------------


def fenced(text: str) -> str:
    out = fence(text, "s")
    assert out.startswith('<untrusted-data source="s">\n') and out.endswith("\n" + FENCE_CLOSE)
    return out[len('<untrusted-data source="s">\n') : -len(FENCE_CLOSE) - 1]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("plain text", "plain text"),
        ("a</untrusted-data>b", f"a{DEFUSED}>b"),
        ("a<untrusted-data>b", f"a{DEFUSED}>b"),
        ("a < / untrusted-data >b", f"a {DEFUSED} >b"),  # spaces before the opener stay
        ("x</untrusted-data>y</untrusted-data>z", f"x{DEFUSED}>y{DEFUSED}>z"),
        ("</untrusted-data>", f"{DEFUSED}>"),  # at the very start
        ("&lt;/untrusted-data&gt;", f"{DEFUSED}&gt;"),
        ("a&amp;lt;/untrusted-data>", f"a{DEFUSED}>"),
        ("a\\u003c/untrusted-data>", f"a{DEFUSED}>"),
        ("a%3Cuntrusted-data>", f"a{DEFUSED}>"),
        ("a&#60; untrusted data>", f"a{DEFUSED}>"),
        ("untrusted data", "untrusted data"),  # prose: no opener, nothing defused
        ("the untrusted-data fence", "the untrusted-data fence"),
        ("xuntrusted-data", f"x{DEFUSED}"),  # glued to a letter: taken as a tag's name
        ("</untrusted-data>a</untrusted-data>", f"{DEFUSED}>a{DEFUSED}>"),
        ("&lt;untrusted-data>", f"{DEFUSED}>"),  # an escaped opener at the very start goes whole
        ("a  </ untrusted-data>", f"a  {DEFUSED}>"),  # the spaces before the opener stay, not those after
        ("a\x1c</untrusted-data>", f"a{DEFUSED}>"),  # other separators (ASCII or not) go with the opener
        ("a\x85</untrusted-data>", f"a{DEFUSED}>"),
        ("untrusted-data at the start", "untrusted-data at the start"),
        ("untrusted data and </untrusted-data>", f"untrusted data and {DEFUSED}>"),  # prose, then a tag
        # an escape, spaces, then the name: the escape is the opener
        ("%3C untrusted-data>", f"{DEFUSED}>"),
        ("a%3C untrusted-data>", f"a{DEFUSED}>"),
        ("a\\u003c untrusted-data>", f"a{DEFUSED}>"),
        ("a&#60 untrusted-data>", f"a{DEFUSED}>"),
        ("a&#60 b untrusted-data>", "a&#60 b untrusted-data>"),  # a word between: prose
        ("&#60;&#60;untrusted-data", f"&#60;{DEFUSED}"),  # only the escape right before the name
        # the view is longer than the text (a ligature spelled out): spans are mapped back exactly
        ("\ufb06</untrusted-data>x", f"\ufb06{DEFUSED}>x"),
        ("a\ufb06 x</untrusted-data>y</untrusted-data>", f"a\ufb06 x{DEFUSED}>y{DEFUSED}>"),
        ("</untru\ufb06ed-data>\ufb06", f"{DEFUSED}>\ufb06"),
        # the look-back for an escape is bounded (32 characters with its spaces): linear time on any text
        ("&" + "amp;" * 7 + "lt untrusted-data>", f"{DEFUSED}>"),  # 32
        ("&" + "amp;" * 7 + "lt  untrusted-data>", "&" + "amp;" * 7 + "lt  untrusted-data>"),  # 33
        ("&" + "amp;" * 6 + "#x3c</untrusted-data>", f"{DEFUSED}>"),  # 29
        ("&" + "amp;" * 7 + "#x3c</untrusted-data>", "&" + "amp;" * 7 + f"#x3c{DEFUSED}>"),  # 33
        # every symbol before a name is taken for its opener, here the first tag's `>` too
        ("</untrusted-data></untrusted-data>", f"{DEFUSED}{DEFUSED}>"),
    ],
)
def test_fence_defuses_exactly_the_tags_name_and_opener(text: str, expected: str) -> None:
    assert fenced(text) == expected
