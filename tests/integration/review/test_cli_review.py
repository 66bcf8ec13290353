"""``aftermath review`` as scripts call it: exit codes, JSON, the case journal, Ctrl-C."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import time
from pathlib import Path

import psutil

from aftermath.case import Case
from tests.conftest import AFTERMATH_WITH_CTRL_C, run_cli
from tests.integration.review.conftest import StoryRepo, restic

SCHEMA_SNAPSHOT = {"id", "time", "paths", "verdict", "findings"}
SCHEMA_FINDING = {"kind", "rule", "path", "sha256", "first_seen", "last_seen", "snapshots"}


def test_cli_writes_json_and_html_and_exits_1_on_findings(story: StoryRepo, tmp_path: Path) -> None:
    out, html = tmp_path / "review.json", tmp_path / "review.html"
    r = run_cli("review", "--repo", str(story.path), "--password-file", str(story.password_file),
                "--json", str(out), "--html", str(html), cwd=tmp_path)
    assert r.code == 1, r.err
    doc = json.loads(out.read_text())
    assert {"repository", "snapshots", "findings", "last_clean", "stats"} <= doc.keys()
    assert all(s.keys() >= SCHEMA_SNAPSHOT for s in doc["snapshots"])
    assert all(f.keys() >= SCHEMA_FINDING for f in doc["findings"])
    assert {"files_total", "distinct_contents", "bytes_scanned", "seconds"} <= doc["stats"].keys()
    assert doc["last_clean"] == story.snapshots[1]
    assert 'id="timeline"' in html.read_text()
    assert "Last clean restore point" in r.out and story.snapshots[1] in r.out
    assert "review-test-password" not in r.out + r.err + out.read_text() + html.read_text()


def test_cli_json_to_stdout_and_password_from_the_environment(story: StoryRepo, tmp_path: Path) -> None:
    r = run_cli("review", "--repo", str(story.path), "--json", "-", cwd=tmp_path,
                env={"AFTERMATH_REPO_PASSWORD_FILE": str(story.password_file)})
    assert r.code == 1, r.err
    assert [s["verdict"] for s in json.loads(r.out)["snapshots"]] == ["clean", "clean", "infected", "encrypted"]


def test_cli_clean_repository_exits_0_and_uses_the_case(tmp_path: Path) -> None:
    case = Case.init(tmp_path / "case")
    env = case.config.repository.restic_env(case.root)
    restic(env, "init")
    data = tmp_path / "data"
    data.mkdir()
    (data / "letter.txt").write_text("Dear customer, your order shipped.\n")
    restic(env, "backup", str(data))
    restic(env, "backup", str(data))
    r = run_cli("--case", str(case.root), "review", cwd=tmp_path)
    assert r.code == 0, r.err + r.out
    [entry] = case.entries("review.run")
    assert entry.data["verdicts"] == {"encrypted": 0, "infected": 0, "suspicious": 0, "clean": 2}
    assert entry.data["last_clean"] and entry.data["stats"]["distinct_contents"] == 1
    [doc] = case.evidence_items("review")
    assert doc.sha256 == entry.data["document"]
    assert json.loads(doc.path.read_text())["last_clean"] == entry.data["last_clean"]


def test_cli_user_rules_and_iocs_are_used(story: StoryRepo, tmp_path: Path) -> None:
    import hashlib
    rules = tmp_path / "rules"
    rules.mkdir()
    (rules / "bakery.yar").write_text('rule bakery { strings: $a = "Acme Bakery" condition: $a }')
    iocs = tmp_path / "iocs.txt"
    note = (story.source / "share/documents/HOW_TO_DECRYPT.txt").read_bytes()
    iocs.write_text(f"# from the CERT\n{hashlib.md5(note).hexdigest()} note\n")
    r = run_cli("review", "--repo", str(story.path), "--password-file", str(story.password_file),
                "--rules", str(rules), "--ioc", str(iocs), "--json", "-", cwd=tmp_path)
    doc = json.loads(r.out)
    rules_seen = {f["rule"] for f in doc["findings"]}
    assert "bakery:bakery" in rules_seen and f"md5:{hashlib.md5(note).hexdigest()}" in rules_seen
    bakery = next(f for f in doc["findings"] if f["rule"] == "bakery:bakery")
    assert bakery["first_seen"] == story.snapshots[0] and len(bakery["snapshots"]) == 4


def test_cli_bad_input_gives_one_line_and_documented_codes(story: StoryRepo, tmp_path: Path) -> None:
    bad_rules = tmp_path / "bad.yar"
    bad_rules.write_text("rule x { condition: $nope }")
    cases = [
        (["--rules", str(bad_rules), "--strict-rules"], 2, "do not compile"),
        (["--ioc", str(tmp_path / "missing.txt")], 2, "cannot read IOC file"),
        (["--since", "yesterday"], 2, "bad date"),
        (["--json", str(tmp_path / "no" / "such" / "dir.json")], 8, "does not exist"),
    ]
    for extra, code, text in cases:
        r = run_cli("review", "--repo", str(story.path), "--password-file", str(story.password_file), *extra,
                    cwd=tmp_path)
        assert (r.code, text in r.err) == (code, True), (extra, r.code, r.err)
        assert len(r.err.strip().splitlines()) == 1
    wrong = tmp_path / "wrong"
    wrong.write_text("nope")
    r = run_cli("review", "--repo", str(story.path), "--password-file", str(wrong), cwd=tmp_path)
    assert r.code == 4, r.err
    r = run_cli("review", "--repo", str(tmp_path / "nothing"), "--password-file", str(wrong), cwd=tmp_path)
    assert r.code == 5, r.err
    r = run_cli("review", cwd=tmp_path, env={"AFTERMATH_CASE": ""})
    assert r.code == 2 and "--repo" in r.err


def threads(pid: int) -> int:
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return 0
    return int(next(line.split()[1] for line in status.splitlines() if line.startswith("Threads:")))


def test_ctrl_c_stops_cleanly_and_writes_nothing(tmp_path: Path) -> None:
    pw = tmp_path / "pw"
    pw.write_text("pw")
    env = {"RESTIC_REPOSITORY": str(tmp_path / "repo"), "RESTIC_PASSWORD_FILE": str(pw)}
    restic(env, "init")
    data = tmp_path / "data"
    data.mkdir()
    rng = random.Random(3)
    for i in range(60):
        (data / f"f{i}.bin").write_bytes(rng.randbytes(1 << 20))
    restic(env, "backup", str(data))
    slow = tmp_path / "slow.yar"  # byte loops: slow enough that the review is still running when we stop it
    slow.write_text("\n".join(f"rule slow{i} {{ condition: for all j in (0..filesize-1) : (uint8(j) != {256 + i}) }}"
                              for i in range(3)))
    out = tmp_path / "out.json"
    src = str(Path(__file__).resolve().parents[3] / "src")
    proc = subprocess.Popen([*AFTERMATH_WITH_CTRL_C, "review", "--repo", str(tmp_path / "repo"),
                             "--password-file", str(pw), "--rules", str(slow), "--json", str(out)],
                            env={**os.environ, "PYTHONPATH": src}, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)
    deadline = time.monotonic() + 120
    while threads(proc.pid) < 3 and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)  # wait until the scan threads run: then the review is under way
    time.sleep(0.3)
    assert proc.poll() is None, "the review finished before it could be interrupted"
    workers = psutil.Process(proc.pid).children()
    assert len(workers) == 2  # the scanning worker processes
    started = time.monotonic()
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    assert "interrupted" in err and "Traceback" not in err
    assert time.monotonic() - started < 10
    assert not [w for w in workers if w.is_running() and w.status() != psutil.STATUS_ZOMBIE]  # none left behind
    assert not out.exists() and not list(tmp_path.glob(".out.json*"))



def test_cli_skips_a_broken_rule_file_with_a_warning_unless_strict(story: StoryRepo, tmp_path: Path) -> None:
    """A user's rule folder mixing a LOKI-style rule (external variables), a plain one and a broken file."""
    rules = tmp_path / "rules"
    rules.mkdir()
    (rules / "loki_style.yar").write_text('rule named_php { condition: extension == ".php" and filesize > 0 }')
    (rules / "broken.yar").write_text("rule broken { condition: $missing }")
    args = ("review", "--repo", str(story.path), "--password-file", str(story.password_file), "--rules", str(rules))
    r = run_cli(*args, "--json", "-", cwd=tmp_path)
    assert r.code == 1, r.err
    assert "broken.yar skipped" in r.err and "$missing" in r.err
    assert any(f["rule"] == "loki_style:named_php" for f in json.loads(r.out)["findings"])
    strict = run_cli(*args, "--strict-rules", cwd=tmp_path)
    assert strict.code == 2 and "broken.yar" in strict.err


