"""The timeline against Timesketch's documented import format (docs/guides/user/import-from-json-csv.md):
mandatory ``message``, ``datetime`` (ISO 8601 with offset) and ``timestamp_desc``; CSV with a header row;
optional ``timestamp`` in microseconds; other fields become attributes; keyword fields under 32,766 bytes."""

from __future__ import annotations

import csv
import io
import json
from datetime import datetime
from pathlib import Path

import pytest

from aftermath.case import Case
from aftermath.consult import records, timeline
from aftermath.errors import StateError
from aftermath.secure.collect.run import seal

MANDATORY = ("message", "datetime", "timestamp_desc")


def check_timesketch(rows: list[dict[str, str]]) -> None:
    for row in rows:
        assert all(row.get(k) for k in MANDATORY), row
        moment = datetime.fromisoformat(row["datetime"])
        assert moment.utcoffset() is not None
        assert int(row["timestamp"]) == int(moment.timestamp() * 1_000_000)
        assert all(len(str(v).encode()) < 32_766 for v in row.values())


def test_jsonl_is_timesketch_format_and_ordered(worked: Case):
    out = io.StringIO()
    count = timeline.write_jsonl(timeline.events(worked), out)
    rows = [json.loads(line) for line in out.getvalue().splitlines()]
    assert len(rows) == count
    check_timesketch(rows)
    assert rows[0]["timestamp_desc"] == "Exported" and "1 privileged entries left out" in rows[0]["message"]
    stamps = [r["timestamp"] for r in rows[1:]]
    assert stamps == sorted(stamps)
    actions = [r["action"] for r in rows if r["source"] == "journal"]
    assert actions[:2] == ["case.init", "case.open"] and "evidence.register" in actions


def test_csv_has_header_and_the_same_events(worked: Case):
    out = io.StringIO()
    timeline.write_csv(timeline.events(worked), out)
    reader = csv.DictReader(io.StringIO(out.getvalue()))
    assert set(MANDATORY) <= set(reader.fieldnames or [])
    rows = list(reader)
    check_timesketch(rows)
    assert len(rows) == len(list(timeline.events(worked)))


def test_privileged_entries_are_left_out_unless_asked(worked: Case):
    note = worked.write("note", "counsel: preserve the VPN logs")
    records.mark_privileged(worked, seq=note.seq)
    plain = " ".join(e["message"] for e in timeline.events(worked))
    assert "Florida" not in plain and "VPN" not in plain
    full = " ".join(e["message"] for e in timeline.events(worked, include_privileged=True))
    assert "Florida" in full and "VPN" in full


def test_documents_add_their_own_dated_events(worked: Case):
    review = {"snapshots": [{"id": "s1", "time": "2026-11-10T23:00:00+00:00"},
                            {"id": "s2", "time": "2026-11-12T23:00:00+00:00"}],
              "findings": [{"severity": "infected", "kind": "yara", "rule": "webshell", "path": "/srv/www/up.php",
                            "first_seen": "s1", "last_seen": "s2", "sha256": "ab"}]}
    worked.save_document("review", "review.json", json.dumps(review).encode())
    found = [e for e in timeline.events(worked) if e["source"] == "review"]
    assert [(e["timestamp_desc"], e["datetime"]) for e in found] == [
        ("First seen in backup", "2026-11-10T23:00:00+00:00"), ("Last seen in backup", "2026-11-12T23:00:00+00:00")]


def test_empty_case_has_no_timeline(case: Case):
    with pytest.raises(StateError, match="no events yet"):
        next(timeline.events(case))


def test_process_starts_from_a_collection_archive_are_events(worked: Case, tmp_path: Path):
    folder = tmp_path / "web01"
    (folder / "proc").mkdir(parents=True)
    procs = [{"pid": 1, "comm": "systemd", "exe": "/usr/lib/systemd/systemd", "start_ticks": 10,
              "start_utc": "2026-11-01T06:00:00Z", "exe_sha256": "aa"},
             {"pid": 4242, "comm": "kworkerds", "exe": "/tmp/.x/kworkerds", "start_ticks": 9_000,
              "start_utc": "2026-11-19T03:14:15Z", "cmdline": ["/tmp/.x/kworkerds", "-o", "pool"]},
             {"pid": 77, "comm": "old-agent", "start_ticks": 5}]  # written before start_utc existed: no event
    (folder / "proc/processes.json").write_text(json.dumps(procs))
    archive = seal(folder)
    worked.register_evidence(archive, source="root@web01", kind="collection", copy=False)
    found = [e for e in timeline.events(worked) if e["timestamp_desc"] == "Process started"]
    assert [(e["datetime"], e["message"]) for e in found] == [
        ("2026-11-01T06:00:00+00:00", "process 1 systemd (/usr/lib/systemd/systemd) on root@web01"),
        ("2026-11-19T03:14:15+00:00", "process 4242 kworkerds (/tmp/.x/kworkerds) on root@web01")]
    assert json.loads(found[1]["detail"])["cmdline"] == ["/tmp/.x/kworkerds", "-o", "pool"]
    check_timesketch(found)
