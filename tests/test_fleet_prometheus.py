"""`prometheus_url` per cluster in CLUSTERS_FILE: the key's checks."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from agents.fleet import ClusterConfig, Fleet, FleetError, load_fleet
from agents.settings import Settings

PROD, STAGING = "http://prom-prod.monitoring:9090", "https://prom-staging.monitoring/prom"


def fleet_file(tmp_path: Path, **urls: str | None) -> Path:
    """A fleet of IAM-mode clusters (no kubeconfig needed), each with the `prometheus_url` given."""
    lines = [f"default: {next(iter(urls))}", "clusters:"]
    for name, url in urls.items():
        lines.append(f"  {name}:")
        lines.append(f"    eks: {{name: {name}-eks, region: eu-west-1}}")
        if url is not None:
            lines.append(f"    prometheus_url: {url!r}")
    path = tmp_path / "clusters.yaml"
    path.write_text("\n".join(lines) + "\n")
    return path


def fleet(**urls: str | None) -> Fleet[ClusterConfig]:
    clusters: dict[str, Any] = {
        name: {"eks": {"name": f"{name}-eks", "region": "eu-west-1"}, "prometheus_url": url}
        for name, url in urls.items()
    }
    return Fleet[ClusterConfig].model_validate({"default": next(iter(urls)), "clusters": clusters})


def settings(**values: Any) -> Settings:
    return Settings(_env_file=None, model_provider="ollama", mcp_servers="prometheus", **values)  # type: ignore[call-arg]


# --- the key -------------------------------------------------------------------------------------------


def test_a_cluster_may_name_its_prometheus_and_one_without_has_none(tmp_path: Path) -> None:
    loaded = load_fleet(fleet_file(tmp_path, prod=PROD, staging=STAGING, dev=None))
    assert {n: c.prometheus_url for n, c in loaded.clusters.items()} == {
        "prod": PROD,
        "staging": STAGING,
        "dev": None,
    }


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        (
            "prom-prod:9090",
            "expected the http(s) base URL of Prometheus, e.g. http://prometheus.monitoring:9090",
        ),
        ("ftp://prom-prod:9090", "expected the http(s) base URL of Prometheus"),
        ("http://", "expected the http(s) base URL of Prometheus"),
        ("http://[::1", "expected the http(s) base URL of Prometheus"),
        ("http://prom:99999", "expected the http(s) base URL of Prometheus"),
        ("http://bob:hunter2@prom-prod:9090", "must not hold credentials: set PROMETHEUS_USERNAME and"),
        ("http://prom-prod:9090/?x=hunter2", "expected a base URL without ?query or #fragment"),
        ("http://prom-prod:9090/#hunter2", "expected a base URL without ?query or #fragment"),
    ],
)
def test_a_bad_prometheus_url_is_one_line_naming_the_cluster_s_key(
    tmp_path: Path, url: str, expected: str
) -> None:
    path = fleet_file(tmp_path, staging=None, prod=url)
    with pytest.raises(FleetError) as raised:
        load_fleet(path)
    assert str(raised.value).startswith(f"CLUSTERS_FILE: {path}: clusters.prod.prometheus_url: {expected}")
    assert raised.value.key == "clusters.prod.prometheus_url"
    assert "hunter2" not in str(raised.value)  # a credential in the URL is never repeated


@pytest.mark.parametrize("url", ["prom-prod:9090", "http://bob:hunter2@prom:9090", "http://prom:9090/?a=1"])
def test_the_fleet_key_and_prometheus_url_refuse_the_same_urls_in_the_same_words(
    tmp_path: Path, url: str
) -> None:
    """One rule for both: a URL that works in PROMETHEUS_URL works per cluster, and the other way round."""
    with pytest.raises(FleetError) as in_file:
        load_fleet(fleet_file(tmp_path, prod=url))
    [in_settings] = [p for p in settings(prometheus_url=url).problems() if p.variable == "PROMETHEUS_URL"]
    assert in_file.value.key == "clusters.prod.prometheus_url"
    assert str(in_file.value).endswith(f": {in_settings.problem}")


def test_a_prometheus_url_that_is_no_string_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "clusters.yaml"
    path.write_text("clusters:\n  prod:\n    eks: {name: p, region: eu-west-1}\n    prometheus_url: [a]\n")
    with pytest.raises(
        FleetError, match=re.escape("clusters.prod.prometheus_url: Input should be a valid string")
    ):
        load_fleet(path)
