"""Review a real restic repository: clean, then a planted web shell, then ransomware."""

from __future__ import annotations

import hashlib
import json
import os
import random
import subprocess
import threading
import time
from pathlib import Path

import pytest

from aftermath.restic import Repository
from aftermath.review import run_review, walk
from aftermath.review.pool import Workers
from aftermath.review.report import to_html
from aftermath.review.scanners import default_scanners
from tests.integration.review.conftest import StoryRepo


class Counting:
    """Notes every content it is given in a file (content-only, like YARA); works from worker processes."""

    name = "counting"
    content_only = True

    def __init__(self, log: Path) -> None:
        self.log = log

    def scan(self, path: str, data: bytes) -> list:  # type: ignore[type-arg]
        self.note(f"{os.getpid()} {hashlib.sha256(data).hexdigest()}")
        return []

    def note(self, line: str) -> None:
        """Append one line to the log (one write: lines from several processes do not mix)."""
        fd = os.open(self.log, os.O_WRONLY | os.O_APPEND | os.O_CREAT)
        try:
            os.write(fd, f"{line}\n".encode())
        finally:
            os.close(fd)

    def seen(self) -> list[tuple[str, str]]:
        return [tuple(line.split()) for line in self.log.read_text().splitlines()]  # type: ignore[misc]


def open_repo(story: StoryRepo) -> Repository:
    return Repository.open(story.path, story.password_file.read_bytes())


def test_verdicts_first_seen_and_last_clean(story: StoryRepo) -> None:
    result = run_review(open_repo(story), default_scanners())
    doc = result.to_json()
    assert [s["id"] for s in doc["snapshots"]] == story.snapshots
    assert [s["verdict"] for s in doc["snapshots"]] == ["clean", "clean", "infected", "encrypted"]
    assert doc["last_clean"] == story.snapshots[1]
    shell = [f for f in doc["findings"] if f["rule"] == "webshells:php_exec_on_request_input"]
    assert len(shell) == 1 and shell[0]["path"].endswith("/www/uploads/avatar.php")
    assert (shell[0]["first_seen"], shell[0]["last_seen"], shell[0]["snapshots"]) == (
        story.snapshots[2], story.snapshots[3], story.snapshots[2:])
    assert shell[0]["sha256"] == hashlib.sha256((story.source / "www/uploads/avatar.php").read_bytes()).hexdigest()
    locked = {f["path"].rsplit("/", 1)[-1] for f in doc["findings"] if f["rule"] == "ransomware-extension"}
    assert len(locked) == 73 and "letter-03.docx.locked" in locked
    assert any(f["rule"] == "ransom-note" and f["first_seen"] == story.snapshots[3] for f in doc["findings"])
    assert any(f["rule"] == "churn-burst" and f["path"].endswith("/share/documents") for f in doc["findings"])
    assert result.exit_code == 1


@pytest.mark.parametrize("workers", [1, 2])
def test_each_distinct_content_is_read_and_scanned_once(story: StoryRepo, tmp_path: Path, workers: int) -> None:
    counter = Counting(tmp_path / "scanned.log")
    result = run_review(open_repo(story), [*default_scanners(), counter], workers=workers)
    assert [s.files for s in result.snapshots] == story.file_counts
    assert result.stats.files_total == sum(story.file_counts)
    assert result.stats.distinct_contents == len(story.contents) < result.stats.files_total
    seen = counter.seen()
    assert len(seen) == len({sha for _, sha in seen}) == result.stats.distinct_contents
    pids = {pid for pid, _ in seen}  # one worker: scanned here; two: in forked worker processes
    assert pids == {str(os.getpid())} if workers == 1 else str(os.getpid()) not in pids, threading.enumerate()
    assert result.stats.bytes_scanned > 0 and result.stats.seconds >= 0


def test_one_process_and_worker_processes_agree(story: StoryRepo) -> None:
    def doc(workers: int) -> dict:  # type: ignore[type-arg]
        out = run_review(open_repo(story), default_scanners(), workers=workers).to_json()
        out["stats"].pop("seconds")
        return out
    assert doc(1) == doc(2)


