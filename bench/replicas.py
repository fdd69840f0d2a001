"""Replicas under Slack's tiers: 50 conversations answered by 1 vs 3 `sre-bot run` processes.

For each replica count, a world of its own: moto for the shared state (DynamoDB and S3, its DynamoDB
requests taking turns as in tests/conftest.py `SerialMotoServer`, every request counted by service), the
table and bucket made by `sre-bot state init`'s code, one fake Slack with its tiers enforced that shares
the app's envelopes over the connections in turn (`spread=True`), one OpenAI-compatible fake model that
streams each answer over a few seconds, the demo cluster, and N real `sre-bot run` processes
(STATE_BACKEND=aws, REPLICA_COUNT=N, each in its own directory). The conversations are mentions over 10
channels ("list the pods in default"), sent one after another.

Measured: wall time (first event sent → last correct final seen), first visible reply per question (the
first successful chat.startStream or chat.postMessage in its thread, from the event leaving the fake
Slack), 429s Slack answered, lost or wrong finals (threads without exactly one finished reply naming the
demo pods), duplicate answers, and the DynamoDB and S3 requests moto served during the run per question.
Run: `uv run python -m bench.replicas` (--conversations 50 --replicas 1,3 --answer-seconds 4).
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import os
import re
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from moto.server import ThreadedMotoServer

from evals.world import environment
from tests.conftest import PROJECT_ROOT, SerialDynamoDB
from tests.fakes.fake_cluster import FakeKubeAPI, seed_demo
from tests.fakes.openai_api import FakeOpenAI
from tests.fakes.slack_api import APP_TOKEN, BOT_TOKEN, BOT_USER, FakeSlack, Message
from tests.replica_processes import replica_processes

CHANNELS = [f"C{i:02d}" for i in range(10)]
QUESTION = "list the pods in default"
PODS = ("web-6d4cf56db6-abcde", "web-6d4cf56db6-fghij", "crashy-7f9c", "imgpull-5b8d", "pending-0")
REGION = "us-east-1"
CHUNK = 8
# the specialist's text and the coordinator's (the same pod list) both stream, chunk by chunk
STREAMED_CHUNKS = 2 * len("Pods in default:\n" + "\n".join(f"- {p}" for p in PODS)) // CHUNK


class CountingApp:
    """WSGI middleware in front of moto: counts every request by service and operation."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.lock = threading.Lock()
        self.counts: Counter[str] = Counter()

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        target = str(environ.get("HTTP_X_AMZ_TARGET", ""))
        if target.startswith("DynamoDB_"):
            name = "dynamodb " + target.split(".", 1)[-1]
        else:  # SigV4 names the service in the credential scope: …/<date>/<region>/<service>/aws4_request
            scope = re.search(
                r"Credential=[^/]+/[^/]+/[^/]+/([^/]+)/", str(environ.get("HTTP_AUTHORIZATION", ""))
            )
            service = scope.group(1) if scope else "unsigned"
            name = f"{service} {environ.get('REQUEST_METHOD', '?')}"
        with self.lock:
            self.counts[name] += 1
        return self.app(environ, start_response)

    def snapshot(self) -> Counter[str]:
        with self.lock:
            return Counter(self.counts)


class CountingMotoServer(ThreadedMotoServer):
    """tests/conftest.py's SerialMotoServer (DynamoDB requests take turns), behind a `CountingApp`."""

    counter: CountingApp

    def _server_entry(self) -> None:
        from moto.moto_server.werkzeug_app import (
            DomainDispatcherApplication,
            MotoRequestHandler,
            create_backend_app,
        )
        from werkzeug.serving import make_server

        self.counter = CountingApp(SerialDynamoDB(DomainDispatcherApplication(create_backend_app)))
        self._server = make_server(
            self._ip_address, self._port, self.counter, True, request_handler=MotoRequestHandler
        )
        self._server_ready_event.set()
        self._server.serve_forever()


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))]


def finished(slack: FakeSlack, channel: str, thread_ts: str) -> list[Message]:
    """The bot's finished replies in a thread (not streaming, not a placeholder)."""
    return [
        m
        for m in slack.thread(channel, thread_ts)
        if m.user == BOT_USER and not m.streaming and "Working on it" not in m.final_text
    ]


def correct(message: Message) -> bool:
    return all(pod in message.final_text for pod in PODS)


def poll(condition: Callable[[], object], what: str, within: float) -> None:
    deadline = time.monotonic() + within
    while not condition():
        if time.monotonic() > deadline:
            raise TimeoutError(f"not within {within:g}s: {what}")
        time.sleep(0.05)


