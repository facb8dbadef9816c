"""Prometheus metrics, scraped over real HTTP."""

from __future__ import annotations

import socket
from collections.abc import Iterator

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from rodrunner.config import AppConfig
from rodrunner.ledger.states import RunState
from rodrunnerd.errors import MetricsError
from rodrunnerd.metrics import Metrics, parse_address


@pytest.fixture
def metrics() -> Iterator[Metrics]:
    """Metrics serving on a free loopback port."""
    served = Metrics("127.0.0.1:0")
    yield served
    served.close()


def _scrape(metrics: Metrics) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    assert metrics.address is not None
    host, port = metrics.address
    response = httpx.get(f"http://{host}:{port}/metrics", timeout=10)
    assert response.status_code == 200
    samples = {}
    for family in text_string_to_metric_families(response.text):
        for sample in family.samples:
            samples[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return samples


def test_scrape_reports_what_the_loop_told(metrics: Metrics) -> None:
    """Every reported event shows in a scrape with its labels and values."""
    metrics.detected("miseq")
    metrics.detected("miseq")
    metrics.submitted("miseq")
    metrics.ingest_finished(
        "miseq", True, {"files": 12, "bytes": 4096, "uploaded_files": 10,
                        "uploaded_bytes": 3000, "seconds": 42.0},
    )  # fmt: skip
    metrics.ingest_finished("novaseq", False, {"error": "boom"})
    metrics.scan_completed(1.5, at=1_700_000_000.0)
    metrics.observer_restarted("miseq")
    metrics.set_run_counts({RunState.INGESTED: 3, RunState.FAILED: 1})
    got = _scrape(metrics)
    t = (("sequencer_type", "miseq"),)
    assert got[("rodrunner_detections_total", t)] == 2
    assert got[("rodrunner_submissions_total", t)] == 1
    assert got[("rodrunner_ingests_total", (("result", "succeeded"), *t))] == 1
    failed = (("result", "failed"), ("sequencer_type", "novaseq"))
    assert got[("rodrunner_ingests_total", failed)] == 1
    assert got[("rodrunner_uploaded_files_total", t)] == 10
    assert got[("rodrunner_uploaded_bytes_total", t)] == 3000
    assert got[("rodrunner_ingest_duration_seconds_count", t)] == 1
    assert got[("rodrunner_ingest_duration_seconds_sum", t)] == 42.0
    assert got[("rodrunner_last_good_scan_timestamp_seconds", ())] == 1_700_000_000.0
    assert got[("rodrunner_scan_duration_seconds", ())] == 1.5
    assert got[("rodrunner_observer_restarts_total", t)] == 1
    assert got[("rodrunner_runs", (("state", "ingested"),))] == 3
    assert got[("rodrunner_runs", (("state", "failed"),))] == 1
    assert got[("rodrunner_runs", (("state", "queued"),))] == 0


def test_run_counts_accept_plain_state_names(metrics: Metrics) -> None:
    """Counts keyed by state strings work as well as by RunState."""
    metrics.set_run_counts({"queued": 2})
    assert _scrape(metrics)[("rodrunner_runs", (("state", "queued"),))] == 2


def test_off_when_unset() -> None:
    """daemon.metrics unset: metrics are collected but nothing listens."""
    config = AppConfig()
    assert config.daemon.metrics is None
    metrics = Metrics.from_config(config)
    assert metrics.address is None
    metrics.detected("miseq")
    assert b'rodrunner_detections_total{sequencer_type="miseq"} 1.0' in metrics.render()
    metrics.close()


def test_port_in_use_is_a_clear_error() -> None:
    """A port already taken gives MetricsError naming the setting and the fix."""
    taken = socket.socket()
    taken.bind(("127.0.0.1", 0))
    taken.listen()
    try:
        port = taken.getsockname()[1]
        with pytest.raises(MetricsError, match=r"daemon\.metrics '127\.0\.0\.1:\d+'.*null"):
            Metrics(f"127.0.0.1:{port}")
    finally:
        taken.close()


@pytest.mark.parametrize("bad", ["9464", "localhost:", ":9464", "host:99999", "host:port"])
def test_bad_address(bad: str) -> None:
    """An address that is not host:port is refused with an example."""
    with pytest.raises(MetricsError, match=r"127\.0\.0\.1:9464"):
        parse_address(bad)


def test_ipv6_address() -> None:
    """[::1]:9464 parses to the bare host and the port."""
    assert parse_address("[::1]:9464") == ("::1", 9464)