def test_batches_sent_while_the_walk_goes_on_give_the_same_review(story: StoryRepo, tmp_path: Path,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    """Batches sent after every folder (1-byte batches), as the walk fills them, or once the whole walk is
    done: the same review; and every content is still scanned once by a content-only scanner."""
    def doc(workers: int, extra: list[Counting]) -> dict:  # type: ignore[type-arg]
        out = run_review(open_repo(story), [*default_scanners(), *extra], workers=workers).to_json()
        out["stats"].pop("seconds")
        return out

    repo = open_repo(story)
    scanners = default_scanners()
    run = walk.Review(repo, scanners)
    snapshots = repo.snapshots()
    run.collect(snapshots)  # the walk first, then the contents
    with Workers(repo, scanners, 1) as pool:
        run.scan_contents(pool)
    before = walk._result(run, snapshots, str(story.path), 0.0).to_json()
    before["stats"].pop("seconds")
    assert doc(1, []) == before
    monkeypatch.setattr(walk, "BATCH_BYTES", 1)
    for workers in (1, 2):
        assert doc(workers, []) == before
    counter = Counting(tmp_path / "scanned.log")
    doc(2, [counter])
    seen = counter.seen()
    assert len(seen) == len({sha for _, sha in seen}) == before["stats"]["distinct_contents"]


class Slow(Counting):
    """Takes 20 ms per content (the workers stay busy) and notes when each was scanned."""

    name = "slow"

    def scan(self, path: str, data: bytes) -> list:  # type: ignore[type-arg]
        time.sleep(0.02)
        self.note(str(time.monotonic()))
        return []


def test_the_walk_and_the_churn_go_on_while_the_workers_are_busy(story: StoryRepo, tmp_path: Path,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    """The parent makes batches ahead of busy workers instead of waiting for them, so its own work (the
    walk, then the churn between snapshots) is done long before they finish, not after their last batch."""
    monkeypatch.setattr(walk, "BATCH_BYTES", 1)  # a batch per content: many more batches than workers
    churned: list[float] = []
    churn = walk.Review.churn_findings

    def timed(self: walk.Review, snapshots: list) -> dict:  # type: ignore[type-arg]
        churned.append(time.monotonic())
        return churn(self, snapshots)

    monkeypatch.setattr(walk.Review, "churn_findings", timed)
    slow = Slow(tmp_path / "times.log")
    result = run_review(open_repo(story), [*default_scanners(), slow], workers=2)
    times = sorted(float(line) for line in slow.log.read_text().split())
    assert len(times) == result.stats.distinct_contents >= 20
    assert len(churned) == 1
    assert churned[0] < times[len(times) // 2]  # waiting for the workers, it came after all but the last 4


def test_large_files_are_scanned_in_windows_across_their_blobs(story: StoryRepo) -> None:
    """With a tiny window every multi-kilobyte file is streamed: findings and verdicts stay the same."""
    whole = run_review(open_repo(story), default_scanners()).to_json()
    windowed = run_review(open_repo(story), default_scanners(), window=256).to_json()
    assert [s["verdict"] for s in windowed["snapshots"]] == [s["verdict"] for s in whole["snapshots"]]
    assert {(f["rule"], f["path"], f["sha256"]) for f in windowed["findings"]} == {
        (f["rule"], f["path"], f["sha256"]) for f in whole["findings"]}
    assert windowed["stats"]["windowed"] > 0 and whole["stats"]["windowed"] == 0
    assert not windowed["partial"] and not whole["partial"]


def test_since_limits_the_snapshots(story: StoryRepo) -> None:
    repo = open_repo(story)
    third = repo.snapshots()[2]
    result = run_review(repo, default_scanners(), since=third.time)
    assert [s.id for s in result.snapshots] == story.snapshots[2:]
    assert result.last_clean is None  # the first reviewed snapshot is already infected


def test_html_report_has_the_timeline(story: StoryRepo) -> None:
    html = to_html(run_review(open_repo(story), default_scanners()))
    assert 'id="timeline"' in html
    for sid, verdict in zip(story.snapshots, ["clean", "clean", "infected", "encrypted"], strict=True):
        assert sid[:8] in html
        assert f'class="snap {verdict}' in html
    assert "avatar.php" in html


def test_unreadable_blob_is_reported_and_the_rest_goes_on(story: StoryRepo, tmp_path: Path) -> None:
    import shutil
    copy = tmp_path / "repo"
    shutil.copytree(story.path, copy)
    repo = Repository.open(copy, story.password_file.read_bytes())
    note = next(p for p in story.source.rglob("HOW_TO_DECRYPT.txt"))
    import hashlib
    blob = hashlib.sha256(note.read_bytes()).hexdigest()
    loc = repo.locate(blob)
    assert loc is not None
    pack = repo.pack_path(loc.pack_id)
    raw = bytearray(pack.read_bytes())
    raw[loc.offset + 20] ^= 0xFF  # flip a byte inside the note's encrypted blob
    os.chmod(pack, 0o644)
    pack.write_bytes(bytes(raw))
    result = Repository.open(copy, story.password_file.read_bytes())
    reviewed = run_review(result, default_scanners())
    doc = reviewed.to_json()
    assert [e["blob"] for e in doc["errors"]] == [blob]
    assert doc["errors"][0]["snapshots"] == [story.snapshots[3]] and doc["errors"][0]["path"].endswith("DECRYPT.txt")
    assert doc["snapshots"][3]["unreadable"] == 1
    assert not any(f["rule"] == "ransom-note" for f in doc["findings"])  # never scanned, never trusted
    assert doc["snapshots"][3]["verdict"] == "encrypted"  # the other files still tell the story
    assert json.dumps(doc)
    assert reviewed.exit_code == 1


def test_wrong_password_is_a_password_error(story: StoryRepo) -> None:
    from aftermath.errors import PasswordError
    with pytest.raises(PasswordError):
        Repository.open(story.path, b"wrong")


def test_a_pattern_deep_in_a_multi_blob_file_is_found_through_windows(tmp_path: Path) -> None:
    """A 6 MiB file of several restic blobs, the web shell 5 MiB in: found with 1 MiB windows, hash exact."""
    from tests.integration.review.conftest import PASSWORD, WEB_SHELL, restic

    src, repo = tmp_path / "src", tmp_path / "repo"
    (src / "www").mkdir(parents=True)
    rng = random.Random(7)
    body = bytearray(rng.randbytes(6 << 20))
    body[5 << 20:(5 << 20) + len(WEB_SHELL)] = WEB_SHELL
    (src / "www" / "backup.bin").write_bytes(bytes(body))
    (tmp_path / "pw").write_text(PASSWORD)
    env = {"RESTIC_REPOSITORY": str(repo), "RESTIC_PASSWORD_FILE": str(tmp_path / "pw")}
    restic(env, "init")
    subprocess.run(["restic", "--no-cache", "backup", "."], cwd=src, env={**os.environ, **env}, check=True,
                   capture_output=True)
    repository = Repository.open(repo, PASSWORD)
    [node] = [n for _, n in repository.walk(repository.snapshots()[0].tree) if n.is_file]
    assert len(node.content) > 1  # the point: the file spans blobs
    for workers in (1, 2):
        doc = run_review(repository, default_scanners(), workers=workers, window=1 << 20).to_json()
        [shell] = [f for f in doc["findings"] if f["kind"] == "yara"]
        assert shell["path"] == "/www/backup.bin" and shell["sha256"] == hashlib.sha256(body).hexdigest()
        assert doc["snapshots"][0]["verdict"] == "infected" and doc["stats"]["windowed"] == 1


@pytest.mark.parametrize("batch_bytes", [walk.BATCH_BYTES, 1])
def test_a_content_seen_later_under_a_name_that_needs_another_scan_gets_it(tmp_path: Path, batch_bytes: int,
                                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    """One content, two places: a PHP file outside any data folder, then the same bytes inside uploads/.
    The second place needs its own placement scan; only the snapshot holding it is suspicious. With 1-byte
    batches the content's job is sent before the walk meets the second place: it gets a second job."""
    monkeypatch.setattr(walk, "BATCH_BYTES", batch_bytes)
    from tests.integration.review.conftest import PASSWORD, restic

    src, repo = tmp_path / "src", tmp_path / "repo"
    (src / "www" / "uploads").mkdir(parents=True)
    page = b"<?php echo 'opening hours'; ?>\n"
    (src / "www" / "hours.php").write_bytes(page)
    (tmp_path / "pw").write_text(PASSWORD)
    env = {"RESTIC_REPOSITORY": str(repo), "RESTIC_PASSWORD_FILE": str(tmp_path / "pw")}
    restic(env, "init")
    backup = ["restic", "--no-cache", "backup", "--host", "web", "."]
    subprocess.run(backup, cwd=src, env={**os.environ, **env}, check=True, capture_output=True)
    (src / "www" / "uploads" / "hours.php").write_bytes(page)
    subprocess.run(backup, cwd=src, env={**os.environ, **env}, check=True, capture_output=True)
    for workers in (1, 2):
        doc = run_review(Repository.open(repo, PASSWORD), default_scanners(), workers=workers).to_json()
        assert [s["verdict"] for s in doc["snapshots"]] == ["clean", "suspicious"]
        [found] = doc["findings"]
        assert (found["rule"], found["path"]) == ("program-in-data-folder", "/www/uploads/hours.php")
        assert found["sha256"] == hashlib.sha256(page).hexdigest()
        assert doc["stats"]["distinct_contents"] == 1 and doc["stats"]["scans"] == 4  # 3 scanners + 1 again


def test_a_worker_that_dies_is_one_clear_error_not_a_hang(story: StoryRepo) -> None:
    """A worker killed mid-scan (out of memory, a crash in a scanner) stops the review with a ToolError."""
    from aftermath.errors import ToolError

    test_process = os.getpid()

    class Dies:
        name = "dies"
        content_only = True

        def scan(self, path: str, data: bytes) -> list:  # type: ignore[type-arg]
            if os.getpid() == test_process:  # never kill the test run itself
                raise RuntimeError("the review scanned in the test process: an earlier test left a thread behind")
            os._exit(9)  # what the OOM killer leaves behind: the process is simply gone

    with pytest.raises(ToolError, match="worker process died.*--workers 1"):
        run_review(open_repo(story), [*default_scanners(), Dies()], workers=2)


def test_when_workers_cannot_be_forked_the_review_runs_in_one_process(story: StoryRepo, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """Out of memory or process slots at fork time: the same review, in this process."""
    import errno
    import multiprocessing.popen_fork

    from aftermath.review.pool import Workers

    def no_fork(self, process_obj):  # type: ignore[no-untyped-def]
        raise OSError(errno.EAGAIN, "Resource temporarily unavailable")

    expected = run_review(open_repo(story), default_scanners(), workers=1).to_json()
    monkeypatch.setattr(multiprocessing.popen_fork.Popen, "_launch", no_fork)
    repo = open_repo(story)
    with Workers(repo, default_scanners(), 2) as pool:
        assert pool.processes == 0
    got = run_review(repo, default_scanners(), workers=2).to_json()
    assert [s["verdict"] for s in got["snapshots"]] == [s["verdict"] for s in expected["snapshots"]]
    assert got["findings"] == expected["findings"]


def test_placement_knows_history_an_application_folder_from_the_start_is_not_flagged(tmp_path: Path) -> None:
    """An application ships a PHP file in a folder named 'images' (snapshot 1); a PHP file appears in
    uploads/ later (snapshot 2) and the application's file changes (snapshot 3): only the later ones count."""
    from tests.integration.review.conftest import PASSWORD, restic

    src, repo = tmp_path / "src", tmp_path / "repo"
    (src / "www" / "images").mkdir(parents=True)
    (src / "www" / "uploads").mkdir()
    (src / "www" / "images" / "index.php").write_bytes(b"<?php // silence is golden\n")
    (tmp_path / "pw").write_text(PASSWORD)
    env = {"RESTIC_REPOSITORY": str(repo), "RESTIC_PASSWORD_FILE": str(tmp_path / "pw")}
    restic(env, "init")
    backup = ["restic", "--no-cache", "backup", "--host", "web", "."]
    subprocess.run(backup, cwd=src, env={**os.environ, **env}, check=True, capture_output=True)
    (src / "www" / "uploads" / "thumb.php").write_bytes(b"<?php echo 'resize'; ?>\n")
    subprocess.run(backup, cwd=src, env={**os.environ, **env}, check=True, capture_output=True)
    (src / "www" / "images" / "index.php").write_bytes(b"<?php echo 'changed'; ?>\n")
    subprocess.run(backup, cwd=src, env={**os.environ, **env}, check=True, capture_output=True)
    doc = run_review(Repository.open(repo, PASSWORD), default_scanners(), workers=1).to_json()
    assert [s["verdict"] for s in doc["snapshots"]] == ["clean", "suspicious", "suspicious"]
    first = {s["id"]: i for i, s in enumerate(doc["snapshots"])}
    assert sorted((f["path"], first[f["first_seen"]]) for f in doc["findings"]) == [
        ("/www/images/index.php", 2), ("/www/uploads/thumb.php", 1)]
