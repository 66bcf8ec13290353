from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

from aftermath.case import Case
from aftermath.notify.discover import scope
from aftermath.notify.discover.record import open_snapshot
from aftermath.notify.people import read_people
from tests.integration.notify.scope_cli import run


def restic_snapshot(tmp_path: Path, folder: Path) -> tuple[Path, Path, str]:
    repo, pw = tmp_path / "repo", tmp_path / "pw"
    pw.write_text("correct horse\n")
    env = {**os.environ, "RESTIC_REPOSITORY": str(repo), "RESTIC_PASSWORD_FILE": str(pw)}
    subprocess.run(["restic", "init"], env=env, check=True, capture_output=True)
    subprocess.run(["restic", "backup", str(folder)], env=env, check=True, capture_output=True)
    out = subprocess.run(["restic", "snapshots", "--json"], env=env, check=True, capture_output=True, text=True)
    return repo, pw, json.loads(out.stdout)[0]["short_id"]


def test_snapshot_sources_through_the_native_reader(tmp_path: Path, breach: Path):
    repo, pw, snap = restic_snapshot(tmp_path, breach)
    files = open_snapshot(str(repo), b"correct horse", snap)
    r = scope([str(breach)], files, snapshot=snap)
    local = scope([str(breach)], workers=1)
    assert [(p.id, p.elements, p.region) for p in r.people] == [(p.id, p.elements, p.region) for p in local.people]
    assert len(r.people) == 4
    # the SQLite file was copied to a private temporary file and removed afterwards
    assert not list(Path("/tmp").glob("aftermath-scope-*"))
    res = run("--snapshot", snap, "--repo", str(repo), "--password-file", str(pw), "-s", f"{breach}/crm.db",
              "--out", str(tmp_path / "p.csv"))
    assert res.returncode == 0, res.stderr
    assert [p.id for p in read_people(tmp_path / "p.csv")] == ["1"]


def test_cli_writes_people_report_and_journal_in_a_case(tmp_path: Path, breach: Path):
    case = Case.init(tmp_path / "case")
    out, report = tmp_path / "people.csv", tmp_path / "scope.html"
    res = run("-s", str(breach), "--out", str(out), "--report", str(report), "--findings",
              str(tmp_path / "f.csv"), cwd=case.root)
    assert res.returncode == 1, res.stderr  # README.txt was skipped: said, and exit 1
    assert "4 affected people" in res.stdout
    people = read_people(out)
    assert {p.id for p in people} == {"1", "2", "3", "dee@example.com"}
    html = report.read_text()
    assert "ZIP 97201 is in OR, the address says CA" in html and "README.txt" in html
    for secret in ("123-45-6789", "078-05-1121", "4111 1111 1111 1111", "Tr0ub4dor", "XK12345678", "asthma"):
        assert secret not in html and secret not in out.read_text() and secret not in (tmp_path / "f.csv").read_text()
    entries = case.entries("notify.scope")
    assert len(entries) == 1 and entries[0].data["people"] == 4
    import hashlib
    assert entries[0].data["sha256"]["people"] == hashlib.sha256(out.read_bytes()).hexdigest()
    assert {e.kind for e in case.evidence_items()} >= {"notify-people", "notify-scope-report", "notify-findings"}


def test_bad_input_gives_one_line_and_writes_nothing(tmp_path: Path, postgres):
    out = tmp_path / "people.csv"
    bad_csv = tmp_path / "bad.csv"
    bad_csv.write_text('a,b\n"1,2\n')
    bad_xlsx = tmp_path / "bad.xlsx"
    bad_xlsx.write_bytes(b"not a zip")
    cases = [
        ([str(tmp_path / "missing.csv")], 2, "does not exist"),
        ([f"sqlite:///{tmp_path}/missing.db"], 2, "does not exist"),
        ([f"postgresql://nobody@127.0.0.1:{postgres.port + 1}/x"], 7, "cannot read database"),
        ([str(bad_csv)], 2, "not valid CSV"),
        ([str(bad_xlsx)], 2, "not a readable XLSX"),
    ]
    for sources, code, text in cases:
        args = [a for s in sources for a in ("-s", s)]
        res = run(*args, "--out", str(out), cwd=tmp_path)
        assert res.returncode == code, (sources, res.stderr)
        lines = res.stderr.strip().splitlines()
        assert len(lines) == 1 and text in lines[0], res.stderr
        assert not out.exists() and not list(tmp_path.glob(".*.tmp"))
    assert not (tmp_path / "missing.db").exists()


def test_cli_warns_loudly_when_residence_is_unknown_and_values_are_damaged(tmp_path: Path):
    rows = ["email,ssn,TelephoneCountryCode,CCNumber"]
    rows += [f"p{i}@x.com,123-45-{6780 + i},{1 if i % 2 else 357},5.54563E+15" for i in range(6)]
    src = tmp_path / "export.csv"
    src.write_text("\n".join(rows) + "\n")
    res = run("-s", str(src), "--out", str(tmp_path / "p.csv"), "--report", str(tmp_path / "r.html"))
    assert res.returncode == 0, res.stderr
    err = " ".join(res.stderr.split())
    assert "WARNING: residence unknown. 6 of 6 people (100%) have no country or US state" in err
    assert "none named like an address, state, ZIP or country" in err  # the dialling code was not taken
    assert "6 values damaged by a spreadsheet" in err
    assert 'id="residence-warning"' in (tmp_path / "r.html").read_text()
    assert {p.country for p in read_people(tmp_path / "p.csv")} == {"ZZ"}
