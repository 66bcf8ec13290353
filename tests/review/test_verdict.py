from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from aftermath.review.scanner import Finding
from aftermath.review.verdict import last_clean, settled, timeline, verdict_of, without_settled

VERDICTS = ["encrypted", "infected", "suspicious", "clean"]
RANK = {v: i for i, v in enumerate(VERDICTS)}


def f(path: str, severity: str = "infected", rule: str = "r") -> Finding:
    return Finding("yara", rule, path, severity, "why", "yara", "ab" * 32)  # type: ignore[arg-type]


@given(st.lists(st.sampled_from(VERDICTS[:3])))
def test_verdict_is_the_most_severe_severity(severities: list[str]) -> None:
    expected = min(severities, key=RANK.__getitem__) if severities else "clean"
    assert verdict_of(severities) == expected


def test_verdict_order_pairwise() -> None:
    assert verdict_of(["suspicious", "encrypted", "infected"]) == "encrypted"
    assert verdict_of(["suspicious", "infected"]) == "infected"
    assert verdict_of(["suspicious"]) == "suspicious"
    assert verdict_of([]) == "clean"


def reference_last_clean(verdicts: list[tuple[str, str]]) -> str | None:
    bad = [i for i, (_, v) in enumerate(verdicts) if v in ("infected", "encrypted")]
    cut = bad[0] if bad else len(verdicts)
    return verdicts[cut - 1][0] if cut > 0 else None


@given(st.lists(st.sampled_from(VERDICTS), max_size=12))
def test_last_clean_matches_the_definition(kinds: list[str]) -> None:
    verdicts = [(f"s{i}", v) for i, v in enumerate(kinds)]
    assert last_clean(verdicts) == reference_last_clean(verdicts)  # type: ignore[arg-type]


def test_last_clean_examples() -> None:
    assert last_clean([]) is None
    assert last_clean([("a", "clean"), ("b", "clean")]) == "b"
    assert last_clean([("a", "infected"), ("b", "clean")]) is None
    assert last_clean([("a", "clean"), ("b", "suspicious"), ("c", "encrypted")]) == "b"
    # a later clean snapshot after a bad one does not count: the intruder may still be inside
    assert last_clean([("a", "clean"), ("b", "infected"), ("c", "clean")]) == "a"


def test_timeline_tracks_first_last_and_every_snapshot() -> None:
    shell, note = f("/www/x.php"), f("/docs/READ.txt", "encrypted", "note")
    occ = timeline(["s1", "s2", "s3", "s4"], {"s2": [shell], "s3": [shell], "s4": [note, shell]})
    assert [(o.finding.path, o.first_seen, o.last_seen, o.snapshots) for o in occ] == [
        ("/www/x.php", "s2", "s4", ("s2", "s3", "s4")),
        ("/docs/READ.txt", "s4", "s4", ("s4",)),
    ]


def test_timeline_keeps_same_content_at_two_paths_apart_and_gaps_visible() -> None:
    a, b = f("/a.php"), f("/b.php")
    occ = timeline(["s1", "s2", "s3"], {"s1": [a, b], "s3": [a]})
    assert {o.finding.path: o.snapshots for o in occ} == {"/a.php": ("s1", "s3"), "/b.php": ("s1",)}


@given(st.lists(st.lists(st.sampled_from(["/a", "/b", "/c"]), max_size=3), min_size=1, max_size=8))
def test_timeline_snapshots_are_exactly_where_the_finding_is(layout: list[list[str]]) -> None:
    order = [f"s{i}" for i in range(len(layout))]
    occ = timeline(order, {s: [f(p) for p in paths] for s, paths in zip(order, layout, strict=True)})
    for o in occ:
        assert list(o.snapshots) == [s for s, paths in zip(order, layout, strict=True) if o.finding.path in paths]
    assert {o.finding.path for o in occ} == {p for paths in layout for p in paths}


def test_last_clean_is_strictly_older_than_a_bad_snapshot_taken_at_the_same_moment():
    from datetime import UTC, datetime

    from aftermath.review import verdict as verdict_mod
    from aftermath.review.result import SnapshotReview
    from aftermath.review.walk import _tie_breaking

    t5, t6 = datetime(2026, 11, 5, 23, tzinfo=UTC), datetime(2026, 11, 6, 23, tzinfo=UTC)
    reviews = [SnapshotReview(i, t, [], "h", v, [], 1)
               for i, t, v in (("db5", t5, "clean"), ("fs5", t5, "clean"), ("db6", t6, "clean"),
                               ("fs6", t6, "infected"))]
    assert verdict_mod.last_clean(_tie_breaking(reviews)) in {"db5", "fs5"}


def test_placement_already_in_the_first_snapshot_is_the_applications_layout() -> None:
    own = Finding("placement", "program-in-data-folder", "/www/images/index.php", "suspicious", "r", "p", "a" * 64)
    changed = own.at(own.path, "b" * 64)
    dropped = own.at("/www/uploads/x.php")
    shell = Finding("yara", "webshells:php", "/www/images/index.php", "infected", "r", "y", "a" * 64)
    baseline = settled([own, shell])
    assert baseline == frozenset({(own.path, own.sha256)})
    assert without_settled([own, shell, changed, dropped], baseline) == [shell, changed, dropped]
    assert without_settled([own], frozenset()) == [own]
