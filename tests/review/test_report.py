from __future__ import annotations

import json
from datetime import UTC, datetime

from aftermath.review.report import to_html, to_json_text
from aftermath.review.result import ReadError, ReviewResult, SnapshotReview, Stats
from aftermath.review.scanner import Finding
from aftermath.review.verdict import timeline

IDS = [c * 64 for c in "abc"]


def result() -> ReviewResult:
    shell = Finding("yara", "webshells:php", "/www/<x>.php", "infected", "a web shell", "yara", "f" * 64)
    per = {IDS[0]: [], IDS[1]: [shell], IDS[2]: [shell]}
    snaps = [SnapshotReview(i, datetime(2024, 3, n + 1, tzinfo=UTC), ["/srv"], "web1",
                            "clean" if not per[i] else "infected", per[i], 10) for n, i in enumerate(IDS)]
    return ReviewResult("/repo", snaps, timeline(IDS, per), IDS[0], Stats(30, 12, 4096, 0.5, 3, 40),
                        [ReadError("/srv/db.sqlite", "d" * 64, "e" * 64, "MAC mismatch", (IDS[2],))])


def test_json_has_the_contract_fields_with_full_ids() -> None:
    doc = json.loads(to_json_text(result()))
    assert {"repository", "snapshots", "findings", "last_clean", "stats"} <= doc.keys()
    assert {"id", "time", "paths", "verdict", "findings"} <= doc["snapshots"][0].keys()
    [f] = doc["findings"]
    assert {k: f[k] for k in ("kind", "rule", "path", "sha256", "first_seen", "last_seen", "snapshots")} == {
        "kind": "yara", "rule": "webshells:php", "path": "/www/<x>.php", "sha256": "f" * 64,
        "first_seen": IDS[1], "last_seen": IDS[2], "snapshots": IDS[1:]}
    assert set(doc["stats"]) >= {"files_total", "distinct_contents", "bytes_scanned", "seconds"}
    assert doc["last_clean"] == IDS[0] and doc["errors"][0]["snapshots"] == [IDS[2]]


def test_html_is_self_contained_with_a_coloured_timeline_and_escaped_paths() -> None:
    html = to_html(result())
    assert 'id="timeline"' in html and html.count('class="snap ') == 3
    assert 'class="snap infected"' in html and "last-clean" in html
    assert "&lt;x&gt;.php" in html and "<x>.php" not in html
    assert "MAC mismatch" in html
    assert "http://" not in html and "https://" not in html and "<script" not in html
    assert to_html(result().to_json()) == html  # renders from a saved JSON too


def test_exit_code_and_summary() -> None:
    r = result()
    assert r.exit_code == 1 and r.counts() == {"encrypted": 0, "infected": 2, "suspicious": 0, "clean": 1}
    assert r.summary()["first_bad"] == IDS[1]
