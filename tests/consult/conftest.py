"""A case worked through the consultation: an incident, evidence, contacts, tasks, decisions."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from aftermath.case import Case
from aftermath.consult import records

DISCOVERED = datetime(2026, 11, 20, 8, 0, tzinfo=UTC)


@pytest.fixture()
def worked(case: Case, tmp_path: Path) -> Case:
    """Incident, two evidence files, an insurer and counsel, a task, a public and a privileged decision."""
    case.open_incident("Ransomware on the share", DISCOVERED)
    for name, body in (("auth.log", b"Nov 19 sshd: Accepted password for admin\n"), ("miner.bin", b"\x7fELF...")):
        src = tmp_path / name
        src.write_bytes(body)
        case.register_evidence(src, source="web01", description=name)
    records.add(case, "contact", "Harbor Mutual Cyber", {"role": "insurer", "policy": "CY-2291",
                                                         "notice_within": "72h", "engaged": "2026-11-20T09:00"})
    records.add(case, "contact", "Ortega & Lane LLP", {"role": "counsel", "reach": "mo@ol.example"})
    records.add(case, "task", "Image web01's disk", {"owner": "Sam", "due": "2026-11-21"})
    records.add(case, "decision", "Restore from the surgical plan", {"rationale": "keeps 9 days of orders",
                                                                    "made_by": "owner"})
    records.add(case, "decision", "No risk-of-harm exception claimed for Florida residents",
                {"rationale": "card numbers with security codes were taken", "made_by": "counsel"}, privileged=True)
    return case
