"""The header message of an alert group's thread: what fired, how bad, where, since when, and links.

It is rewritten as the group changes (repeats, alerts joining, resolving), so it is built from the whole
group state each time, never patched. Everything in an alert (names, labels, annotations, URLs) is
written by whoever writes alert rules and workloads: each value is redacted (`redact_for_slack`:
annotations may carry credentials, and the outbound scrub should not be the only line), then escaped
where it is interpolated (`slackbot.safe_text`), and cut to fit so the message stays within Slack's
limits whatever the input. Link labels are the bot's own words plus the host the link really goes to,
so no alert can show one address and lead to another.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from agents.redact import redact_for_slack
from slackbot.alerts.model import Alert, Notification
from slackbot.safe_text import escape_mrkdwn, fence_safe, inline_code

SECTION_LIMIT = 3000  # a section's text (Slack refuses more)
HEADER_LIMIT = 150  # a header block's plain_text
FIELD_LIMIT = 2000  # one section field
MAX_LISTED = 10  # alerts listed one per line; the rest are "+k more"
MAX_LINKS = 3  # links of each kind (runbooks, dashboards, sources)
DASHBOARD_KEYS = ("dashboard", "dashboard_url", "grafana_url")
LABEL_ORDER = (
    "cluster",
    "severity",
    "namespace",
    "pod",
    "container",
    "deployment",
    "job",
    "service",
    "instance",
    "node",
)
# A URL that can sit inside `<…|…>`: http(s), printable ASCII only, no whitespace, none of `<`, `>`, `|`
# (Slack reads them there) nor a backtick (three would open a code block).
_LINKABLE = re.compile(r"(?i:https?)://[!-;=?-_a-{}~]+")
# What may stand between `//` and the path: a DNS name or a bracketed IPv6 address, then a numeric port.
# No user info (`https://good.example@evil.example/` leads to evil.example), no backslash (browsers read
# it as a slash), nothing a browser and this pattern could split differently.
_AUTHORITY = re.compile(
    r"(?i:https?)://(?P<host>(?:[A-Za-z0-9-]+\.)*[A-Za-z0-9-]+|\[[0-9A-Fa-f:.]+\])(?::[0-9]{1,5})?(?=[/?#]|$)"
)
_ANGLE_LOOKALIKES = str.maketrans({"<": "‹", ">": "›"})


@dataclass(frozen=True)
class HeaderState:
    """What the header shows: the group's latest notification and what the bot counted about it."""

    notification: Notification  # the latest one: current alerts, status, labels
    first_seen: dt.datetime  # when the bot received the group's first notification (UTC)
    last_seen: dt.datetime  # when it received the latest
    count: int = 1  # notifications received for the group
    resolved_at: dt.datetime | None = None  # when the group resolved, if it has
    fired_for: dt.timedelta | None = None  # how long it fired, once resolved
    investigating: bool = False  # an investigation is running in the thread


def header_blocks(state: HeaderState) -> tuple[str, list[dict[str, Any]]]:
    """The fallback text (notifications, clients without blocks) and the Block Kit blocks of the header."""
    n = state.notification
    resolved = n.status == "resolved"
    blocks: list[dict[str, Any]] = [
        {"type": "header", "text": {"type": "plain_text", "text": _title(n, resolved), "emoji": False}},
        {"type": "section", "text": _mrkdwn(_status_line(state, resolved)), "fields": _fields(n)},
    ]
    for text in (_summary(n), _alert_lines(n), _links(n)):
        if text:
            blocks.append({"type": "section", "text": _mrkdwn(text)})
    if state.investigating and not resolved:
        blocks.append({"type": "context", "elements": [_mrkdwn(":mag: Investigating in this thread…")]})
    word = "Resolved" if resolved else "Firing"
    where = ", ".join(_shown(v, 60, _one_line) for v in (n.severity, n.cluster) if v)
    fallback = f"{word}: {_shown(n.title, 200, _one_line)}" + (f" ({where})" if where else "")
    return fallback, blocks


def _mrkdwn(text: str) -> dict[str, str]:
    return {"type": "mrkdwn", "text": text}


