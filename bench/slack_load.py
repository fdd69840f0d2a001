"""Slack under load: 1, 20 and 50 concurrent conversations over 10 channels, Slack's rate tiers enforced.

The real Bolt app (Socket Mode) runs against the fake Slack with its per-method tiers and burst allowance
on; a scripted model streams each answer over ~10 s (`--answer-seconds 0`: a zero-latency model).
Measured per run: ack latency, time to the first visible reply (stream start or placeholder), the time
from the model's last token to the final message visible, the highest rate of intermediate changes of any
message, 429s, lost or wrong final messages, and wall time. `--burst 5` is a small-burst workspace: Slack
publishes no burst sizes, and the fake then allows only 5 calls at once per method.
Run: `uv run python -m bench.slack_load`.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import re
import sys
import time
from pathlib import Path

from bench.common import fake_world
from tests.fakes.brains import default_brains
from tests.fakes.scripted_model import ScriptedModels, Turn
from tests.fakes.slack_api import BOT_USER, FakeSlack, Message
from tests.slack_harness import running_bot

CHANNELS = [f"C{i:02d}" for i in range(10)]
WORDS = [
    "the",
    "deployment",
    "rolled",
    "out",
    "cleanly",
    "and",
    "every",
    "replica",
    "reports",
    "ready",
    "after",
    "the",
    "probe",
    "passed",
]


def expected_answer(qid: str) -> str:
    body = " ".join(WORDS[(i * 7 + len(qid)) % len(WORDS)] for i in range(80))
    return f"Answer {qid}: {body}."


def answering_brain(turn: Turn) -> str:
    match = re.search(r"question (\S+)", turn.user_text)
    return expected_answer(match.group(1) if match else "?")


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))]


def final_text(messages: list[Message]) -> str:
    parts = [m.final_text.replace("\n\n_(continued below)_", "") for m in messages if m.user == BOT_USER]
    return "\n".join(parts).strip()


async def scenario(
    n: int, answer_seconds: float, workdir: Path, burst: int | None = None
) -> dict[str, float]:
    text_len = len(expected_answer("q000"))
    chunk = 10
    delay = answer_seconds / (text_len / chunk)
    models = ScriptedModels(
        {**default_brains(), "coordinator": answering_brain}, chunk_size=chunk, delay=delay
    )
    state = workdir / f"run-{n}-{burst}"
    state.mkdir()
    async with running_bot(models, state, rate_limits=True, burst=burst) as h:
        slack: FakeSlack = h.slack
        events = []
        started = time.monotonic()
        for i in range(n):
            event = slack.mention(f"question q{i:03d}", channel=CHANNELS[i % len(CHANNELS)])
            envelope = await asyncio.to_thread(slack.send_event, event)
            events.append((event, envelope))
        pending = {e["ts"]: (e, env) for e, env in events}
        done_at: dict[str, float] = {}
        deadline = time.monotonic() + answer_seconds * 6 + 60
        while pending and time.monotonic() < deadline:
            for ts, (event, _) in list(pending.items()):
                replies = [m for m in slack.thread(event["channel"], ts) if m.user == BOT_USER]
                if (
                    replies
                    and not any(m.streaming for m in replies)
                    and final_text(replies) == expected_answer(event["text"].split()[-1])
                ):
                    done_at[ts] = time.monotonic()
                    del pending[ts]
            await asyncio.sleep(0.02)
        wall = (max(done_at.values()) if done_at else time.monotonic()) - started

        acks, first_visible = [], []
        for event, envelope in events:
            record = slack.envelopes[envelope]
            acks.append(record["acked"] - record["sent"])
            firsts = [
                c.at
                for c in slack.calls
                if c.method in ("chat.startStream", "chat.postMessage")
                and c.params.get("thread_ts") == event["ts"]
                and c.status == 200
                and c.response.get("ok")
            ]
            if firsts:
                first_visible.append(min(firsts) - record["sent"])
        # the model's last token → the thread's final message visible (its last change)
        coordinator = models.models["coordinator"]
        model_done = {
            match.group(1): end
            for turn, end in zip(coordinator.requests, coordinator.finished, strict=False)
            if (match := re.search(r"question (\S+)", turn.user_text))
        }
        final_lag = []
        for event, _ in events:
            replies = [m for m in slack.thread(event["channel"], event["ts"]) if m.user == BOT_USER]
            qid = event["text"].split()[-1]
            if replies and qid in model_done:
                visible = max(m.edits[-1] if m.edits else m.created for m in replies)
                final_lag.append(visible - model_done[qid])
        max_rate = 0
        min_gap = float("inf")
        for message in list(slack.messages.values()):
            if message.user != BOT_USER:
                continue
            # intermediate changes: creation and every edit but the last (the final one does not wait)
            stamps = [message.created, *message.edits[:-1]]
            for a, b in itertools.pairwise(stamps):
                min_gap = min(min_gap, b - a)
            for i, t in enumerate(stamps):  # most changes of this message inside any 1-second window
                max_rate = max(max_rate, sum(1 for u in stamps[i:] if u - t < 1.0))
        wrong = 0
        for event, _ in events:
            replies = [m for m in slack.thread(event["channel"], event["ts"]) if m.user == BOT_USER]
            if final_text(replies) != expected_answer(event["text"].split()[-1]):
                wrong += 1
        native = sum(1 for m in slack.messages.values() if m.user == BOT_USER and m.stream)
    return {
        "n": n,
        "ack_p99_ms": percentile(acks, 0.99) * 1000,
        "first_p50_ms": percentile(first_visible, 0.5) * 1000,
        "first_p95_ms": percentile(first_visible, 0.95) * 1000,
        "final_p95_ms": percentile(final_lag, 0.95) * 1000 if final_lag else float("nan"),
        "max_updates_in_1s": max_rate,
        "min_gap_s": min_gap if min_gap != float("inf") else 0.0,
        "rate_limited": slack.rate_limited_count,
        "lost_or_wrong": wrong,
        "wall_s": wall,
        "native_streams": native,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sizes", default="1,20,50")
    parser.add_argument("--answer-seconds", type=float, default=10.0)
    parser.add_argument("--burst", type=int, default=None, help="calls at once per method (default: tier)")
    args = parser.parse_args()
    workdir, kube = fake_world("slack")
    results = [
        asyncio.run(scenario(int(n), args.answer_seconds, workdir, args.burst)) for n in args.sizes.split(",")
    ]
    print(f"burst per method: {args.burst or 'as the tier'}; answer over {args.answer_seconds:g} s")
    header = (
        "conversations",
        "ack p99 ms",
        "first p50 ms",
        "first p95 ms",
        "done→final p95",
        "max chg/1s/msg",
        "min gap s",
        "429s",
        "lost/wrong",
        "wall s",
        "native",
    )
    print("  ".join(f"{h:>14}" for h in header))
    for r in results:
        print(
            "  ".join(
                f"{v:>14.1f}" if isinstance(v, float) else f"{v:>14}"
                for v in (
                    r["n"],
                    r["ack_p99_ms"],
                    r["first_p50_ms"],
                    r["first_p95_ms"],
                    r["final_p95_ms"],
                    r["max_updates_in_1s"],
                    r["min_gap_s"],
                    r["rate_limited"],
                    r["lost_or_wrong"],
                    r["wall_s"],
                    r["native_streams"],
                )
            )
        )
    kube.stop()
    by_n = {r["n"]: r for r in results}
    if 1 in by_n and 50 in by_n:
        print(f"\nwall time 50 / 1: {by_n[50]['wall_s'] / by_n[1]['wall_s']:.2f}x (target ≤ 1.5x)")
    if 20 in by_n:
        r = by_n[20]
        print(
            f"at 20: ack p99 {r['ack_p99_ms']:.1f} ms (target < 100), first visible p95 "
            f"{r['first_p95_ms']:.1f} ms (target < 300)"
        )
    gaps = [r["min_gap_s"] for r in results if r["min_gap_s"]]
    worst_gap = f"{min(gaps):.3f} s" if gaps else "none (no intermediate change)"
    print(
        f"first visible p95, worst size: {max(r['first_p95_ms'] for r in results):.1f} ms (target < 1000); "
        f"model done → final visible p95, worst size: {max(r['final_p95_ms'] for r in results):.1f} ms "
        "(target < 150)"
    )
    print(
        f"closest two intermediate changes of one message: {worst_gap} (target ≥ 1 s); "
        f"lost or wrong finals: {sum(r['lost_or_wrong'] for r in results)}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
