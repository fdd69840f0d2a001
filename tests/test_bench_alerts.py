"""The alert benchmark's storm is what it says: each delivery a group's own state at that moment (not a
list shared with later ones), resends among them, and the last round resolving four groups."""

from __future__ import annotations

import json

from bench.alerts import storm_plan
from slackbot.alerts.alertmanager import parse_webhook


def test_the_storm_plan_sends_each_group_s_state_as_it_was_then() -> None:
    plan = storm_plan(deliveries=500, groups=20, seconds=60)
    assert len(plan) == 500 and len({p.name for p in plan}) == 20
    assert plan[-1].at < 60
    ids = [parse_webhook(json.dumps(p.body).encode()).delivery_id for p in plan]
    assert len(set(ids)) == 404  # 4 of every 5 rounds add an alert to each group; the fifth resends
    sizes = [len(p.body["alerts"]) for p in plan if p.name == "BenchStorm07"]
    assert sizes == sorted(sizes) and sizes[0] == 1 and sizes[-1] == 20
    last = {p.name: p.body for p in plan}
    assert sorted(n for n, body in last.items() if body["status"] == "resolved") == [
        f"BenchStorm{g:02d}" for g in range(4)
    ]
