"""Where an alert's thread goes and which cluster it is about: the alert's cluster as the fleet or its
server names it; else the channel's cluster; else the default; never a cluster the fleet does not have."""

from __future__ import annotations

from pathlib import Path

from agents.fleet import load_fleet
from slackbot.alerts.model import Alert, Notification
from slackbot.alerts.routing import Route, router
from slackbot.fleet import SlackClusterConfig

FLEET = """
default: staging
clusters:
  prod:
    eks: {name: prod-eks-1, region: us-east-1}
    alert_channel: CPRODALERTS
  staging:
    eks: {name: staging-eks, region: us-east-1}
    channels: [CSTAGING]
"""


def alert(cluster: str) -> Notification:
    return Notification("alertmanager", "d", "g", "firing", (Alert("f", "firing", "X"),), cluster=cluster)


def test_the_alert_s_cluster_picks_its_channel_and_the_investigation_s_cluster(tmp_path: Path) -> None:
    path = tmp_path / "clusters.yaml"
    path.write_text(FLEET)
    route = router(load_fleet(path, None, SlackClusterConfig), "CDEFAULT")
    assert route(alert("prod")) == Route("CPRODALERTS", "prod")
    assert route(alert("PROD")) == Route("CPRODALERTS", "prod")
    assert route(alert("prod-eks-1")) == Route("CPRODALERTS", "prod")  # as CloudWatch names it
    assert route(alert("staging")) == Route("CDEFAULT", "staging")  # no alert_channel of its own
    assert route(alert("elsewhere")) == Route("CDEFAULT", "staging")  # unknown: the default, not a guess
    assert route(alert("")) == Route("CDEFAULT", "staging")


def test_without_a_fleet_every_alert_goes_to_alert_channel_about_the_one_cluster() -> None:
    assert router(None, "CDEFAULT")(alert("prod")) == Route("CDEFAULT", None)
