"""The collector copies a bounded number of files, however many a temp folder holds."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

from aftermath.secure.collect import agent


def test_files_artifact_stops_at_max_files_and_says_how_many_were_left(tmp_path: Path,
                                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    for i in range(30):
        (tmp_path / f"f{i:02d}.txt").write_text("x" * 10)
    out = io.BytesIO()
    monkeypatch.setattr(agent, "OUT", out)
    art = {"name": "temp_files", "paths": [f"{tmp_path}/*"], "max_files": 10, "max_total": 1 << 20}
    assert agent.collect_files(art, since=0) == 10
    stream, headers = io.BytesIO(out.getvalue()), []
    while line := stream.readline():
        header = json.loads(line)
        headers.append(header)
        stream.read(header.get("size", 0))  # the frame's data follows its header
    assert sum(1 for h in headers if h["t"] == "file") == 10
    notes = [h["msg"] for h in headers if h["t"] == "note"]
    assert notes == ["20 more paths not copied: limit of 10 files or 1048576 bytes"]
