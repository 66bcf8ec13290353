"""``notify letters`` at the edges: read the plan, people and incident; compose, render, write, fill the outbox.

Everything is checked before anything is written: the plan must come from this people file, the
incident file must hold every field a recipient's law needs, and there must be a code for every person
owed credit monitoring. Output goes to a folder (the case's ``notices/`` by default); with a case, every
notice is also stored in the outbox, once, with a stable Message-ID.
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io
import json
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from aftermath.case import hash_file
from aftermath.errors import UsageError, from_os_error
from aftermath.notify.letters import render
from aftermath.notify.letters.codes import assign_codes
from aftermath.notify.letters.content import (
    Letter,
    Method,
    check_incident,
    compose,
    load_agencies,
    load_blocks,
    rules_for,
)
from aftermath.notify.letters.incident import Incident, load_incident
from aftermath.notify.letters.methods import chooser, substitute_requirements
from aftermath.notify.letters.wording import TITLE, plain_text, sections
from aftermath.notify.people import Person, read_people
from aftermath.notify.planning import load_rules

if TYPE_CHECKING:
    from aftermath.case import Case
    from aftermath.notify.delivery.store import NoticeRow


@dataclass
class Rendered:
    """Everything ``letters`` produced, before it is written."""

    files: dict[str, bytes] = field(default_factory=dict)
    notices: list[dict[str, Any]] = field(default_factory=list)
    methods: Counter[str] = field(default_factory=Counter)
    bases: Counter[tuple[str, str]] = field(default_factory=Counter)  # (channel, why): consent, substitute...
    not_covered: int = 0
    mail_rows: list[list[str]] = field(default_factory=list)  # person, name, address lines, batch, index
    print_files: list[str] = field(default_factory=list)
    printed: list[render.PrintLetter] = field(default_factory=list)  # the post letters, in print-file order


def load_plan(plan_path: Path, people_path: Path) -> dict[str, Any]:
    """The plan JSON, refused when it was made from another people file."""
    try:
        plan: dict[str, Any] = json.loads(plan_path.read_text(encoding="utf-8"))
        digest, _ = hash_file(people_path)
    except OSError as exc:
        raise UsageError(f"cannot read {exc.filename}: {exc.strerror}") from exc
    except json.JSONDecodeError as exc:
        raise UsageError(f"{plan_path} is not a plan (bad JSON at line {exc.lineno}): "
                         "write one with 'notify plan --json'") from exc
    made_from = plan.get("inputs", {}).get("people_file", {}).get("sha256")
    if made_from != digest:
        raise UsageError(f"the plan {plan_path} was made from another people file (SHA-256 {str(made_from)[:12]}…, "
                         f"{people_path.name} is {digest[:12]}…): run 'notify plan' on this file again")
    return plan


def read_consent(people_path: Path) -> dict[str, bool]:
    """The optional ``esign_consent`` column of people.csv (true/false), by person id."""
    with people_path.open(encoding="utf-8-sig", newline="") as fh:
        reader = csv.DictReader(fh)
        if "esign_consent" not in (reader.fieldnames or []):
            return {}
        return {row["id"].strip(): (row.get("esign_consent") or "").strip().lower() in ("true", "yes", "1")
                for row in reader}


def compose_all(plan: dict[str, Any], people: list[Person]) -> tuple[list[Letter], int]:
    """One letter per person covered by a law with a duty to individuals in the plan.

    A letter depends on the person only through the rules that cover them and their elements, so it is
    composed once per distinct (rules, elements) and given to each such person.
    """
    owed = {o["jurisdiction"] for o in plan["obligations"] if o["audience"] == "individuals"}
    rules = [f.rule for f in load_rules() if f.rule.jurisdiction in owed]
    blocks = load_blocks()
    letters, skipped = [], 0
    made: dict[tuple[tuple[int, ...], frozenset[str]], Letter] = {}
    for person in people:
        mine = rules_for(person, rules)
        if not mine:
            skipped += 1
            continue
        key = (tuple(id(r) for r in mine), person.elements)
        if key not in made:
            made[key] = compose(person, mine, blocks)
        letters.append(replace(made[key], person=person))
    return letters, skipped


def produce(plan: dict[str, Any], people: list[Person], incident: Incident, consent: dict[str, bool],
            codes: dict[str, str], suppressed: set[str], case_key: str, today: dt.date,
            composed: tuple[list[Letter], int] | None = None) -> Rendered:
    """Compose (unless given ``composed``) and render every notice (pure apart from reading the package's data)."""
    letters, skipped = composed or compose_all(plan, people)
    check_incident(letters, incident, load_blocks())
    agencies = load_agencies()
    out = Rendered(not_covered=skipped)
    domain = incident.contact.email.rpartition("@")[2] or "aftermath.invalid"
    deadlines = {o["jurisdiction"]: o["deadline"] for o in plan["obligations"] if o["audience"] == "individuals"}
    post: list[str] = []
    substitute: list[str] = []
    method_rows = [["person_id", "method", "reason", "jurisdictions", "monitoring_months"]]
    when = dt.datetime.combine(today, dt.time(12), dt.UTC)
    rules = [f.rule for f in load_rules() if f.rule.jurisdiction in deadlines]
    choose = chooser(plan, letters, rules, incident, consent, suppressed)
    substituted: set[str] = set()
    residents: dict[str, tuple[render.Residents, Letter]] = {}  # per jurisdiction, for the regulators' forms
    for letter in letters:
        p = letter.person
        how = choose(letter)
        out.bases[how.channel, how.basis] += 1
        if how.basis == "substitute":
            substituted.update(letter.jurisdictions)
        for j in letter.jurisdictions:
            seen = residents.setdefault(j, (render.Residents(Counter(), set()), letter))[0]
            seen.channels[how.channel] += 1
            seen.elements.update(p.elements)
        secs = sections(letter, incident, agencies, today, codes.get(p.id))
        nid = render.notice_id("individuals", f"{p.id}\0{how.channel}")
        mid = render.message_id(case_key, nid, domain)
        out.methods[how.channel] += 1
        method_rows.append([p.id, how.channel, how.reason, ";".join(letter.jurisdictions),
                            str(letter.monitoring_months)])
        duties = [[j, "individuals", deadlines.get(j)] for j in letter.jurisdictions]
        if how.channel == "email":
            body = render.email_message(p, secs, incident, mid, when)
            out.files[f"email/{nid}.eml"] = body
        else:
            body = plain_text(secs, render.greeting(p)).encode()
            if how.channel == "post":
                batch, page = divmod(len(post), render.LETTERS_PER_PRINT_FILE)
                post.append(render.letter_html(p, secs, incident, with_address=True))
                code = codes.get(p.id) if letter.monitoring_months else None
                slotted = sections(letter, incident, agencies, today, render.CODE_SLOT if code else None)
                out.printed.append(render.print_letter(p, slotted, incident, code))
                out.mail_rows.append([*_mailhouse(p), f"post/print-{batch + 1:04d}", str(page)])
            else:
                substitute.append(p.id)
        out.notices.append(_notice(nid, p.id, "individuals", how, p.email or p.name, duties, mid, body))
    _post_files(out, post)
    samples = {j: _sample(letter, incident, agencies, today) for j, (_, letter) in residents.items()}
    _other_files(out, plan, incident, substitute, method_rows, today, case_key, domain,
                 {j: (r, samples[j]) for j, (r, _) in residents.items()})
    if substituted:
        chosen = [r for r in rules if r.jurisdiction in substituted]
        out.files["substitute/requirements.txt"] = substitute_requirements(chosen).encode()
    return out


def _sample(letter: Letter, incident: Incident, agencies: list[Any], today: dt.date) -> bytes:
    """A notice to one of a jurisdiction's residents with nothing personal in it, for the regulators."""
    anonymous = replace(letter, person=replace(letter.person, name="[Name]", street="", email=""))
    code = "[enrolment code]" if letter.monitoring_months else None
    return plain_text(sections(anonymous, incident, agencies, today, code), render.greeting(anonymous.person)).encode()


def _mailhouse(p: Person) -> list[str]:
    lines = render.address_lines(p)[1:] + ["", ""]
    return [p.id, p.name, lines[0], lines[1], lines[2] if len(lines) > 2 else ""]


def _notice(nid: str, pid: str, audience: str, how: Method, recipient: str, duties: list[Any], mid: str,
            body: bytes) -> dict[str, Any]:
    status = {"email": "pending", "post": "printed"}.get(how.channel, "drafted")
    return {"id": nid, "person_id": pid, "audience": audience, "channel": how.channel, "reason": how.reason,
            "recipient": recipient, "duties": json.dumps(duties), "message_id": mid,
            "subject": TITLE, "body": body, "sha256": hashlib.sha256(body).hexdigest(), "status": status}


def _post_files(out: Rendered, post: list[str]) -> None:
    size = render.LETTERS_PER_PRINT_FILE
    for start in range(0, len(post), size):
        name = f"post/print-{start // size + 1:04d}"
        out.files[f"{name}.html"] = render.print_file(post[start:start + size], start // size + 1).encode()
        out.print_files.append(name)


def print_post(out_dir: Path, result: Rendered, pdf: bool) -> None:
    """Print the letters to PDF files (unless ``pdf`` is false) and write the mail-house CSV with pages."""
    if not result.mail_rows:
        return
    starts: dict[str, list[int]] = {}
    if pdf:
        from aftermath.notify.letters.pdf import print_all

        size = render.LETTERS_PER_PRINT_FILE
        jobs = [(result.printed[i * size:(i + 1) * size], out_dir / f"{n}.pdf")
                for i, n in enumerate(result.print_files)]
        starts = dict(zip(result.print_files, print_all(jobs), strict=True))
    rows = [[*row[:5], f"{row[5]}.pdf" if pdf else f"{row[5]}.html",
             str(starts[row[5]][int(row[6])] if pdf else int(row[6]) + 1)] for row in result.mail_rows]
    write_files(out_dir, {"post/mailhouse.csv": _csv([["person_id", "name", "address_1", "address_2", "address_3",
                                                        "file", "page"], *rows])})


def _other_files(out: Rendered, plan: dict[str, Any], incident: Incident, substitute: list[str],
                 method_rows: list[list[str]], today: dt.date, case_key: str, domain: str,
                 residents: dict[str, tuple[render.Residents, bytes]]) -> None:
    forms = {(f.rule.jurisdiction, r.recipient): r.form for f in load_rules() for r in f.rule.regulators if r.form}
    for i, ob in enumerate(o for o in plan["obligations"] if o["audience"] != "individuals"):
        name = f"regulators/{i + 1:03d}-{ob['jurisdiction']}-{ob['audience']}.txt"
        mine, sample_text = residents.get(ob["jurisdiction"], (None, b""))
        sample = f"regulators/sample-notice-{ob['jurisdiction']}.txt" if sample_text else ""
        if sample:
            out.files[sample] = sample_text
        text = render.regulator_draft(ob, incident, dict(out.methods), today, sample.rpartition("/")[2]).encode()
        form = forms.get((ob["jurisdiction"], ob["recipient"]))
        if form is not None:
            answers = render.form_answers(ob, form, incident, mine, int(plan.get("people_total") or 0), today,
                                          sample)
            stem = name.removesuffix(".txt")
            out.files[f"{stem}-form.txt"] = render.form_text(ob, form, answers).encode()
            out.files[f"{stem}-form.json"] = (json.dumps({"recipient": ob["recipient"], "jurisdiction":
                                                          ob["jurisdiction"], "url": form.url, "source": form.source,
                                                          "fields": answers}, indent=1) + "\n").encode()
            text += f"Web form: {form.url}; its fields answered in {stem.rpartition('/')[2]}-form.txt\n".encode()
        out.files[name] = text
        nid = render.notice_id(ob["audience"], f"{ob['jurisdiction']}\0{ob['recipient']}")
        duties = [[ob["jurisdiction"], ob["audience"], ob["deadline"]]]
        out.notices.append(_notice(nid, "", ob["audience"], Method("draft", name), ob["recipient"], duties,
                                   render.message_id(case_key, nid, domain), text))
    if substitute:
        for name, words in render.substitute_texts(incident, len(substitute)).items():
            out.files[f"substitute/{name}"] = words.encode()
        out.files["substitute/people.csv"] = _csv([["person_id"], *[[s] for s in substitute]])
    out.files["faq.md"] = render.faq(incident).encode()
    out.files["methods.csv"] = _csv(method_rows)


def _csv(rows: list[list[str]]) -> bytes:
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\n").writerows(rows)
    return buf.getvalue().encode()


def write_files(out_dir: Path, files: dict[str, bytes]) -> None:
    """Write every output under ``out_dir``; each file atomically (a full disk leaves whole files only).

    Files are written by a few threads: creating a file waits on the file system (about 3 ms each on a
    busy disk here), and the waits overlap; the first error stops the rest and is reported.
    """
    folders = {(out_dir / name).parent for name in files}
    with ThreadPoolExecutor(WRITERS) as pool:
        try:
            for folder in folders:
                folder.mkdir(parents=True, exist_ok=True)
            for done in [pool.submit(_write_one, out_dir / name, data) for name, data in sorted(files.items())]:
                done.result()
        except OSError as exc:
            pool.shutdown(cancel_futures=True)
            raise from_os_error(exc, f"writing {exc.filename or out_dir} ({len(files)} files; the ones already "
                                     "written are whole, run again to finish)") from exc


WRITERS = 8


def _write_one(target: Path, data: bytes) -> None:
    tmp = target.with_name(f".{target.name}.tmp")
    try:
        tmp.write_bytes(data)
        tmp.replace(target)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise OSError(exc.errno, exc.strerror, str(target)) from exc


def letters(plan_path: Path, people_path: Path, incident_path: Path, out_dir: Path, case: Case | None,
            codes_path: Path | None, today: dt.date, pdf: bool = True) -> Rendered:
    """The whole ``notify letters`` command, apart from printing."""
    from aftermath.notify.delivery import outbox

    plan = load_plan(plan_path, people_path)
    people = read_people(people_path)
    incident = load_incident(incident_path)
    consent = read_consent(people_path)
    suppressed = outbox.suppressed(case) if case else set()
    case_key = outbox.case_key(case) if case else plan["inputs"]["people_file"]["sha256"]
    composed = compose_all(plan, people)
    eligible = sorted(lt.person.id for lt in composed[0] if lt.monitoring_months)
    codes = assign_codes(out_dir / "codes-assigned.csv", codes_path, eligible)
    result = produce(plan, people, incident, consent, codes, suppressed, case_key, today, composed)
    if codes:
        result.files["codes-assigned.csv"] = _csv([["person_id", "code"], *sorted(map(list, codes.items()))])
    write_files(out_dir, result.files)
    print_post(out_dir, result, pdf)
    if case:
        outbox.store(case, [_row(n) for n in result.notices], dict(result.methods))
    return result


def _row(n: dict[str, Any]) -> NoticeRow:
    from aftermath.notify.delivery.store import NoticeRow

    return NoticeRow(**n, attempts=0, ambiguous=0, created_at=dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
                     reply="")