def test_cli_summary_names_each_findings_own_first_snapshot(tmp_path: Path) -> None:
    """Two shells matched by the same rule, one in each snapshot: each line says its own first snapshot."""
    from tests.integration.review.conftest import PASSWORD

    src, repo = tmp_path / "src", tmp_path / "repo"
    (src / "www").mkdir(parents=True)
    (src / "www" / "a.php").write_bytes(b"<?php system($_GET['a']); ?>\n")
    (tmp_path / "pw").write_text(PASSWORD)
    env = {"RESTIC_REPOSITORY": str(repo), "RESTIC_PASSWORD_FILE": str(tmp_path / "pw")}
    restic(env, "init")
    backup = ["restic", "--no-cache", "backup", "--host", "web", "."]
    subprocess.run(backup, cwd=src, env={**os.environ, **env}, check=True, capture_output=True)
    (src / "www" / "b.php").write_bytes(b"<?php passthru($_POST['b']); ?>\n")
    subprocess.run(backup, cwd=src, env={**os.environ, **env}, check=True, capture_output=True)
    r = run_cli("review", "--repo", str(repo), "--password-file", str(tmp_path / "pw"), "--json", "-", cwd=tmp_path)
    first, second = (s["id"][:8] for s in json.loads(r.out)["snapshots"])
    r = run_cli("review", "--repo", str(repo), "--password-file", str(tmp_path / "pw"), cwd=tmp_path)
    lines = [line for line in r.out.splitlines() if "php_exec_on_request_input" in line]
    assert len(lines) == 2 and r.code == 1
    assert "/www/a.php" in lines[0] and f"first in {first}" in lines[0]
    assert "/www/b.php" in lines[1] and f"first in {second}" in lines[1]
