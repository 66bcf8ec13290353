"""The demo's consultation act on a case that has just opened its incident (the full story is in tests/demo)."""

from __future__ import annotations

import io
import subprocess
from pathlib import Path

from rich.console import Console

from aftermath.case import Case
from aftermath.consult import records
from aftermath.demo.consult import act_consult
from aftermath.demo.world import World
from tests.consult.conftest import DISCOVERED


def test_demo_consultation_writes_report_timeline_and_package(tmp_path: Path):
    world = World(tmp_path / "demo")
    case = Case.init(world.case_dir)
    case.open_incident("Ransomware", DISCOVERED)
    world.facts["discovered"] = DISCOVERED
    out = io.StringIO()
    act_consult(world, Console(file=out, width=160))
    made = world.facts["consult"]
    assert all(Path(p).is_file() for p in made.values())
    assert "1 privileged entry was left out" in made["report"].read_text()
    assert made["pdf"].read_bytes().startswith(b"%PDF-")
    file = records.load(case)
    assert [r.body["role"] for r in file.of("contact")] == ["ir-firm", "counsel", "insurer"]
    assert len(file.of("decision")) == 2 and len(file.of("decision", include_privileged=False)) == 1
    assert len(file.of("task")) == 3
    assert "notice to insurer" in out.getvalue() and str(made["package"]) in out.getvalue().replace("\n", "")
    listing = subprocess.run(f"age -d -i {made['key']} {made['package']} | tar -t", shell=True, check=True,
                             capture_output=True, text=True).stdout.split()
    assert listing[0] == "MANIFEST.json" and "report.html" in listing
    assert case.entries("evidence.custody")[-1].data["recipients"][0]["name"] == "Ortega & Lane LLP"