def _shown(raw: str, limit: int, render: Callable[[str], str] = escape_mrkdwn) -> str:
    """`raw` redacted, rendered safe by `render`, and cut (with "…") so the rendered text fits `limit`.

    The cut is made before rendering, so an escape (`&amp;`) or a code span is never split.
    """
    raw = redact_for_slack(raw)
    text = render(raw)
    if len(text) <= limit:
        return text
    low, high = 0, len(raw)
    while low < high:
        middle = (low + high + 1) // 2
        # measured as sent: the client redacts again, and a cut can make `password=` a new assignment
        if len(render(redact_for_slack(raw[:middle] + "…"))) <= limit:
            low = middle
        else:
            high = middle - 1
    return render(redact_for_slack(raw[:low] + "…"))


def _one_line(raw: str) -> str:
    """Escaped text on one line: a line break in a value cannot add a line that looks like the bot's."""
    return fence_safe(escape_mrkdwn(" ".join(raw.split())))


def _code(raw: str) -> str:
    """A value as `code` on one line (any line break, `\\r` and U+2028 included, becomes a space)."""
    return inline_code(" ".join(raw.split()))


def _quoted(raw: str) -> str:
    """Escaped prose as a block quote, every line of it: it reads as the alert's words, not the bot's."""
    return "\n".join(f"> {fence_safe(escape_mrkdwn(line))}" for line in raw.splitlines()[:12])


def _plain(raw: str, limit: int) -> str:
    """Text for a plain_text field: one line, no `<…>` at all (mention-like text is not even attempted), no
    run of backticks (plain_text reads none, but the same words may be copied into mrkdwn)."""
    return _shown(raw, limit, lambda s: fence_safe(" ".join(s.split()).translate(_ANGLE_LOOKALIKES)))


def _title(n: Notification, resolved: bool) -> str:
    """Status emoji, what fired, severity and cluster: 2 + 90 + 2 × (3 + 24) ≤ HEADER_LIMIT characters."""
    parts = [_plain(n.title, 90)] + [_plain(v, 24) for v in (n.severity, n.cluster) if v]
    return f"{'✅' if resolved else '🔥'} {' · '.join(parts)}"


def _when(moment: dt.datetime) -> str:
    """Slack shows the time in the reader's zone; clients that cannot get a readable UTC time."""
    utc = moment.astimezone(dt.UTC)
    return f"<!date^{int(utc.timestamp())}^{{date_short_pretty}} {{time}}|{utc:%Y-%m-%d %H:%M} UTC>"


def duration(span: dt.timedelta) -> str:
    """A span in the two largest units that matter: 45s, 14m, 2h 5m, 3d 4h."""
    seconds = max(0, int(span.total_seconds()))
    days, rest = divmod(seconds, 86_400)
    hours, rest = divmod(rest, 3_600)
    minutes, seconds = divmod(rest, 60)
    if days:
        return f"{days}d {hours}h" if hours else f"{days}d"
    if hours:
        return f"{hours}h {minutes}m" if minutes else f"{hours}h"
    return f"{minutes}m" if minutes else f"{seconds}s"


def _status_line(state: HeaderState, resolved: bool) -> str:
    """Firing since when (the earliest alert's start), or resolved after how long; repeats counted."""
    starts = [a.starts_at for a in state.notification.alerts if a.starts_at]
    since = min(starts) if starts else state.first_seen
    if resolved:
        after = f" after {duration(state.fired_for)}" if state.fired_for is not None else ""
        at = _when(state.resolved_at or state.last_seen)
        line = f":white_check_mark: *Resolved*{after} (at {at}; firing since {_when(since)})"
    else:
        line = f":fire: *Firing* since {_when(since)}"
    if state.count > 1:
        line += f"\n{state.count} notifications, last {_when(state.last_seen)}"
    return line


def _fields(n: Notification) -> list[dict[str, str]]:
    firing = sum(a.status == "firing" for a in n.alerts)
    counts = f"{firing} firing, {len(n.alerts) - firing} resolved"
    if n.truncated:
        counts += f", {n.truncated} more not sent by Alertmanager"
    return [
        _mrkdwn(f"*Severity*\n{_shown(n.severity, 200, _code) if n.severity else 'none given'}"),
        _mrkdwn(f"*Cluster*\n{_shown(n.cluster, 200, _code) if n.cluster else 'none given'}"),
        _mrkdwn(f"*Alerts*\n{counts}"[:FIELD_LIMIT]),
    ]


