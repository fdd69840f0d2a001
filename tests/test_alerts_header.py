"""The alert thread's header: what it says while firing, repeating and resolved; links only where safe;
hostile alert text shown inert and redacted; Slack's limits kept whatever the alert holds."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any
from urllib.parse import urlsplit

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from slackbot.alerts import header
from slackbot.alerts.alertmanager import parse_webhook
from slackbot.alerts.header import HeaderState, duration, header_blocks
from slackbot.alerts.model import Alert, Notification
from slackbot.safe_text import unescape_slack
from tests.test_alerts_alertmanager import FIRING, RESOLVED

T0 = dt.datetime(2026, 12, 3, 12, 8, tzinfo=dt.UTC)
STARTS = dt.datetime(2026, 12, 3, 12, 7, 59, 981259, tzinfo=dt.UTC)  # the real body's startsAt
OUR_DATE = re.compile(r"<!date\^\d+\^\{date_short_pretty\} \{time\}\|\d{4}-\d{2}-\d{2} \d{2}:\d{2} UTC>")
OUR_LINK = re.compile(
    r"<(https?://[^<>|\s]+)\|(Runbook|Dashboard|Source|Alertmanager) \(([^()<>|]+)\)>", re.I
)


def texts(blocks: list[dict[str, Any]]) -> list[tuple[str, str]]:
    """Every (type, text) of the blocks, nested fields and elements included."""
    found: list[tuple[str, str]] = []

    def walk(value: Any) -> None:
        if isinstance(value, dict):
            if isinstance(value.get("text"), str):
                found.append((value["type"], value["text"]))
            for inner in value.values():
                walk(inner)
        elif isinstance(value, list):
            for inner in value:
                walk(inner)

    walk(blocks)
    return found


def everything(state: HeaderState) -> str:
    fallback, blocks = header_blocks(state)
    return "\n".join([fallback] + [t for _, t in texts(blocks)])


def state(n: Notification, **changes: Any) -> HeaderState:
    return HeaderState(**{"notification": n, "first_seen": T0, "last_seen": T0, **changes})


def alert(**fields: Any) -> Alert:
    return Alert(**{"fingerprint": "f", "status": "firing", "name": "A", **fields})


def group(*alerts: Alert, **fields: Any) -> Notification:
    base = {"source": "alertmanager", "delivery_id": "d", "group_key": "g", "status": "firing"}
    return Notification(**{**base, "alerts": alerts, **fields})


def test_a_firing_header_says_what_how_bad_where_and_since_when() -> None:
    fallback, blocks = header_blocks(state(parse_webhook(FIRING)))
    assert fallback == "Firing: KubePodCrashLooping (critical, prod-eu)"
    assert blocks[0]["text"] == {
        "type": "plain_text",
        "text": "🔥 KubePodCrashLooping · critical · prod-eu",
        "emoji": False,
    }
    status = blocks[1]["text"]["text"]
    assert (
        status
        == f":fire: *Firing* since <!date^{int(STARTS.timestamp())}^{{date_short_pretty}} {{time}}|2026-12-03 12:07 UTC>"
    )
    assert [f["text"] for f in blocks[1]["fields"]] == [
        "*Severity*\n`critical`",
        "*Cluster*\n`prod-eu`",
        "*Alerts*\n1 firing, 0 resolved",
    ]
    assert blocks[2]["text"]["text"] == "*Summary:* Pod shop/checkout-7d9f8b-x2k4q is crash looping"
    assert blocks[3]["text"]["text"] == ":fire: `namespace=shop` `pod=checkout-7d9f8b-x2k4q`"
    assert "notifications" not in everything(state(parse_webhook(FIRING)))
    assert "Investigating" not in everything(state(parse_webhook(FIRING)))


def test_since_falls_back_to_first_seen_and_investigating_shows_until_resolved() -> None:
    earlier = STARTS - dt.timedelta(hours=1)
    two = group(alert(starts_at=STARTS), alert(fingerprint="2", starts_at=earlier))
    assert "|2026-12-03 11:07 UTC>" in header_blocks(state(two))[1][1]["text"]["text"]  # the earliest start
    n = group(alert(starts_at=None))
    assert "|2026-12-03 12:08 UTC>" in header_blocks(state(n))[1][1]["text"]["text"]
    _, blocks = header_blocks(state(n, investigating=True))
    assert blocks[-1] == {
        "type": "context",
        "elements": [{"type": "mrkdwn", "text": ":mag: Investigating in this thread…"}],
    }
    assert "Investigating" not in everything(state(parse_webhook(RESOLVED), investigating=True))


def test_a_repeat_shows_the_count_and_when_it_was_last_seen() -> None:
    later = T0 + dt.timedelta(minutes=5)
    status = header_blocks(state(parse_webhook(FIRING), count=3, last_seen=later))[1][1]["text"]["text"]
    assert status.endswith(
        f"\n3 notifications, last <!date^{int(later.timestamp())}^{{date_short_pretty}} {{time}}|2026-12-03 12:13 UTC>"
    )


def test_resolved_says_for_how_long_it_fired() -> None:
    resolved_at = T0 + dt.timedelta(minutes=14)
    fallback, blocks = header_blocks(
        state(parse_webhook(RESOLVED), resolved_at=resolved_at, fired_for=dt.timedelta(minutes=14, seconds=3))
    )
    assert fallback.startswith("Resolved: KubePodCrashLooping")
    assert blocks[0]["text"]["text"].startswith("✅ KubePodCrashLooping")
    status = blocks[1]["text"]["text"]
    assert status.startswith(":white_check_mark: *Resolved* after 14m (at <!date^")
    assert "|2026-12-03 12:22 UTC>; firing since <!date^" in status
    assert "0 firing, 1 resolved" in blocks[1]["fields"][2]["text"]
    unknown = header_blocks(state(parse_webhook(RESOLVED)))[1][1]["text"]["text"]
    assert unknown.startswith(":white_check_mark: *Resolved* (at <!date^")


def test_duration_in_its_two_largest_units() -> None:
    cases = {
        45: "45s",
        0: "0s",
        60: "1m",
        14 * 60 + 3: "14m",
        7200: "2h",
        2 * 3600 + 300: "2h 5m",
        86_400: "1d",
        3 * 86_400 + 4 * 3600 + 5: "3d 4h",
        -5: "0s",
    }
    assert {s: duration(dt.timedelta(seconds=s)) for s in cases} == cases


def test_alerts_are_listed_with_what_tells_them_apart_then_k_more() -> None:
    alerts = [
        alert(fingerprint=str(i), labels={"alertname": "A", "namespace": "shop", "pod": f"p{i}", "zone": "z"})
        for i in range(25)
    ]
    common = {"alertname": "A", "namespace": "shop", "zone": "z"}
    _, blocks = header_blocks(state(group(*alerts, common_labels=common, truncated=4)))
    lines = blocks[2]["text"]["text"].split("\n")
    assert lines[0] == ":fire: `pod=p0`" and len(lines) == header.MAX_LISTED + 1 and lines[-1] == "+19 more"
    two_names = group(
        alert(name="A", fingerprint="1"),
        alert(name="B", fingerprint="2", status="resolved", annotations={"summary": "b is down"}),
    )
    listed = header_blocks(state(two_names))[1][2]["text"]["text"]
    assert listed == ":fire: `A`\n:white_check_mark: `B` — b is down"


def test_at_most_five_telling_labels_in_a_fixed_order() -> None:
    labels = {
        "zz": "1",
        "yy": "2",
        "node": "n",
        "pod": "p",
        "xx": "3",
        "namespace": "ns",
        "ww": "4",
        "severity": "s",
    }
    line = header_blocks(state(group(alert(labels=labels), severity="s")))[1][2]["text"]["text"]
    assert line == ":fire: `namespace=ns` `pod=p` `node=n` `ww=4` `xx=3`"


def test_a_cluster_or_severity_unlike_the_headers_is_shown_on_its_alert_line() -> None:
    first = alert(labels={"alertname": "A", "cluster": "eu", "severity": "page", "pod": "p1"})
    other = alert(
        fingerprint="2", labels={"alertname": "A", "cluster": "us", "severity": "page", "pod": "p2"}
    )
    n = group(
        first, other, common_labels={"alertname": "A", "severity": "page"}, cluster="eu", severity="page"
    )
    assert header_blocks(state(n))[1][2]["text"]["text"] == ":fire: `pod=p1`\n:fire: `cluster=us` `pod=p2`"


def test_long_alert_lines_stop_before_the_section_limit_and_count_the_rest() -> None:
    long = {"pod": "p" * 300, "node": "n" * 300, "a": "a" * 300, "b": "b" * 300, "c": "c" * 300}
    alerts = [
        alert(fingerprint=str(i), labels={**long, "i": str(i)}, annotations={"summary": "s" * 900})
        for i in range(8)
    ]
    text = header_blocks(state(group(*alerts)))[1][2]["text"]["text"]
    lines = text.split("\n")
    assert len(text) <= header.SECTION_LIMIT and lines[-1] == f"+{8 - len(lines) + 1} more" and len(lines) > 2
    assert all(line.startswith(":fire: `pod=") for line in lines[:-1])


def test_the_k_more_line_always_has_room() -> None:
    """Line lengths swept across the section limit: whatever fits, "+k more" still fits after it."""
    labels = {k: k * 95 for k in "abcde"}
    for extra in range(0, 200, 3):
        alerts = [
            alert(fingerprint=str(i), labels=labels, annotations={"summary": "s" * (60 + extra)})
            for i in range(6)
        ]
        text = header_blocks(state(group(*alerts)))[1][2]["text"]["text"]
        assert len(text) <= header.SECTION_LIMIT and text.endswith(" more"), extra


def test_long_text_is_cut_with_a_marker_to_fit() -> None:
    n = group(alert(), common_annotations={"summary": "& " * 2_000, "description": "line\n" * 3_000})
    summary, description = header_blocks(state(n))[1][2]["text"]["text"].split("\n", 1)
    assert summary.endswith("…") and len(summary) <= len("*Summary:* ") + 600
    assert "&amp; &amp;" in summary and not re.search(r"&(?!amp;|lt;|gt;)", summary)
    assert description.count("\n") == 11  # twelve lines at most


def test_links_are_three_of_a_kind_and_stop_before_the_section_limit() -> None:
    runbooks = [
        alert(fingerprint=str(i), annotations={"runbook_url": f"https://wiki.example.com/{i}"})
        for i in range(5)
    ]
    links = header_blocks(state(group(*runbooks)))[1][-1]["text"]["text"]
    assert links.count("|Runbook (wiki.example.com)>") == header.MAX_LINKS
    big = [alert(fingerprint=str(i), generator_url=f"https://p{i}.example/" + "q" * 900) for i in range(3)]
    notes = {"runbook_url": "https://r.example/" + "r" * 900, "dashboard": "https://d.example/" + "d" * 900}
    links = header_blocks(state(group(*big, common_annotations=notes)))[1][-1]["text"]["text"]
    assert len(links) <= header.SECTION_LIMIT and links.count("<https://") == 3


def test_links_only_http_s_and_labelled_with_the_host_they_lead_to() -> None:
    notes = {
        "runbook_url": "https://wiki.example.com/rb?a=1&b=2",
        "dashboard": "javascript:alert(1)",
        "grafana_url": "HTTPS://Grafana.example.com:3000/d/x",
    }
    n = group(
        alert(generator_url="ftp://prometheus/graph"),
        alert(fingerprint="2", generator_url="http://[::1]:9090/g"),
        common_annotations=notes,
        external_url="http://am:9093",
    )
    links = header_blocks(state(n))[1][-1]["text"]["text"]
    assert links.split(" · ") == [
        "<https://wiki.example.com/rb?a=1&amp;b=2|Runbook (wiki.example.com)>",
        "Dashboard: `javascript:alert(1)`",
        "<HTTPS://Grafana.example.com:3000/d/x|Dashboard (grafana.example.com)>",
        "Source: `ftp://prometheus/graph`",
        "<http://[::1]:9090/g|Source ([::1])>",
        "<http://am:9093|Alertmanager (am)>",
    ]


def test_a_url_slack_would_misread_or_that_hides_its_host_is_text_not_a_link() -> None:
    for url in [
        "https://evil.example/|Runbook (wiki.example.com)",
        "https://evil.example/>x",
        "https://evil.example/<!here>",
        "https://evil.example/a b",
        "https://evil.example/\u200bx",
        "https://wiki.example.com@evil.example/",
        "https://wiki.example.com:x@evil.example/",
        "https://evil.example/|Runbook",
        "https://wiki.example.com:]0/",  # not a port: browsers refuse it, urlsplit raises
        "https://wiki.example.com\\@evil.example/",  # a backslash ends the host for browsers
        "https://evil.example/`x",
        "https://" + "a" * 1_500 + ".example/",
        "https://evil.example/```x",
        "https:///nohost",
        "https://exa_mple.com/",
        "data:text/html,hi",
    ]:
        links = header_blocks(state(group(alert(), common_annotations={"runbook_url": url})))[1][-1]["text"][
            "text"
        ]
        assert links.startswith("Runbook: `") and "<" not in links and "```" not in links, url


HOSTILE = "<!here> <!channel> <@U0123ABCD> <#C0123ABCD> <https://evil.example|https://wiki.example.com> ```x``` & *bold*\n*Resolved* after 1m"


def test_hostile_labels_and_annotations_are_shown_inert() -> None:
    labels = {"alertname": HOSTILE, "cluster": HOSTILE, "severity": HOSTILE, "pod": HOSTILE, HOSTILE: "v"}
    notes = {"summary": HOSTILE, "description": HOSTILE + "\nsecond line", "runbook_url": HOSTILE}
    n = group(
        alert(name=HOSTILE, labels=labels, annotations=notes),
        alert(fingerprint="2", name="B", annotations=notes),
        cluster=HOSTILE,
        severity=HOSTILE,
    )
    shown = everything(state(n, count=2))
    for control in ("<!here", "<!channel", "<@U", "<#C", "<https://evil", "```"):
        assert control not in shown
    assert "&lt;!here&gt;" in shown and "&amp;" in shown
    quoted = header_blocks(state(group(alert(annotations=notes))))[1][2]["text"]["text"]
    assert "\n> *Resolved* after 1m\n> second line" in quoted  # the alert's words, visibly quoted
    assert "```" not in quoted and "<" not in quoted and "\n> &lt;!here&gt; &lt;!channel&gt;" in quoted
    title = header_blocks(state(group(alert(name="```x``` <!here>"), severity="``")))[1][0]["text"]["text"]
    assert "```" not in title and "<" not in title and "‹!here›" in title
    assert "\n*Resolved*" not in shown.replace("*Summary:*", "")


def test_secrets_in_alerts_are_redacted_before_slack_sees_them() -> None:
    token = "xoxb-123456789012-abcdefghijklmnop"
    labels = {"alertname": "A", "pod": token, "db_password": "hunter2", "node": "a\rb\u2028c"}
    notes = {
        "summary": f"login with {token}",
        "description": "password: hunter2",
        "runbook_url": "https://bob:hunter2@wiki.example.com/x",
    }
    shown = everything(state(group(alert(labels=labels, annotations=notes), common_annotations=notes)))
    assert token not in shown and "hunter2" not in shown and "[redacted]" in shown
    assert "`node=a b c`" in shown  # any line break in a label: a space
    signed = {"dashboard": "https://s3.example.com/b/k?X-Amz-Signature=deadbeefcafe1234&x=1"}
    links = header_blocks(state(group(alert(), common_annotations=signed)))[1][-1]["text"]["text"]
    assert (
        links == "<https://s3.example.com/b/k?X-Amz-Signature=[redacted]&amp;x=1|Dashboard (s3.example.com)>"
    )


def check_limits(fallback: str, blocks: list[dict[str, Any]]) -> None:
    assert len(blocks) <= 50 and len(fallback) <= 500
    for block in blocks:
        if block["type"] == "header":
            assert len(block["text"]["text"]) <= header.HEADER_LIMIT and not set("<>") & set(
                block["text"]["text"]
            )
        if block["type"] == "section":
            assert len(block["text"]["text"]) <= header.SECTION_LIMIT
            assert len(block.get("fields", [])) <= 10
            assert all(len(f["text"]) <= header.FIELD_LIMIT for f in block.get("fields", []))
    for kind, text in [*texts(blocks), ("mrkdwn", fallback)]:
        assert "```" not in text
        if kind != "mrkdwn":
            continue
        for url, _, host in OUR_LINK.findall(text):
            target = urlsplit(unescape_slack(url))
            assert "@" not in target.netloc and host.strip("[]") == target.hostname
        rest = OUR_LINK.sub("", OUR_DATE.sub("", text))
        assert "<" not in rest and ">" not in re.sub(r"(?m)^> ", "", rest)


SMALL = st.text(
    alphabet=st.sampled_from([*"<>!@#|&`*_~\n\r\u2028 :/.hUCtps=x[]", "\u200b", "é"]), max_size=40
) | st.text(max_size=40)
LONG = st.builds(lambda s, k: (s or "x") * k, SMALL, st.integers(50, 400))
TEXT = SMALL | LONG
# URLs that are often linkable (a host, then a path of characters Slack reads in `<…|…>`), or not at all.
URL = st.builds(
    lambda scheme, host, path: scheme + host + path,
    st.sampled_from(["http://", "https://", "HTTP://", "javascript:", "ftp://", ""]),
    st.from_regex(r"[a-z0-9.:@\[\]-]{0,20}", fullmatch=True),
    st.text(alphabet=st.sampled_from(list("/<>|`!@#&?=%ax- ")), max_size=30) | LONG,
)
NOTES = st.dictionaries(
    st.sampled_from(["summary", "description", "runbook_url", "dashboard", "grafana_url", "other"]),
    TEXT | URL,
)
LABELS = st.dictionaries(TEXT, TEXT, max_size=8) | st.dictionaries(
    st.text(min_size=1, max_size=10), LONG, min_size=5, max_size=8
)
ALERT = st.builds(
    alert,
    name=TEXT,
    status=st.sampled_from(["firing", "resolved"]),
    labels=LABELS,
    annotations=NOTES,
    generator_url=URL,
)


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large]
)
@given(
    alerts=st.lists(ALERT, min_size=1, max_size=30),
    common=st.dictionaries(TEXT, TEXT, max_size=5),
    notes=NOTES,
    words=st.tuples(TEXT, TEXT, URL),
    count=st.integers(1, 10**6),
    status=st.sampled_from(["firing", "resolved"]),
    investigating=st.booleans(),
)
def test_any_alert_gives_a_header_within_slack_limits_with_nothing_live(
    alerts, common, notes, words, count, status, investigating
) -> None:
    severity, cluster, external = words
    n = group(
        *alerts,
        status=status,
        common_labels=common,
        common_annotations=notes,
        cluster=cluster,
        severity=severity,
        external_url=external,
        truncated=count,
    )
    fallback, blocks = header_blocks(
        state(n, count=count, investigating=investigating, fired_for=dt.timedelta(seconds=count))
    )
    check_limits(fallback, blocks)


def test_a_cut_summary_stays_within_the_section_limit_after_the_client_redacts_again() -> None:
    """A cut right after `password=` makes a new assignment the outbound scrub redacts, growing the text."""
    from slackbot.outbound import scrub_payload

    alerts = tuple(
        Alert(
            fingerprint=f"f{i}",
            status="firing",
            name="Leaky",
            labels={"pod": f"pod-{i}-" + "p" * 72},
            annotations={"summary": "x" * 189 + " password=" + "a" * 50},
        )
        for i in range(10)
    )
    notification = Notification("alertmanager", "d", "g", "firing", alerts)
    now = dt.datetime(2026, 12, 3, 10, 0, tzinfo=dt.UTC)
    _text, blocks = header_blocks(HeaderState(notification, now, now))
    for block in scrub_payload(blocks):
        text = (block.get("text") or {}).get("text", "") if isinstance(block.get("text"), dict) else ""
        assert len(text) <= 3000
