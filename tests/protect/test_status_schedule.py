from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from aftermath.case.config import Retention, Source
from aftermath.errors import UsageError
from aftermath.protect import schedule
from aftermath.protect.records import DrillRecord, SnapshotRecord, latest_per_source
from aftermath.protect.retention import keep_args
from aftermath.protect.status import compute

NOW = datetime(2024, 6, 10, 12, tzinfo=UTC)
SOURCES = [Source(name="share", kind="path", path="/srv"), Source(name="db", kind="sqlite", path="/x.db")]


def _snap(seq: int, source: str, hours_ago: float) -> SnapshotRecord:
    return SnapshotRecord(seq, source, "path", f"{seq:08x}" * 8, NOW - timedelta(hours=hours_ago), seq, "h")


def test_status_marks_overdue_and_missing_sources():
    snaps = [_snap(1, "share", 50), _snap(2, "share", 3), _snap(3, "db", 30)]
    drills = [DrillRecord(4, NOW - timedelta(days=2), "share", "x", True, [])]
    share, db = compute(SOURCES, snaps, drills, NOW, 24, 7)
    assert share.snapshot_id == snaps[1].snapshot_id and not share.overdue and share.age_hours == pytest.approx(3)
    assert share.drill_ok is True and not share.drill_overdue
    assert db.overdue and db.drill_ok is None and db.drill_overdue
    (only,) = compute(SOURCES[:1], [], [], NOW, 24, 7)
    assert only.overdue and only.snapshot_id is None


def test_grace_keeps_slightly_late_runs_on_time():
    (s,) = compute(SOURCES[:1], [_snap(1, "share", 25)], [], NOW, 24, 7)
    assert not s.overdue
    (s,) = compute(SOURCES[:1], [_snap(1, "share", 27)], [], NOW, 24, 7)
    assert s.overdue


def test_latest_is_by_snapshot_time_not_journal_order():
    older_but_later_in_journal = _snap(9, "share", 100)
    assert latest_per_source([_snap(1, "share", 5), older_but_later_in_journal])["share"].seq == 1


def test_keep_args_follow_the_policy():
    assert keep_args(Retention(daily=7, weekly=4, monthly=12)) == [
        "--keep-daily", "7", "--keep-weekly", "4", "--keep-monthly", "12"]
    assert keep_args(Retention(daily=3, weekly=0, monthly=0)) == ["--keep-daily", "3"]
    assert keep_args(Retention(daily=0, weekly=0, monthly=0)) == ["--keep-last", "1"]


def test_systemd_units_run_at_interval_and_drill_weekly():
    units = schedule.systemd_units(["/usr/bin/aftermath"], Path("/srv/case"), 6, 7)
    assert set(units) == {"aftermath-protect.service", "aftermath-protect.timer",
                          "aftermath-protect-drill.service", "aftermath-protect-drill.timer"}
    assert "OnCalendar=*-*-* 00/6:00:00" in units["aftermath-protect.timer"]
    assert "OnCalendar=Sun *-*-* 03:30:00" in units["aftermath-protect-drill.timer"]
    assert "ExecStart=/usr/bin/aftermath --case /srv/case protect run" in units["aftermath-protect.service"]
    assert "protect drill" in units["aftermath-protect-drill.service"]


def test_cron_lines():
    text = schedule.cron_file(["/usr/bin/aftermath"], Path("/srv/my case"), 24, 7)
    assert "0 2 * * * root /usr/bin/aftermath --case '/srv/my case' protect run" in text
    assert "30 3 * * 0 root /usr/bin/aftermath --case '/srv/my case' protect drill" in text
    assert "0 */4 * * *" in schedule.cron_file(["a"], Path("/c"), 4, 7)
    assert "*/30 * * * *" in schedule.cron_file(["a"], Path("/c"), 0.5, 7)


def test_unschedulable_interval_is_a_usage_error():
    with pytest.raises(UsageError):
        schedule.cron_file(["a"], Path("/c"), 7, 7)
    with pytest.raises(UsageError):
        schedule.systemd_units(["a"], Path("/c"), 7, 7)


def test_a_snapshot_recorded_in_the_future_is_not_on_time():
    (s,) = compute(SOURCES[:1], [_snap(1, "share", -24 * 365)], [], NOW, 24, 7)
    assert s.overdue
    (s,) = compute(SOURCES[:1], [_snap(1, "share", -0.01)], [], NOW, 24, 7)  # clocks differ by seconds
    assert not s.overdue


def test_protect_run_refuses_a_time_in_the_future():
    from aftermath.protect.backup import check_time

    check_time(NOW - timedelta(days=400), NOW)
    check_time(None, NOW)
    with pytest.raises(UsageError, match="in the future"):
        check_time(NOW + timedelta(days=1), NOW)