@contextlib.contextmanager
def replicas(count: int, answer_seconds: float, root: Path) -> Iterator[tuple[FakeSlack, CountingApp]]:
    """The world of one run: moto, the state, fake Slack (tiers on), the model, the cluster, N bots."""
    werkzeug = logging.getLogger("werkzeug")  # moto's request log would fill the terminal
    werkzeug.addHandler(logging.NullHandler())
    werkzeug.setLevel(logging.WARNING)
    moto = CountingMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    moto.start()
    host, port = moto.get_host_and_port()
    moto_url = f"http://{host}:{port}"
    aws = {
        "AWS_ENDPOINT_URL": moto_url,  # anything else the bot asks AWS is counted apart
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_REGION": REGION,
        "AWS_DEFAULT_REGION": REGION,
        "AWS_CONFIG_FILE": str(root / "no-aws-config"),
        "AWS_SHARED_CREDENTIALS_FILE": str(root / "no-aws-credentials"),
        "AWS_EC2_METADATA_DISABLED": "true",
    }
    with environment(aws):  # `state init`'s code reads the endpoint and credentials as the bot does
        from agents.state.aws.setup import init

        name = f"sre-bot-bench-{count}"
        init(name, name, REGION)
    kube = FakeKubeAPI().start()
    seed_demo(kube)
    kubeconfig = kube.write_kubeconfig(root / "kubeconfig")
    delay = answer_seconds / max(1, STREAMED_CHUNKS)
    try:
        with (
            FakeSlack(rate_limits=True, spread=True) as slack,
            FakeOpenAI(chunk_size=CHUNK, delay=delay) as model,
        ):
            env = {
                "PATH": os.environ.get("PATH", ""),
                "HOME": str(root / "home"),
                "PYTHONPATH": str(PROJECT_ROOT),
                **aws,
                "SLACK_BOT_TOKEN": BOT_TOKEN,
                "SLACK_APP_TOKEN": APP_TOKEN,
                "SLACK_API_URL": slack.api_url,
                "MODEL_PROVIDER": "openai",
                "OPENAI_BASE_URL": model.base_url,
                "KUBECONFIG": str(kubeconfig),
                "EKS_MCP_ALLOW_SENSITIVE_DATA": "true",
                "STATE_BACKEND": "aws",
                "STATE_TABLE": name,
                "SESSION_BUCKET": name,
                "REPLICA_COUNT": str(count),
                "HEALTH_PORT": "0",
            }
            with replica_processes(env, root, count, slack):
                yield slack, moto.counter
    finally:
        kube.stop()
        moto.stop()


def scenario(
    conversations: int, count: int, answer_seconds: float, root: Path, settle: float = 2.0
) -> dict[str, Any]:
    """One run: `conversations` mentions over 10 channels answered by `count` replicas, after one warm-up
    question to each replica (its first answer's one-off costs); `settle` seconds after the last final
    for a second answer to show up."""
    root.mkdir(parents=True, exist_ok=True)
    with replicas(count, answer_seconds, root) as (slack, counter):
        warm = [slack.mention(QUESTION, channel="CWARM") for _ in range(count)]
        for event in warm:  # one to each replica (spread takes turns): its first answer's one-off costs
            slack.send_event(event, event_id=f"Ev-{event['ts']}")
        poll(
            lambda: all(any(correct(m) for m in finished(slack, "CWARM", e["ts"])) for e in warm),
            "the warm-up answers",
            within=120,
        )
        before = counter.snapshot()
        events = []
        for i in range(conversations):
            event = slack.mention(QUESTION, channel=CHANNELS[i % len(CHANNELS)])
            events.append((event, slack.send_event(event, event_id=f"Ev-{event['ts']}")))
        started = min(slack.envelopes[env]["sent"] for _, env in events)
        done_at: dict[str, float] = {}
        deadline = time.monotonic() + answer_seconds * 10 + 120
        while len(done_at) < len(events) and time.monotonic() < deadline:
            for event, _ in events:
                if event["ts"] in done_at:
                    continue
                replies = [m for m in slack.thread(event["channel"], event["ts"]) if m.user == BOT_USER]
                if not any(m.streaming for m in replies) and any(
                    correct(m) for m in finished(slack, event["channel"], event["ts"])
                ):
                    done_at[event["ts"]] = time.monotonic()
            time.sleep(0.05)
        last = max(done_at.values()) if done_at else time.monotonic()
        after = counter.snapshot()
        time.sleep(settle)  # a second answer to the same question would show up now
        state = after - before

        acks = [slack.envelopes[env]["acked"] - slack.envelopes[env]["sent"] for _, env in events]
        native = sum(
            1
            for event, _ in events
            for m in slack.thread(event["channel"], event["ts"])
            if m.user == BOT_USER and m.stream
        )
        first_visible = []
        for event, envelope in events:
            firsts = [
                c.at
                for c in list(slack.calls)
                if c.method in ("chat.startStream", "chat.postMessage")
                and c.params.get("thread_ts") == event["ts"]
                and c.status == 200
                and c.response.get("ok")
            ]
            if firsts:
                first_visible.append(min(firsts) - slack.envelopes[envelope]["sent"])
        lost = duplicates = 0
        for event, _ in events:
            answers = [m for m in finished(slack, event["channel"], event["ts"]) if m.final_text.strip()]
            if len(answers) != 1 or not correct(answers[0]):
                lost += 1
            if len(answers) > 1:
                duplicates += 1
        connections = Counter(slack.envelopes[env]["connection"] for _, env in events)
        rate_limited = slack.rate_limited_count
        by_method = Counter(c.method for c in list(slack.calls) if c.status == 429)
    dynamodb = sum(v for k, v in state.items() if k.startswith("dynamodb "))
    s3 = sum(v for k, v in state.items() if k.startswith("s3 "))
    return {
        "replicas": count,
        "conversations": conversations,
        "answered": len(done_at),
        "wall_s": last - started,
        "ack_p95_ms": percentile(acks, 0.95) * 1000,
        "first_p50_ms": percentile(first_visible, 0.5) * 1000,
        "first_p95_ms": percentile(first_visible, 0.95) * 1000,
        "first_max_ms": max(first_visible, default=float("nan")) * 1000,
        "native_streams": native,
        "rate_limited": rate_limited,
        "rate_limited_by_method": dict(by_method),
        "lost_or_wrong": lost,
        "duplicates": duplicates,
        "per_replica": sorted(connections.values(), reverse=True),
        "dynamodb_per_question": dynamodb / conversations,
        "s3_per_question": s3 / conversations,
        "state_per_question": (dynamodb + s3) / conversations,
        "other_aws": sum(v for k, v in state.items() if not k.startswith(("dynamodb ", "s3 "))),
        "state_calls": dict(state),
    }


