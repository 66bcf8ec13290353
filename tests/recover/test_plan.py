from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from aftermath.recover.plan import (
    Plan,
    PlanError,
    ReviewFacts,
    SnapshotInfo,
    Version,
    plan_last_clean,
    plan_surgical,
)

T0 = datetime(2026, 11, 1, tzinfo=UTC)


def snap(day: int, verdict: str = "clean", group: str = "share") -> SnapshotInfo:
    return SnapshotInfo(f"{group}{day:02d}".ljust(64, "0"), T0 + timedelta(days=day), group, verdict)


def world(days: dict[int, dict[str, str]], verdicts: dict[int, str], flagged: dict[tuple[str, int], str],
          modes: dict[str, int] | None = None):
    """days: day -> {path: content id}. Builds snapshots, listing and review facts."""
    snaps = [snap(d, verdicts.get(d, "clean")) for d in sorted(days)]
    by_day = {d: s for d, s in zip(sorted(days), snaps, strict=True)}
    listing = {by_day[d].id: {p: Version(by_day[d].id, by_day[d].time, p, "file", (c,), len(c),
                                         (modes or {}).get(p, 0o644)) for p, c in files.items()}
               for d, files in days.items()}
    bad = [d for d in sorted(days) if verdicts.get(d, "clean") in ("infected", "encrypted")]
    last_clean = None
    if bad:
        older = [d for d in sorted(days) if d < bad[0]]
        last_clean = by_day[older[-1]].id if older else None
    elif days:
        last_clean = by_day[max(days)].id
    facts = ReviewFacts({s.id: s.verdict for s in snaps},
                        {(p, by_day[d].id): (why,) for (p, d), why in flagged.items()}, last_clean)
    return snaps, listing, facts, by_day


def actions(plan: Plan) -> dict[str, tuple[str, str | None]]:
    return {e.path: (e.action, e.snapshot[:7] if e.snapshot else None) for e in plan.entries}


def test_surgical_keeps_clean_work_after_the_shell_and_drops_the_shell_and_encrypted_files():
    days = {
        1: {"/share/a.docx": "a1", "/www/index.php": "i1", "/db/customers.db": "c1"},
        6: {"/share/a.docx": "a2", "/www/index.php": "i1", "/www/shell.php": "evil", "/db/customers.db": "c6"},
        12: {"/share/a.docx": "a3", "/www/index.php": "i1", "/www/shell.php": "evil", "/db/customers.db": "c12",
             "/share/new-invoice.pdf": "n"},
        13: {"/share/a.docx.locked": "x", "/www/index.php": "i1", "/www/shell.php": "evil",
             "/db/customers.db": "c13", "/share/README-RANSOM.txt": "r"},
    }
    flagged = {("/www/shell.php", d): "webshell rule" for d in (6, 12, 13)}
    flagged |= {("/share/a.docx.locked", 13): "encrypted", ("/share/README-RANSOM.txt", 13): "ransom note"}
    snaps, listing, facts, by_day = world(days, {6: "infected", 12: "infected", 13: "encrypted"}, flagged)
    plan = plan_surgical(snaps, listing, facts, "repo", "now")
    got = actions(plan)
    assert got["/share/a.docx"] == ("restore", "share12")
    assert got["/db/customers.db"] == ("restore", "share12")
    assert got["/www/shell.php"][0] == "hold"
    assert got["/share/new-invoice.pdf"][0] == "decide"
    assert "/share/a.docx.locked" not in got and "/share/README-RANSOM.txt" not in got
    assert plan.first_encrypted == by_day[13].id and plan.first_compromise == by_day[6].id
    assert plan.totals()["restore"]["files"] == 3


def test_surgical_takes_older_clean_version_when_newest_is_flagged():
    days = {1: {"/www/index.php": "i1"}, 5: {"/www/index.php": "i-injected"}}
    snaps, listing, facts, by_day = world(days, {5: "infected"}, {("/www/index.php", 5): "injected eval"})
    entry = plan_surgical(snaps, listing, facts, "r", "now").entries[0]
    assert entry.action == "restore" and entry.snapshot == by_day[1].id and "flagged" in entry.reason


def test_new_script_after_compromise_is_held_back_and_new_data_included_on_request():
    days = {1: {"/a": "1"}, 3: {"/a": "1", "/x"  : "bad"}, 4: {"/a": "1", "/x": "bad", "/tool.sh": "t", "/d.csv": "d"}}
    snaps, listing, facts, _ = world(days, {3: "infected"}, {("/x", 3): "r", ("/x", 4): "r"})
    got = actions(plan_surgical(snaps, listing, facts, "r", "now", include_new=True))
    assert got["/tool.sh"][0] == "hold" and got["/d.csv"][0] == "restore" and got["/x"][0] == "hold"


def test_executable_bit_counts_as_executable():
    days = {1: {"/a": "1"}, 3: {"/a": "1", "/x": "bad"}, 4: {"/a": "1", "/x": "bad", "/run": "elf"}}
    snaps, listing, facts, _ = world(days, {3: "infected"}, {("/x", 3): "r", ("/x", 4): "r"}, {"/run": 0o755})
    assert actions(plan_surgical(snaps, listing, facts, "r", "now", include_new=True))["/run"][0] == "hold"


def test_all_clean_repository_restores_the_newest_snapshot():
    days = {1: {"/a": "1"}, 2: {"/a": "2", "/b": "b"}}
    snaps, listing, facts, by_day = world(days, {}, {})
    got = actions(plan_surgical(snaps, listing, facts, "r", "now"))
    assert got == {"/a": ("restore", "share02"), "/b": ("restore", "share02")}


def test_last_clean_uses_the_review_point_and_refuses_without_one():
    days = {1: {"/a": "1"}, 2: {"/a": "2"}, 3: {"/a": "3"}}
    snaps, listing, facts, by_day = world(days, {3: "encrypted"}, {})
    plan = plan_last_clean(snaps, listing, facts, "r", "now")
    assert actions(plan) == {"/a": ("restore", "share02")}
    snaps, listing, facts, _ = world({1: {"/a": "1"}}, {1: "infected"}, {("/a", 1): "r"})
    with pytest.raises(PlanError, match="no clean restore point"):
        plan_last_clean(snaps, listing, facts, "r", "now")


def test_last_clean_with_pruned_snapshot_is_an_error():
    snaps, listing, facts, _ = world({1: {"/a": "1"}}, {}, {})
    with pytest.raises(PlanError, match="pruned"):
        plan_last_clean(snaps, listing, facts, "r", "now", snapshot="f" * 64)


def test_plan_round_trips_through_json():
    snaps, listing, facts, _ = world({1: {"/a": "1"}, 2: {"/a": "2"}}, {}, {})
    plan = plan_surgical(snaps, listing, facts, "r", "now")
    again = Plan.from_json(plan.to_json())
    assert again.entries == plan.entries and again.to_json() == plan.to_json()
