"""Text the bot posts cannot ping anyone, hide a link, or break out of the formatting it was put in.

Anyone who can write a pod log, an annotation, an alert label or a Slack message can put text in front of
the model, and the model may repeat it. Slack reads `<!channel>`, `<!here>`, `<!everyone>`,
`<!subteam^S…>`, `<@U…>`, `<#C…>` and `<https://…|label>` as pings and links both in mrkdwn and in
`markdown` blocks / streamed `markdown_text`, and a ``` inside a value closes the code block the value
was shown in. Slack decodes `&amp;`, `&lt;` and `&gt;` for display without reading the result as a
control sequence, so escaping those three characters is how text is shown literally.

One function per kind of text:
- `escape_mrkdwn` for a value interpolated into text the code builds (cards, the /k8s echo, notes);
- `inline_code` / `fence_safe` for a value shown in `code` or in a ``` block;
- `neutralize` for model or tool Markdown (answers);
- `mention` for the bot's own deliberate mentions, built only from ids that look like Slack user ids.
"""

from __future__ import annotations

import re

_ESCAPES = str.maketrans({"&": "&amp;", "<": "&lt;", ">": "&gt;"})
_BACKTICK_PAIR = re.compile(r"`(?=`)")
_ZERO_WIDTH_SPACE = "\u200b"
USER_ID = re.compile(r"[UW][A-Z0-9]+")  # a Slack user id: what may be pinged, and what approver lists hold
_QUOTE_MARKERS = re.compile(r"^(?:[ \t]*>)+")  # "> quoted" at a line's start: a block quote, not a tag
# "[label](url)", "![alt](url)", "[label][ref]", "[ref]: url": broken everywhere, code blocks included (a
# line that looks like a fence to us may not be one to Slack's renderer, and the other way round).
_LINK_JOINT = re.compile(r"\](?=[(\[:])")


def escape_mrkdwn(value: object) -> str:
    """`value` shown literally in mrkdwn or Markdown: `&`, `<`, `>` as entities, nothing else changed."""
    return str(value).translate(_ESCAPES)


def unescape_slack(text: str) -> str:
    """Text as Slack delivers it (`&`, `<`, `>` as entities) back to what was typed, to show it again."""
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


def fence_safe(value: str) -> str:
    """`value` that cannot open or close a code block: a zero-width space between consecutive backticks.

    The reader sees the same characters (the approver must see exactly what will run); Slack sees no
    run of three backticks, so the block the value is shown in ends where the code ends it.
    """
    return _BACKTICK_PAIR.sub("`" + _ZERO_WIDTH_SPACE, value)


def code_block(value: str) -> str:
    """`value` in a ``` block it cannot leave, escaped."""
    return f"```\n{fence_safe(escape_mrkdwn(value))}\n```"


def inline_code(value: object) -> str:
    """`value` as `code`: escaped, without the backtick or line break that would end the span early."""
    text = escape_mrkdwn(value).replace("`", "ˋ").replace("\n", " ")
    return f"`{text}`"


def mention(user_id: str) -> str:
    """A deliberate mention of a Slack user; anything that is not a user id is shown as text instead."""
    return f"<@{user_id}>" if USER_ID.fullmatch(user_id) else escape_mrkdwn(user_id)


def neutralize(markdown: str) -> str:
    """Model or tool Markdown made inert for Slack, keeping its formatting.

    `&`, `<`, `>` are escaped everywhere (so no `<!here>`, `<@U…>`, `<#C…>` or `<url|label>` survives,
    in code blocks too: mrkdwn reads them there), except the `>` that starts a block quote. Everywhere
    (fences are judged differently by different renderers) a Markdown link's label is split from its
    destination by a zero-width space, so the reader sees where a link goes instead of a
    label hiding an address that carries data out.

    Works line by line and character by character, so a growing text neutralizes to a growing text: a
    streamed message never has to take back what it showed.
    """
    out: list[str] = []
    fenced = False
    for line in markdown.split("\n"):
        if line.strip().startswith("```"):
            fenced = not fenced
            out.append(escape_mrkdwn(line))
            continue
        quote = _QUOTE_MARKERS.match(line)
        head = quote.group(0) if quote and not fenced else ""
        body = _LINK_JOINT.sub("]" + _ZERO_WIDTH_SPACE, line[len(head) :])
        out.append(head + escape_mrkdwn(body))
    return "\n".join(out)