def _summary(n: Notification) -> str:
    """The group's own words (common `summary`, `description`), or the only alert's, cut to fit."""
    notes = {**(n.alerts[0].annotations if len(n.alerts) == 1 else {}), **n.common_annotations}
    parts = []
    if notes.get("summary"):
        parts.append(f"*Summary:* {_shown(notes['summary'], 600, _one_line)}")
    if notes.get("description"):
        parts.append(_shown(notes["description"], SECTION_LIMIT - 700, _quoted))
    return "\n".join(parts)


def _alert_lines(n: Notification) -> str:
    """One line per alert (status, name when the group has several, what tells it apart, its summary)."""
    names = {a.name for a in n.alerts}
    lines: list[str] = []
    for index, alert in enumerate(n.alerts[:MAX_LISTED]):
        line = _alert_line(alert, n, show_name=len(names) > 1)
        more = len(n.alerts) - index - 1 + n.truncated
        reserve = len(f"\n+{more} more") if more else 0
        if sum(len(x) + 1 for x in lines) + len(line) + reserve > SECTION_LIMIT:
            break
        lines.append(line)
    more = len(n.alerts) - len(lines) + n.truncated
    if more:
        lines.append(f"+{more} more")
    return "\n".join(lines)


def _alert_line(alert: Alert, n: Notification, show_name: bool) -> str:
    emoji = ":white_check_mark:" if alert.status == "resolved" else ":fire:"
    parts = [emoji] + ([_shown(alert.name or "alert", 80, _code)] if show_name else [])
    parts += [_shown(f"{k}={v}", 100, _code) for k, v in _telling_labels(alert, n)]
    summary = alert.annotations.get("summary", "")
    if summary and summary != n.common_annotations.get("summary"):
        parts.append("— " + _shown(summary, 200, _one_line))
    return " ".join(parts)


def _telling_labels(alert: Alert, n: Notification) -> list[tuple[str, str]]:
    """Up to five labels that tell this alert from the others (all of them for a group of one)."""
    common = n.common_labels if len(n.alerts) > 1 else {}
    above = {"alertname": alert.name, "severity": n.severity, "cluster": n.cluster}  # said elsewhere
    keys = [k for k, v in alert.labels.items() if common.get(k) != v and above.get(k) != v]
    keys.sort(key=lambda k: (LABEL_ORDER.index(k) if k in LABEL_ORDER else len(LABEL_ORDER), k))
    return [(k, alert.labels[k]) for k in keys[:5]]


def _links(n: Notification) -> str:
    """Runbooks, dashboards, the rules' expressions and Alertmanager: only http(s) as links."""
    notes = [n.common_annotations, *(a.annotations for a in n.alerts)]
    kinds = [
        ("Runbook", _unique(m.get("runbook_url", "") for m in notes)),
        ("Dashboard", _unique(m.get(k, "") for m in notes for k in DASHBOARD_KEYS)),
        ("Source", _unique(a.generator_url for a in n.alerts)),
        ("Alertmanager", _unique([n.external_url])),
    ]
    shown = [_link(kind, url) for kind, urls in kinds for url in urls]
    text = ""
    for item in shown:
        if len(text) + len(item) + 3 > SECTION_LIMIT:
            break
        text += (" · " if text else "") + item
    return text


def _unique(urls: Iterable[str]) -> list[str]:
    return list(dict.fromkeys(u.strip() for u in urls if u.strip()))[:MAX_LINKS]


def _link(kind: str, url: str) -> str:
    """`<url|Kind (host)>` for a URL that can be a link; otherwise the URL as code, which Slack never links."""
    url = redact_for_slack(url)
    host = _link_host(url)
    link = f"<{escape_mrkdwn(url)}|{kind} ({host})>" if host else ""
    if link and len(link) <= 1000:
        return link
    return f"{kind}: {_shown(url, 300, _code)}"


def _link_host(url: str) -> str:
    """The host a URL leads to, or "" if it must not be a link: not http(s), characters Slack reads in
    `<…|…>`, whitespace, non-ASCII, or an authority that is not plainly a host and port (user info)."""
    authority = _AUTHORITY.match(url) if _LINKABLE.fullmatch(url) else None
    return authority.group("host").lower() if authority else ""
