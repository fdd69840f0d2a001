"""The replica benchmark's scenario runs end to end with tiny numbers: real `sre-bot run` processes on
shared state in moto, every question answered once, the figures it reports all there (never timed here)."""

from __future__ import annotations

from pathlib import Path

from bench.replicas import ROWS, scenario, table


def test_the_replica_benchmark_answers_every_question_once_on_one_and_two_replicas(tmp_path: Path) -> None:
    results = [scenario(4, count, 0.5, tmp_path / f"run-{count}", settle=0.5) for count in (1, 2)]
    for result, count in zip(results, (1, 2), strict=True):
        assert result["replicas"] == count and result["conversations"] == 4
        assert result["answered"] == 4
        assert result["lost_or_wrong"] == 0 and result["duplicates"] == 0
        assert sorted(result["per_replica"]) == ([4] if count == 1 else [2, 2])  # spread over them all
        assert result["dynamodb_per_question"] > 0 and result["s3_per_question"] > 0  # the state is shared
        for _, key, _ in ROWS:
            assert key in result
    printed = table(results)
    assert "2/1" in printed and "state calls / question" in printed