ROWS = (
    ("questions answered", "answered", "{:.0f}"),
    ("events per replica", "per_replica", "{}"),
    ("wall s", "wall_s", "{:.1f}"),
    ("ack p95 ms", "ack_p95_ms", "{:.1f}"),
    ("first visible p50 ms", "first_p50_ms", "{:.1f}"),
    ("first visible p95 ms", "first_p95_ms", "{:.1f}"),
    ("first visible max ms", "first_max_ms", "{:.1f}"),
    ("native streams", "native_streams", "{:.0f}"),
    ("429s received", "rate_limited", "{:.0f}"),
    ("lost or wrong finals", "lost_or_wrong", "{:.0f}"),
    ("duplicate answers", "duplicates", "{:.0f}"),
    ("DynamoDB calls / question", "dynamodb_per_question", "{:.1f}"),
    ("S3 calls / question", "s3_per_question", "{:.1f}"),
    ("state calls / question", "state_per_question", "{:.1f}"),
    ("other AWS calls (run)", "other_aws", "{:.0f}"),
)


def table(results: list[dict[str, Any]]) -> str:
    """The figures of each replica count side by side, and last / first where both are numbers."""
    ratio = len(results) > 1
    head = f"{'':28}" + "".join(f"{str(r['replicas']) + ' replica(s)':>16}" for r in results)
    if ratio:
        head += f"{str(results[-1]['replicas']) + '/' + str(results[0]['replicas']):>10}"
    lines = [head]
    for label, key, fmt in ROWS:
        line = f"{label:28}" + "".join(f"{fmt.format(r[key]):>16}" for r in results)
        first, last = results[0][key], results[-1][key]
        if ratio and isinstance(first, int | float) and isinstance(last, int | float):
            line += f"{(f'{last / first:.2f}x' if first else '-'):>10}"
        lines.append(line)
    return "\n".join(lines)


def operations(results: list[dict[str, Any]]) -> str:
    """The state requests of each run by operation, per question."""
    names = sorted({k for r in results for k in r["state_calls"]})
    head = f"{'  per question, by operation':40}" + "".join(f"{r['replicas']:>8}" for r in results)
    rows = [
        f"  {name:38}"
        + "".join(f"{r['state_calls'].get(name, 0) / r['conversations']:>8.2f}" for r in results)
        for name in names
    ]
    return "\n".join([head, *rows])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--conversations", type=int, default=50)
    parser.add_argument("--replicas", default="1,3")
    parser.add_argument(
        "--answer-seconds", type=float, default=4.0, help="the fake model's streaming time per answer"
    )
    args = parser.parse_args()
    root = Path(tempfile.mkdtemp(prefix="bench-replicas-"))
    results = []
    for count in (int(n) for n in args.replicas.split(",")):
        print(f"running {args.conversations} conversations on {count} replica(s)…", flush=True)
        results.append(scenario(args.conversations, count, args.answer_seconds, root / f"run-{count}"))
    print(
        f"\n{args.conversations} conversations over {len(CHANNELS)} channels, Slack's tiers enforced, "
        f"answers streamed over ~{args.answer_seconds:g} s (load average {os.getloadavg()[0]:.2f})\n"
    )
    print(table(results))
    print()
    print(operations(results))
    for r in results:
        if r["rate_limited_by_method"]:
            print(f"429s by method, {r['replicas']} replica(s): {r['rate_limited_by_method']}")
    print(f"\nreplica logs under {root}")
    return 0 if all(r["lost_or_wrong"] == 0 for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
