"""Benchmark: how well ``notify bounces`` reads real bounce messages (a folder of them, with labels if present).

PYTHONPATH=src python bench/bounces_quality.py FOLDER [--show N] [--json]

Every file in FOLDER (except ``labels.json``) is read as ``notify bounces`` reads it (an .eml file, or an mbox
when it starts with a ``From `` line) and classified by the same function (``bounces.failures``): which
recipients failed, hard (permanent: suppress the address, post instead) or soft (retry).

``FOLDER/labels.json``, when present, holds the corpus's own labels, one entry per file name:
``{"bounce": bool, "recipients": [{"address"?: str, "hard"?: bool | null, "status"?: str,
"address_gone"?: bool}]}`` (``bounce`` false for delivery reports, auto-replies and abuse reports;
``address_gone``: the corpus says the mailbox or domain does not exist). The labels are written from the
corpus's own test expectations, outside this repository.

Reported: messages recognised as bounces (and non-bounces taken for bounces); per message, hard or soft
against the labels (a message is hard when any labelled recipient is); recipients found against the number
labelled (and the addresses, where the labels name them).
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
from collections import Counter
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from aftermath.notify.delivery.bounces import failures, read_messages  # noqa: E402


def measure(folder: Path) -> dict[str, Any]:
    """Classify every message in ``folder``; compare with its labels."""
    labels: dict[str, Any] = {}
    if (folder / "labels.json").exists():
        labels = json.loads((folder / "labels.json").read_text())
    c: Counter[str] = Counter()
    wrong: dict[str, list[str]] = {"missed": [], "false_bounce": [], "hard_as_soft": [], "soft_as_hard": [],
                                   "gone_as_soft": [], "recipients": [], "unreadable": []}
    for path in sorted(p for p in folder.iterdir() if p.is_file() and p.name != "labels.json"):
        try:
            messages = [m for _, m in read_messages(path)]
        except Exception as exc:  # noqa: BLE001 - a benchmark counts what it cannot read
            c["unreadable"] += 1
            wrong["unreadable"].append(f"{path.name}: {exc}")
            continue
        label = labels.get(path.name)
        for msg in messages[:1]:  # one message per file in these corpora
            c["messages"] += 1
            got = failures(msg)
            found = got.hard | got.soft
            c["recognised"] += bool(found)
            if label is None:
                c["unlabelled"] += 1
                c["unlabelled_recognised"] += bool(found)
                if not found:
                    wrong["missed"].append(f"{path.name} (unlabelled)")
                continue
            _compare(path.name, label, got.hard, found, c, wrong, path.read_bytes().decode("utf-8", "replace"))
    return {"counts": dict(c), "wrong": wrong}


def _compare(name: str, label: dict[str, Any], hard: frozenset[str], found: frozenset[str], c: Counter[str],
             wrong: dict[str, list[str]], raw: str) -> None:
    if not label.get("bounce", True):
        c["labelled_not_bounce"] += 1
        if found:
            c["false_bounce"] += 1
            wrong["false_bounce"].append(f"{name}: {sorted(found)}")
        return
    c["labelled_bounce"] += 1
    if not found:
        c["missed"] += 1
        wrong["missed"].append(name)
        return
    c["labelled_bounce_recognised"] += 1
    recipients = label.get("recipients", [])
    kinds = [r.get("hard") for r in recipients if r.get("hard") is not None]
    if kinds:
        expected_hard, said_hard = any(kinds), bool(hard)
        c[f"expected_{'hard' if expected_hard else 'soft'}"] += 1
        # a labelled status the message itself states (not a code the labeller inferred, such as 5.0.947)
        stated = all(r.get("status") and r["status"] in raw for r in recipients if r.get("hard") is not None)
        c["stated"] += stated
        c["stated_agrees"] += stated and expected_hard == said_hard
        if expected_hard == said_hard:
            c["kind_agrees"] += 1
        else:
            key = "hard_as_soft" if expected_hard else "soft_as_hard"
            c[key] += 1
            wrong[key].append(f"{name}: labels {[r.get('status') or r.get('hard') for r in recipients]}")
    if any(r.get("address_gone") for r in recipients):
        c["address_gone"] += 1
        if not hard:
            c["gone_as_soft"] += 1
            wrong["gone_as_soft"].append(name)
    addresses = {r["address"].lower() for r in recipients if r.get("address")}
    if addresses:
        c["with_addresses"] += 1
        c["addresses_exact"] += addresses == set(found)
        if addresses != set(found):
            wrong["recipients"].append(f"{name}: expected {sorted(addresses)}, found {sorted(found)}")
    elif recipients:
        c["with_count"] += 1
        c["count_exact"] += len(found) == len(recipients)
        c["count_fewer"] += len(found) < len(recipients)
        c["count_more"] += len(found) > len(recipients)
        if len(found) != len(recipients):
            wrong["recipients"].append(f"{name}: {len(recipients)} labelled, found {sorted(found)}")


def report(folder: Path, result: dict[str, Any], show: int) -> str:
    """The measurements as text."""
    c = Counter(result["counts"])
    lines = [f"corpus {folder} on {platform.node()} (Python {platform.python_version()})",
             f"messages {c['messages']}, unreadable {c['unreadable']}; recognised as bounces {c['recognised']}",
             f"labelled bounces {c['labelled_bounce']}: recognised {c['labelled_bounce_recognised']}, "
             f"missed {c['missed']}",
             f"labelled non-bounces (delivery reports, auto-replies, abuse reports) {c['labelled_not_bounce']}: "
             f"taken for bounces {c['false_bounce']}",
             f"unlabelled {c['unlabelled']}: recognised {c['unlabelled_recognised']}",
             f"hard/soft against the labels ({c['expected_hard']} hard, {c['expected_soft']} soft, recognised "
             f"only): agree {c['kind_agrees']}, hard said soft {c['hard_as_soft']}, soft said hard "
             f"{c['soft_as_hard']}; where the message states the labelled status ({c['stated']}): agree "
             f"{c['stated_agrees']}",
             f"mailbox or domain gone (corpus label) {c['address_gone']}: said soft {c['gone_as_soft']}",
             f"recipients: addresses labelled {c['with_addresses']}, exact {c['addresses_exact']}; "
             f"count labelled {c['with_count']}, exact {c['count_exact']}, fewer {c['count_fewer']}, "
             f"more {c['count_more']}"]
    for key, items in result["wrong"].items():
        if items and show:
            lines.append(f"-- {key} ({len(items)}):")
            lines.extend(f"   {item}" for item in items[:show])
    return "\n".join(lines)


def main() -> None:
    """Run the benchmark on one folder."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folder", type=Path)
    parser.add_argument("--show", type=int, default=10, help="list up to N files per kind of error")
    parser.add_argument("--json", action="store_true", help="print the counts and errors as JSON")
    args = parser.parse_args()
    result = measure(args.folder)
    print(json.dumps(result, indent=1) if args.json else report(args.folder, result, args.show))


if __name__ == "__main__":
    main()
