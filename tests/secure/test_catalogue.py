"""The artifact catalogue: valid, ordered by volatility, profiles, and a bad entry is named."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from aftermath.errors import UsageError
from aftermath.secure.collect import artifacts


def test_the_shipped_catalogue_is_valid_and_in_order_of_volatility() -> None:
    cat = artifacts.load()
    quick = [a.name for a in cat.select("quick")]
    assert quick[0] == "clock"
    assert quick.index("sockets") < quick.index("processes") < quick.index("who") < quick.index("modules") \
        < quick.index("cron") < quick.index("auth_logs")
    assert "shadow" not in quick and "shadow" in [a.name for a in cat.select("full")]
    assert all(a.why and a.volatility for a in cat.artifact)
    assert all(isinstance(a.command, list) for a in cat.artifact if a.kind == "command")


def test_unknown_profile_is_a_usage_error() -> None:
    with pytest.raises(UsageError, match="unknown profile"):
        artifacts.load().select("huge")


@pytest.mark.parametrize(("entry", "message"), [
    ('kind = "command"', "needs its field"),
    ('kind = "walker"\nwalker = "nope"', "unknown walker"),
    ('kind = "files"\npaths = ["/x"]\nshell = "rm -rf /"', "Extra inputs"),
])
def test_a_bad_entry_is_named(tmp_path: Path, entry: str, message: str) -> None:
    text = artifacts.CATALOGUE.read_text() + f'\n[[artifact]]\nname = "bad"\norder = 1\nvolatility = "v"\n' \
        f'profile = "quick"\nwhy = "w"\n{entry}\n'
    path = tmp_path / "a.toml"
    path.write_text(text)
    with pytest.raises(UsageError, match=message):
        artifacts.load(path)


def test_duplicate_names_are_refused(tmp_path: Path) -> None:
    path = tmp_path / "a.toml"
    path.write_text(artifacts.CATALOGUE.read_text() + '\n[[artifact]]\nname = "clock"\norder = 1\nvolatility = "v"\n'
                    'profile = "quick"\nwhy = "w"\nkind = "walker"\nwalker = "clock"\n')
    with pytest.raises(UsageError, match="duplicate names clock"):
        artifacts.load(path)


def test_the_agent_script_is_self_contained_and_runs_with_the_standard_library_only(tmp_path: Path) -> None:
    script = artifacts.agent_script({"mode": "collect", "since": 0, "artifacts": [
        {"name": "clock", "kind": "walker", "walker": "clock"},
        {"name": "nope", "kind": "command", "command": ["no-such-tool-here"]}]})
    assert not re.search(rb"^\s*(from|import) aftermath", script, re.MULTILINE)
    (tmp_path / "agent.py").write_bytes(script)
    proc = subprocess.run([sys.executable, "-I", "-S", "-B", "-"], input=script, capture_output=True, timeout=60,
                          cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    lines = [line for line in proc.stdout.splitlines() if line.startswith(b"{")]
    assert b'"t": "hello"' in lines[0] and b'"t": "done"' in lines[-1]
    assert b'"status": "skipped", "note": "no-such-tool-here is not installed"' in proc.stdout
    assert sorted(p.name for p in tmp_path.iterdir()) == ["agent.py"]  # it wrote nothing
