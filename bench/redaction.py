"""How redaction time grows with the size of crafted tool results: it must stay linear.

Each input is built to a target size (16k, 32k, 64k, 128k characters) and timed through
`redact_result_text` (what every MCP tool result goes through in `shape_result`, before the model sees it)
and `redact_text` (token patterns only), best of several runs. Inputs: private-key BEGIN markers without
an END, many `Bearer ` prefixes, many `xoxb-`, runs that start a JWT or a credential key again and again,
wide and deep JSON documents full of secret keys, JSON documents held in strings four levels down, YAML
manifests held in strings, and an ordinary log. Run: `uv run python bench/redaction.py [--repeat 15]`.

Targets (security issue, linear time): 128k/16k ≤ 10× and ≤ 50 ms at 128k for every input.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import sys
import time
from collections.abc import Callable

from agents.redact import redact_result_text, redact_text

SIZES = (16_000, 32_000, 64_000, 128_000)
TARGET_RATIO = 10.0
TARGET_MS = 50.0


def repeat_to(unit: str, size: int) -> str:
    return (unit * (size // len(unit) + 1))[:size]


def pod(i: int) -> dict[str, object]:
    applied = {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": f"db-{i}"},
        "stringData": {"password": "x"},
    }
    return {
        "name": f"web-{i}",
        "namespace": "prod",
        "annotations": {"kubectl.kubernetes.io/last-applied-configuration": json.dumps(applied)},
        "spec": {
            "containers": [
                {
                    "name": "app",
                    "args": ["--token", "abc", f"--password=p{i}"],
                    "env": [{"name": "DB_PASSWORD", "value": f"h{i}"}, {"name": "MODE", "value": "prod"}],
                }
            ],
            "imagePullSecrets": [{"name": "regcred"}],
        },
        "apiKey": f"k{i}",
    }


def wide_json(size: int) -> str:
    items: list[object] = []
    doc = {"kind": "PodList", "items": items}
    while len(json.dumps(doc)) < size:
        items.append(pod(len(items)))
    return json.dumps(doc)


def deep_json(size: int) -> str:
    """Branches 60 levels deep (each level a secret key and a plain one) until the size is reached."""
    branches: list[object] = []
    while len(json.dumps(branches)) < size:
        node: dict[str, object] = {"leaf": "x"}
        for level in range(60):
            node = {"password": f"s{level}", "note": "n", "child": node}
        branches.append(node)
    return json.dumps({"kind": "List", "items": branches})


def nested_strings(size: int) -> str:
    """JSON documents held in strings, four levels down, each holding a secret (last-applied style)."""
    items: list[object] = []
    doc = {"kind": "Secret", "items": items}
    while len(json.dumps(doc)) < size:
        inner: object = {"kind": "Secret", "stringData": {"password": "x"}}
        for _ in range(4):
            inner = {"metadata": {"annotations": {"last-applied": json.dumps(inner)}}, "token": "t"}
        items.append(inner)
    return json.dumps(doc)


def yaml_in_strings(size: int) -> str:
    manifest = "apiVersion: v1\nkind: Secret\nmetadata:\n  name: db\nstringData:\n  password: hunter2\n"
    items: list[object] = []
    doc = {"kind": "ConfigMapList", "items": items}
    while len(json.dumps(doc)) < size:
        items.append({"data": {f"manifest-{len(items)}.yaml": manifest}})
    return json.dumps(doc)


def log_text(size: int) -> str:
    lines = [
        '2026-12-02T10:00:{s:02d}Z INFO  request id=abc-{i} path=/api/v1/orders status=200 took={i}ms user="bob"',
        "2026-12-02T10:00:{s:02d}Z WARN  retrying connection to db:5432 (attempt {i}) after timeout",
        "2026-12-02T10:00:{s:02d}Z ERROR failed to parse payload: unexpected token at line {i}, column 7",
    ]
    out: list[str] = []
    total = 0
    i = 0
    while total < size:
        line = lines[i % 3].format(s=i % 60, i=i)
        out.append(line)
        total += len(line) + 1
        i += 1
    return "\n".join(out)[:size]


INPUTS: dict[str, Callable[[int], str]] = {
    "PEM BEGIN, no END": lambda n: repeat_to("-----BEGIN RSA PRIVATE KEY-----\n", n),
    "PEM BEGIN + quote": lambda n: repeat_to('"-----BEGIN PRIVATE KEY-----\\nMIIE", ', n),
    "Bearer prefixes": lambda n: repeat_to("Bearer ", n),
    "xoxb- prefixes": lambda n: repeat_to("xoxb-", n),
    "eyJ runs": lambda n: repeat_to("eyJ", n),
    "password= runs": lambda n: repeat_to("password=", n),
    "wide JSON (pods)": wide_json,
    "deep JSON (60 levels)": deep_json,
    "JSON in strings x4": nested_strings,
    "YAML in strings": yaml_in_strings,
    "ordinary log": log_text,
}


def best_ms(fn: Callable[[str], str], texts: list[str], repeat: int) -> list[float]:
    """Best time per text, the sizes interleaved run by run so that load from elsewhere on the machine
    hits every size alike; a collection before each run so no size pays for another's garbage."""
    best = [float("inf")] * len(texts)
    for _ in range(repeat):
        for i, text in enumerate(texts):
            gc.collect()
            start = time.perf_counter()
            fn(text)
            best[i] = min(best[i], time.perf_counter() - start)
    return [b * 1000 for b in best]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=15)
    args = parser.parse_args()
    header = "".join(f"{n // 1000:>8}k" for n in SIZES)
    print(f"{'input':<24}{'function':<20}{header}{'128k/16k':>10}")
    worst_ratio = worst_ms = 0.0
    for name, build in INPUTS.items():
        texts = [build(n) for n in SIZES]
        for label, fn in (("redact_result_text", redact_result_text), ("redact_text", redact_text)):
            times = best_ms(fn, texts, args.repeat)
            ratio = times[-1] / max(times[0], 1e-3)
            worst_ratio, worst_ms = max(worst_ratio, ratio), max(worst_ms, times[-1])
            cells = "".join(f"{t:>8.2f}ms" for t in times)
            print(f"{name:<24}{label:<20}{cells}{ratio:>9.1f}x")
    ok = worst_ratio <= TARGET_RATIO and worst_ms <= TARGET_MS
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    print(
        f"\nload average {load} on {os.cpu_count()} cores (other work inflates small timings and their ratios)"
    )
    print(
        f"worst 128k/16k ratio {worst_ratio:.1f}x (target ≤ {TARGET_RATIO:.0f}x); "
        f"slowest 128k {worst_ms:.1f} ms (target ≤ {TARGET_MS:.0f} ms): {'met' if ok else 'NOT met'}"
    )
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
