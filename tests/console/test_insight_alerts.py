"""Insight alerts (issue 16): a site's thresholds, set with the real CLI, raise one "insight" intervention on the
lane board when synced sessions breach them; a site without a rule gets none. On SQLite and PostgreSQL."""
from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone

import httpx
import pytest

from console_harness import Attendant, add_site, add_user, cli, console_server
from insight_data import record, summaries
from server_records import batch


@pytest.fixture(scope="module", params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def server(request, tmp_path_factory):
    srv, close = console_server(tmp_path_factory.mktemp(f"insight-alerts-{request.param}"), backend=request.param)
    yield srv
    close()


def sync(server, kiosk_id, headers, rows, first_seq=1):
    reply = httpx.post(f"{server.url}/v1/kiosks/{kiosk_id}/transactions", headers=headers, timeout=60,
                       json=batch(*[record(kiosk_id, seq, s) for seq, s in enumerate(rows, first_seq)]))
    assert reply.status_code == 200 and reply.json()["accepted"] == len(rows), reply.text


def test_a_breached_threshold_raises_one_insight_intervention_per_site(server):
    lane, headers = server.enroll("lane-x1")
    other, other_headers = server.enroll("lane-y1")
    add_site(server, "site-x", lane)
    add_site(server, "site-y", other)
    add_user(server, "max", role="manager", sites=("site-x", "site-y"))
    with pytest.raises(AssertionError, match="min_completion_rate: expected 0 to 100"):
        cli(server, "insight-alert", "site-x", "--min-completion", "120")
    cli(server, "insight-alert", "site-x", "--min-completion", "90", "--max-help", "5", "--min-sessions", "10",
        "--window-hours", "48")
    rows = summaries(seed=3, count=40, first_day=datetime.now(timezone.utc) - timedelta(hours=24), days=1)
    first = rows[:20]  # the alert is raised by the first batch (20 sessions >= --min-sessions 10)
    done = sum(r.outcome == "completed" for r in first)
    assert 100 * done / len(first) < 90  # the synthetic set completes far fewer
    sync(server, lane, headers, rows[:20])
    sync(server, lane, headers, rows[20:], first_seq=21)  # still the same one open alert
    sync(server, other, other_headers, rows)  # no rule for site-y

    max_ = Attendant(server)
    max_.login("max")
    queue = max_.http.get("/console/queue").text
    alerts = re.findall(r'<li class="item k-insight[^"]*"[^>]*data-kiosk="([^"]+)"', queue)
    assert alerts == ["lane-x1"], queue[:2000]
    assert f"site site-x: completion {100 * done / len(first):.1f} % &lt; 90 % (20 sessions, 48 h)" in queue
    assert "Insight alert" in queue and "help calls" in queue  # every breach in the one alert


def test_the_average_of_the_last_ratings_below_the_threshold_raises_an_alert(server):
    lane, headers = server.enroll("lane-z1")
    add_site(server, "site-z", lane)
    add_user(server, "zoe", role="manager", sites=("site-z",))
    cli(server, "insight-alert", "site-z", "--min-rating", "4.5", "--last-n", "10", "--min-sessions", "5")
    rows = summaries(seed=4, count=30, first_day=datetime.now(timezone.utc) - timedelta(hours=24), days=1)
    last = [r.rating for r in sorted(rows, key=lambda r: r.started_at, reverse=True) if r.rating is not None][:10]
    assert len(last) == 10 and sum(last) / 10 < 4.5
    sync(server, lane, headers, rows)
    zoe = Attendant(server)
    zoe.login("zoe")
    queue = zoe.http.get("/console/queue").text
    assert re.findall(r'<li class="item k-insight[^"]*"[^>]*data-kiosk="([^"]+)"', queue) == ["lane-z1"]
    assert f"site site-z: rating {sum(last) / 10:.2f} &lt; 4.5 (last 10 ratings)" in queue
