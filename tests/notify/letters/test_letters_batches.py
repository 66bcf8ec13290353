"""``notify letters`` in bounded batches: several journaled transactions, whole batches after a crash, no repeats."""

from __future__ import annotations

import csv
import hashlib
import tracemalloc
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from aftermath.case import Case
from aftermath.notify.delivery import outbox
from aftermath.notify.delivery.store import NoticeRow
from aftermath.notify.letters.run import letters
from tests.notify.letters.helpers import TODAY, many_people, write_inputs


def run(case: Case, paths: dict[str, Path], batch: int):  # type: ignore[no-untyped-def]
    return letters(paths["plan"], paths["people"], paths["incident"], case.root / "notices", case, None, TODAY,
                   pdf=False, batch=batch)


def stored(case: Case) -> dict[str, str]:
    with Session(case.engine) as s:
        return {r.id: r.sha256 for r in s.execute(select(NoticeRow.id, NoticeRow.sha256))}


def test_notices_are_stored_in_several_journaled_batches_whose_running_hash_covers_them(
        case: Case, tmp_path: Path) -> None:
    paths = write_inputs(tmp_path / "in", people=many_people(25))
    result = run(case, paths, batch=10)
    batches = case.entries("notify.outbox.add")
    drafts = result.drafts
    assert drafts >= 1
    assert [e.data["added"] for e in batches] == [10, 10, 5 + drafts]  # the drafts join the last batch
    (summary,) = case.entries("notify.letters")
    assert summary.data["added"] == 25 + drafts and summary.data["batches"] == 3
    rows = stored(case)
    assert len(rows) == 25 + drafts
    with Session(case.engine) as s:
        in_order = [(r.id, r.sha256) for r in s.execute(select(NoticeRow.id, NoticeRow.sha256).where(
            NoticeRow.audience == "individuals").order_by(NoticeRow.person_id))]
        draft_rows = [(r.id, r.sha256) for r in s.execute(select(NoticeRow.id, NoticeRow.sha256, NoticeRow.reason)
                                                          .where(NoticeRow.audience != "individuals")
                                                          .order_by(NoticeRow.reason))]
    expected = hashlib.sha256("".join(f"{i}:{h}\n" for i, h in in_order + draft_rows).encode()).hexdigest()
    assert summary.data["notices_sha256"] == expected  # people in file order (p00000…), then drafts by file
    assert all(e.data["notices_sha256"] != expected for e in batches)
    assert case.verify().ok


def test_crash_between_batches_keeps_whole_batches_and_a_rerun_stores_the_rest_exactly_once(
        case: Case, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    paths = write_inputs(tmp_path / "in", people=many_people(35))
    real_add, calls = outbox.Filler.add, []

    def failing_add(self: outbox.Filler, rows):  # type: ignore[no-untyped-def]
        calls.append(len(rows))
        if len(calls) == 3:
            raise RuntimeError("the machine stopped")
        return real_add(self, rows)

    monkeypatch.setattr(outbox.Filler, "add", failing_add)
    with pytest.raises(RuntimeError, match="machine stopped"):
        run(case, paths, batch=10)
    first = stored(case)
    assert len(first) == 20  # two whole batches, nothing of the third
    assert case.entries("notify.letters") == []  # the run's summary is journaled only when it completes
    assert case.verify().ok

    monkeypatch.setattr(outbox.Filler, "add", real_add)
    again = run(case, paths, batch=10)
    after = stored(case)
    assert len(after) == 35 + again.drafts
    assert {k: after[k] for k in first} == first  # what was stored is kept as it was
    assert (again.added, again.already_stored) == (15 + again.drafts, 20)
    with Session(case.engine) as s:
        assert s.scalar(select(func.count(func.distinct(NoticeRow.message_id)))) == len(after)
    assert sum(e.data["added"] for e in case.entries("notify.outbox.add")) == len(after)
    assert len(list((case.root / "notices/email").glob("*.eml"))) == 35
    assert outbox.counts(case) == {"pending": 35}
    assert case.verify().ok

    once_more = run(case, paths, batch=7)  # a third run, other batch size: nothing new
    assert (once_more.added, once_more.already_stored) == (0, 35 + again.drafts)
    assert len(stored(case)) == len(after)


def test_peak_memory_of_letters_stays_flat_as_the_notices_grow(tmp_path: Path) -> None:
    """Four times the notices, in batches of 100: the traced peak grows by far less than the rendered bytes."""
    peaks, rendered = {}, {}
    for n in (50, 500, 2000):  # the first run loads what every run shares (law files, templates): not measured
        case = Case.init(tmp_path / f"case-{n}")
        paths = write_inputs(tmp_path / f"in-{n}", people=many_people(n))
        tracemalloc.start()
        try:
            run(case, paths, batch=100)
            peaks[n] = tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()
        with Session(case.engine) as s:
            rendered[n] = s.scalar(select(func.sum(func.length(NoticeRow.body))))
    assert rendered[2000] - rendered[500] > 6_000_000  # holding them all would add more than 6 MB
    assert peaks[2000] < peaks[500] * 1.5, (peaks, rendered)  # measured: about 1.2 (the held file text and ids)


def test_post_letters_are_stored_only_once_their_print_file_is_written(
        case: Case, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from aftermath.notify.letters import render

    monkeypatch.setattr(render, "LETTERS_PER_PRINT_FILE", 3)
    people = [row.removesuffix(",true") + ",false" for row in many_people(8)]  # no consent: post
    paths = write_inputs(tmp_path / "in", people=people)
    out = case.root / "notices"
    real_add = outbox.Filler.add

    def checked_add(self: outbox.Filler, rows):  # type: ignore[no-untyped-def]
        for r in rows:
            if r.channel == "post":  # its print file is on disk before its notice is stored
                greeting = f"Dear Person {int(r.person_id[1:])},"
                files = [p.name for p in (out / "post").glob("print-*.html") if greeting in p.read_text()]
                assert len(files) == 1, (r.person_id, files)
        return real_add(self, rows)

    monkeypatch.setattr(outbox.Filler, "add", checked_add)
    result = run(case, paths, batch=2)
    assert result.methods["post"] == 8 and result.print_files == ["post/print-0001", "post/print-0002",
                                                                  "post/print-0003"]
    rows = list(csv.DictReader((out / "post/mailhouse.csv").open()))
    assert [(r["person_id"], r["file"], r["page"]) for r in rows] == [
        (f"p{i:05d}", f"post/print-{i // 3 + 1:04d}.html", str(i % 3 + 1)) for i in range(8)]
    assert "Person 7" in (out / "post/print-0003.html").read_text()
    assert outbox.counts(case) == {}  # no email notice
    with Session(case.engine) as s:
        assert s.scalar(select(func.count()).where(NoticeRow.channel == "post", NoticeRow.status == "printed")) == 8
