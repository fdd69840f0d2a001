"""Markdown for Slack, within Slack's sizes.

Answers are Markdown. Slack renders Markdown natively in `markdown` blocks and streamed `markdown_text`
(up to 12,000 characters), but not pipe tables, so tables become code blocks. The plain `text` of a
message (notifications, clients without blocks) is mrkdwn, limited to 4,000 characters on updates.
Long answers are split at paragraph or line boundaries; a split inside a code block closes the fence and
reopens it in the next part, so every part renders on its own.
"""

from __future__ import annotations

import re

from slackbot.safe_text import fence_safe

MARKDOWN_LIMIT = 12_000
SAFE_MARKDOWN = 11_000  # room for a continuation note and the step line
TEXT_LIMIT = 4_000
SAFE_TEXT = 3_000

# Possessive quantifiers: adjacent optional runs (`\s*\|?\s*`) would otherwise try every split of a long
# run of spaces, and a model that echoes such a line would stall the event loop for seconds.
_TABLE_ROW = re.compile(r"[ \t]*+\|.*\|[ \t]*+")
_TABLE_RULE = re.compile(
    r"[ \t]*+\|?+[ \t]*+:?+-{3,}+:?+[ \t]*+(?:\|[ \t]*+:?+-{3,}+:?+[ \t]*+)*+\|?+[ \t]*+"
)
_TABLE_LINE_MAX = 2_000  # longer lines are never table rows here


def tables_to_code(text: str) -> str:
    """Pipe tables → aligned plain-text tables in code blocks (Slack does not render Markdown tables)."""
    lines = text.split("\n")
    out: list[str] = []
    i = 0
    in_code = False
    while i < len(lines):
        line = lines[i]
        if line.strip().startswith("```"):
            in_code = not in_code
        if not in_code and _is_row(line) and i + 1 < len(lines) and _is_rule(lines[i + 1]):
            rows: list[list[str]] = []
            while i < len(lines) and _is_row(lines[i]):
                if not _is_rule(lines[i]):
                    rows.append([c.strip() for c in lines[i].strip().strip("|").split("|")])
                i += 1
            width = max(len(r) for r in rows)
            rows = [r + [""] * (width - len(r)) for r in rows]
            sizes = [max(len(r[c]) for r in rows) for c in range(width)]
            out.append("```")
            for n, row in enumerate(rows):
                # a cell holding ``` must not close the block the table is shown in
                out.append("  ".join(fence_safe(cell.ljust(sizes[c])) for c, cell in enumerate(row)).rstrip())
                if n == 0:
                    out.append("  ".join("-" * s for s in sizes))
            out.append("```")
            continue
        out.append(line)
        i += 1
    return "\n".join(out)


def _is_row(line: str) -> bool:
    return len(line) <= _TABLE_LINE_MAX and _TABLE_ROW.fullmatch(line) is not None


def _is_rule(line: str) -> bool:
    return len(line) <= _TABLE_LINE_MAX and _TABLE_RULE.fullmatch(line) is not None


def stable_prefix(text: str) -> str:
    """The part of a growing answer that more text cannot change, with its tables converted.

    A streamed message can only grow, so a table is held back until a line after it shows it ended;
    complete tables are converted exactly as `tables_to_code` converts them in the final text.
    """
    lines = text.split("\n")
    start = len(lines) - 1 if lines[-1] == "" else len(lines)  # a line break may still start a row
    while start > 0 and lines[start - 1].lstrip().startswith("|"):
        start -= 1
    if start < len(lines) and open_fence("\n".join(lines[:start])) is None:
        text = "\n".join(lines[:start]) + ("\n" if start else "")
    return tables_to_code(text)


def open_fence(text: str) -> str | None:
    """The opening fence line if `text` leaves a code block open, else None."""
    fence: str | None = None
    for line in text.split("\n"):
        if line.strip().startswith("```"):
            fence = None if fence is not None else line.strip()
    return fence


def last_safe_break(text: str) -> int:
    """Index just after the last line break outside a code block (0 if none): a clean place to stop."""
    best = 0
    fenced = False
    pos = 0
    for line in text.split("\n")[:-1]:
        pos += len(line) + 1
        if line.strip().startswith("```"):
            fenced = not fenced
        if not fenced:
            best = pos
    return best


def cut_for_message(text: str, limit: int = SAFE_MARKDOWN) -> tuple[str, str, str | None]:
    """Split `text` into what fits one message and the rest, at a line break outside code if possible.

    Returns (head, tail, fence): `fence` is the opening fence line when the cut falls inside a code
    block, so the caller closes it in the head and reopens it in the tail. Depends only on
    `text[:limit + 1]`, so a growing text is always cut at the same place.
    """
    if len(text) <= limit:
        return text, "", None
    cut = last_safe_break(text[:limit])
    if cut > 0:
        return text[:cut], text[cut:], None
    cut = text.rfind("\n", 0, limit) + 1  # only inside code: the last line break, fence reported
    if cut > 0:
        return text[:cut], text[cut:], open_fence(text[:cut])
    return text[:limit], text[limit:], None


def split_markdown(text: str, limit: int = SAFE_MARKDOWN) -> list[str]:
    """Split into parts of at most `limit` characters, keeping code fences balanced in each part."""
    if len(text) <= limit:
        return [text]
    parts: list[str] = []
    current: list[str] = []
    size = 0
    fence: str | None = None  # the opening fence line when the current part is inside a code block

    def flush() -> None:
        nonlocal current, size
        body = "\n".join(current)
        if fence is not None:
            body += "\n```"
        parts.append(body)
        current = [fence] if fence is not None else []
        size = len(fence) + 1 if fence is not None else 0

    for raw_line in text.split("\n"):
        pieces = [raw_line[i : i + limit - 20] for i in range(0, len(raw_line), limit - 20)] or [""]
        for line in pieces:
            if size + len(line) + 1 + (4 if fence else 0) > limit and current:
                flush()
            current.append(line)
            size += len(line) + 1
            if line.strip().startswith("```"):
                fence = None if fence is not None else line.strip()
    if current and any(c.strip() for c in current):
        parts.append("\n".join(current))
    return parts


def to_mrkdwn(text: str) -> str:
    """A readable mrkdwn rendering of neutralized Markdown (`safe_text.neutralize`), for a message's plain
    `text`: the input is already escaped, so this only translates emphasis, headings and bullets (and
    makes no `<url|label>` links: a label must not hide where a link goes)."""
    out_lines = []
    in_code = False
    for line in text.split("\n"):
        if line.strip().startswith("```"):
            in_code = not in_code
            out_lines.append("```")
            continue
        if in_code:
            out_lines.append(line)
            continue
        line = re.sub(r"^#{1,6}\s+(.*)$", r"*\1*", line)
        line = re.sub(r"\*\*(.+?)\*\*", r"*\1*", line)
        line = re.sub(r"__(.+?)__", r"*\1*", line)
        line = re.sub(r"^(\s*)[-*]\s+", r"\1• ", line)
        out_lines.append(line)
    return "\n".join(out_lines)


def clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"
