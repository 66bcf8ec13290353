"""``notify letters`` at the edges: read the plan, people and incident; compose, render, write, fill the outbox.

Everything is checked before anything is written: the plan must come from this people file, the
incident file must hold every field a recipient's law needs, and there must be a code for every person
owed credit monitoring. Output goes to a folder (the case's ``notices/`` by default); with a case, every
notice is also stored in the outbox, once, with a stable Message-ID.
"""

from __future__ import annotations

import contextlib
import csv
import datetime as dt
import hashlib
import io
import json
import os
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
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
from aftermath.notify.people import Person, iter_people, read_people_text
from aftermath.notify.planning import load_rules

if TYPE_CHECKING:
    from aftermath.case import Case
    from aftermath.notify.delivery import outbox
    from aftermath.notify.delivery.store import NoticeRow


BATCH = 1000  # notices rendered, written and stored per transaction: memory stays flat in the number of notices


@dataclass
class Rendered:
    """What one ``letters`` run did; the notices themselves are written and stored batch by batch, not held."""

    methods: Counter[str] = field(default_factory=Counter)
    bases: Counter[tuple[str, str]] = field(default_factory=Counter)  # (channel, why): consent, substitute...
    not_covered: int = 0
    drafts: int = 0  # regulator, bureau and media drafts
    added: int = 0  # notices added to the outbox by this run (0 without a case)
    already_stored: int = 0
    print_files: list[str] = field(default_factory=list)
    residents: dict[str, tuple[render.Residents, Letter]] = field(default_factory=dict)  # per jurisdiction: its
    # residents' methods and elements, and the first one's letter (for the regulators' forms and sample notices)
    substituted: set[str] = field(default_factory=set)  # jurisdictions whose law allowed substitute notice


@dataclass
class Item:
    """One rendered notice and what goes with it, on its way to the files and the outbox."""

    notice: dict[str, Any]
    files: dict[str, bytes] = field(default_factory=dict)
    method_row: list[str] = field(default_factory=list)
    post: tuple[str, render.PrintLetter, list[str]] | None = None  # print-file HTML, printed letter, mail-house row
    substitute: bool = False


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


def consented(row: dict[str, str]) -> bool:
    """The optional ``esign_consent`` column of a people.csv row (true/false): consent to electronic notices."""
    return (row.get("esign_consent") or "").strip().lower() in ("true", "yes", "1")


class Composer:
    """One letter per person covered by a law with a duty to individuals in the plan.

    A letter depends on the person only through the rules that cover them and their elements, so it is
    composed once per distinct (rules, elements) and given to each such person.
    """

    def __init__(self, plan: dict[str, Any]) -> None:
        owed = {o["jurisdiction"] for o in plan["obligations"] if o["audience"] == "individuals"}
        self.rules = [f.rule for f in load_rules() if f.rule.jurisdiction in owed]
        self.blocks = load_blocks()
        self.made: dict[tuple[tuple[int, ...], frozenset[str]], Letter] = {}  # the first person's letter of each

    def letter(self, person: Person) -> Letter | None:
        """``person``'s letter; None when no law of the plan owes them a notice."""
        mine = rules_for(person, self.rules)
        if not mine:
            return None
        key = (tuple(id(r) for r in mine), person.elements)
        if key not in self.made:
            self.made[key] = compose(person, mine, self.blocks)
        return replace(self.made[key], person=person)


@dataclass
class Survey:
    """What a first read of the people file finds, before anything is written (every row validated)."""

    covered: int = 0
    not_covered: int = 0
    eligible: list[str] = field(default_factory=list)  # people owed credit monitoring (for enrolment codes)


def survey(text: str, name: str, composer: Composer) -> Survey:
    """Read every person once: validate the file, compose each distinct letter, count, list who needs a code."""
    out = Survey()
    for person, _row in iter_people(text, name):
        letter = composer.letter(person)
        if letter is None:
            out.not_covered += 1
            continue
        out.covered += 1
        if letter.monitoring_months:
            out.eligible.append(person.id)
    out.eligible.sort()
    return out


def each_letter(text: str, name: str, composer: Composer) -> Iterator[tuple[Letter, bool]]:
    """Each covered person's letter and whether they consented to electronic notices, in file order."""
    for person, row in iter_people(text, name):
        letter = composer.letter(person)
        if letter is not None:
            yield letter, consented(row)


def produce(letters: Iterable[tuple[Letter, bool]], choose: Callable[[Letter, bool], Method], incident: Incident,
            codes: dict[str, str], case_key: str, deadlines: dict[str, Any], today: dt.date,
            tally: Rendered) -> Iterator[Item]:
    """Render each person's notice in turn, by the method ``choose`` gives, counting methods, their grounds and
    each jurisdiction's residents in ``tally`` (pure apart from reading the package's data). A generator: the
    caller writes and stores the notices in batches, holding none for long."""
    agencies = load_agencies()
    domain = _domain(incident)
    when = dt.datetime.combine(today, dt.time(12), dt.UTC)
    for letter, consent in letters:
        p = letter.person
        how = choose(letter, consent)
        tally.bases[how.channel, how.basis] += 1
        if how.basis == "substitute":
            tally.substituted.update(letter.jurisdictions)
        for j in letter.jurisdictions:
            seen = tally.residents.setdefault(j, (render.Residents(Counter(), set()), letter))[0]
            seen.channels[how.channel] += 1
            seen.elements.update(p.elements)
        secs = sections(letter, incident, agencies, today, codes.get(p.id))
        nid = render.notice_id("individuals", f"{p.id}\0{how.channel}")
        mid = render.message_id(case_key, nid, domain)
        tally.methods[how.channel] += 1
        duties = [[j, "individuals", deadlines.get(j)] for j in letter.jurisdictions]
        item = Item({}, method_row=[p.id, how.channel, how.reason, ";".join(letter.jurisdictions),
                                    str(letter.monitoring_months)])
        if how.channel == "email":
            body = render.email_message(p, secs, incident, mid, when)
            item.files[f"email/{nid}.eml"] = body
        else:
            body = plain_text(secs, render.greeting(p)).encode()
            if how.channel == "post":
                code = codes.get(p.id) if letter.monitoring_months else None
                slotted = sections(letter, incident, agencies, today, render.CODE_SLOT if code else None)
                item.post = (render.letter_html(p, secs, incident, with_address=True),
                             render.print_letter(p, slotted, incident, code), _mailhouse(p))
            else:
                item.substitute = True
        item.notice = _notice(nid, p.id, "individuals", how, p.email or p.name, duties, mid, body)
        yield item


def _domain(incident: Incident) -> str:
    return incident.contact.email.rpartition("@")[2] or "aftermath.invalid"


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


class CsvOut:
    """A CSV file written row by row to a temporary name and put in place whole at the end (never half)."""

    def __init__(self, target: Path, header: list[str]) -> None:
        self.target, self.header = target, header
        self._tmp = target.with_name(f".{target.name}.tmp")
        self._fh: Any = None
        self._writer: Any = None
        self.rows = 0

    def add(self, rows: list[list[str]]) -> None:
        """Append rows (the file is created with its header on the first)."""
        try:
            if self._fh is None:
                self.target.parent.mkdir(parents=True, exist_ok=True)
                self._fh = self._tmp.open("w", encoding="utf-8", newline="")
                self._writer = csv.writer(self._fh, lineterminator="\n")
                self._writer.writerow(self.header)
            self._writer.writerows(rows)
        except OSError as exc:
            self.discard()
            raise from_os_error(exc, f"writing {self.target} (run again to finish)") from exc
        self.rows += len(rows)

    def finish(self) -> None:
        """Put the file in place (nothing happens when no row was added)."""
        if self._fh is None:
            return
        try:
            self._fh.close()
            self._tmp.replace(self.target)
        except OSError as exc:
            self.discard()
            raise from_os_error(exc, f"writing {self.target} (run again to finish)") from exc
        self._fh = None

    def discard(self) -> None:
        """Leave the earlier file (if any) as it was."""
        if self._fh is not None:
            self._fh.close()
            self._fh = None
        self._tmp.unlink(missing_ok=True)


class Batches:
    """Where rendered notices go: files written and notices stored ``batch`` at a time, post in print files.

    A post letter waits in its print file (at most one per core plus the one being filled); its notice is
    stored only once that print file is written. Every batch is one journaled transaction in the outbox
    (see :class:`aftermath.notify.delivery.outbox.Filler`), so a crash leaves whole batches only, and running
    ``letters`` again stores the rest, each notice once (by its stable id).
    """

    def __init__(self, out_dir: Path, pdf: bool, filler: outbox.Filler | None, batch: int,
                 progress: Callable[[int], None] | None = None) -> None:
        self.out_dir, self.pdf, self.filler, self.batch, self.progress = out_dir, pdf, filler, max(1, batch), progress
        self.files: dict[str, bytes] = {}
        self.rows: list[dict[str, Any]] = []
        self.filling: list[Item] = []  # the print file being filled
        self.full: list[list[Item]] = []  # print files waiting to be printed, one per core at most
        self.print_files: list[str] = []
        self.done = 0
        self.methods = CsvOut(out_dir / "methods.csv", ["person_id", "method", "reason", "jurisdictions",
                                                        "monitoring_months"])
        self.mailhouse = CsvOut(out_dir / "post/mailhouse.csv", ["person_id", "name", "address_1", "address_2",
                                                                 "address_3", "file", "page"])
        self.substitute = CsvOut(out_dir / "substitute/people.csv", ["person_id"])
        self.methods.add([])  # always written, even when nobody is owed a notice
        self._cores = max(1, os.cpu_count() or 1)

    def add(self, item: Item) -> None:
        """Take one rendered notice; write and store whatever batch it completes."""
        self.methods.add([item.method_row])
        if item.substitute:
            self.substitute.add([[item.notice["person_id"]]])
        if item.post is None:
            self.files.update(item.files)
            self.rows.append(item.notice)
        else:
            self.filling.append(item)
            if len(self.filling) == render.LETTERS_PER_PRINT_FILE:
                self.full.append(self.filling)
                self.filling = []
                if len(self.full) >= self._cores:
                    self._print()
        if len(self.rows) >= self.batch:
            self.flush()

    def finish(self, extra: list[dict[str, Any]], files: dict[str, bytes]) -> None:
        """Print the last print files, write ``files``, store ``extra`` notices and the rest; put the CSVs in place."""
        if self.filling:
            self.full.append(self.filling)
            self.filling = []
        self._print()
        self.files.update(files)
        self.rows.extend(extra)
        self.flush()
        for out in (self.methods, self.mailhouse, self.substitute):
            out.finish()

    def discard(self) -> None:
        """After an error: the CSVs being written are dropped (the earlier ones stay)."""
        for out in (self.methods, self.mailhouse, self.substitute):
            out.discard()

    def flush(self) -> None:
        """Write the pending files, then store the pending notices (one journaled transaction)."""
        if self.files:
            write_files(self.out_dir, self.files)
        if self.filler is not None and self.rows:
            self.filler.add([_row(n) for n in self.rows])
        self.done += sum(1 for n in self.rows if n["audience"] == "individuals")
        self.files, self.rows = {}, []
        if self.progress is not None:
            self.progress(self.done)

    def _print(self) -> None:
        """Write the waiting print files (HTML, and PDF on every core); their letters join the pending notices."""
        if not self.full:
            return
        first = len(self.print_files) + 1
        names = [f"post/print-{first + i:04d}" for i in range(len(self.full))]
        write_files(self.out_dir, {f"{name}.html": render.print_file([it.post[0] for it in chunk if it.post],
                                                                      first + i).encode()
                                   for i, (name, chunk) in enumerate(zip(names, self.full, strict=True))})
        if self.pdf:
            from aftermath.notify.letters.pdf import print_all

            starts = print_all([([it.post[1] for it in chunk if it.post], self.out_dir / f"{name}.pdf")
                                for name, chunk in zip(names, self.full, strict=True)])
        else:
            starts = [list(range(1, len(chunk) + 1)) for chunk in self.full]
        suffix = ".pdf" if self.pdf else ".html"
        for name, chunk, pages in zip(names, self.full, starts, strict=True):
            self.mailhouse.add([[*it.post[2], f"{name}{suffix}", str(page)]
                                for it, page in zip(chunk, pages, strict=True) if it.post])
            self.rows.extend(it.notice for it in chunk)
        self.print_files += names
        self.full = []


def _drafts(plan: dict[str, Any], incident: Incident, tally: Rendered, substitute: int, today: dt.date,
            case_key: str) -> tuple[list[dict[str, Any]], dict[str, bytes]]:
    """The regulator, bureau and media drafts (as notices, with their files; a sample notice and, where the law
    file describes the regulator's form, its answers), substitute texts and the FAQ."""
    domain, notices, files = _domain(incident), [], {}
    agencies = load_agencies()
    methods = dict(tally.methods)
    forms = {(f.rule.jurisdiction, r.recipient): r.form for f in load_rules() for r in f.rule.regulators if r.form}
    for i, ob in enumerate(o for o in plan["obligations"] if o["audience"] != "individuals"):
        name = f"regulators/{i + 1:03d}-{ob['jurisdiction']}-{ob['audience']}.txt"
        mine, first = tally.residents.get(ob["jurisdiction"], (None, None))
        sample = f"regulators/sample-notice-{ob['jurisdiction']}.txt" if first is not None else ""
        if first is not None:
            files[sample] = _sample(first, incident, agencies, today)
        text = render.regulator_draft(ob, incident, methods, today, sample.rpartition("/")[2]).encode()
        form = forms.get((ob["jurisdiction"], ob["recipient"]))
        if form is not None:
            answers = render.form_answers(ob, form, incident, mine, int(plan.get("people_total") or 0), today,
                                          sample)
            stem = name.removesuffix(".txt")
            files[f"{stem}-form.txt"] = render.form_text(ob, form, answers).encode()
            files[f"{stem}-form.json"] = (json.dumps({"recipient": ob["recipient"], "jurisdiction": ob["jurisdiction"],
                                                      "url": form.url, "source": form.source, "fields": answers},
                                                     indent=1) + "\n").encode()
            text += f"Web form: {form.url}; its fields answered in {stem.rpartition('/')[2]}-form.txt\n".encode()
        files[name] = text
        nid = render.notice_id(ob["audience"], f"{ob['jurisdiction']}\0{ob['recipient']}")
        duties = [[ob["jurisdiction"], ob["audience"], ob["deadline"]]]
        notices.append(_notice(nid, "", ob["audience"], Method("draft", name), ob["recipient"], duties,
                               render.message_id(case_key, nid, domain), text))
    if substitute:
        for name, words in render.substitute_texts(incident, substitute).items():
            files[f"substitute/{name}"] = words.encode()
    if tally.substituted:
        chosen = [f.rule for f in load_rules() if f.rule.jurisdiction in tally.substituted]
        files["substitute/requirements.txt"] = substitute_requirements(chosen).encode()
    files["faq.md"] = render.faq(incident).encode()
    return notices, files


def _csv(rows: list[list[str]]) -> bytes:
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\n").writerows(rows)
    return buf.getvalue().encode()


def write_files(out_dir: Path, files: dict[str, bytes]) -> None:
    """Write every output under ``out_dir``; each file atomically (a full disk leaves whole files only).

    Files are written by a few threads: creating a file waits on the file system (about 3 ms each on a
    busy disk here), and the waits overlap; the first error stops the rest and is reported.
    """
    root = os.fspath(out_dir)  # plain strings: a Path per file costs time (and interns every file name)
    folders = {os.path.dirname(os.path.join(root, name)) for name in files}
    with ThreadPoolExecutor(WRITERS) as pool:
        try:
            for folder in folders:
                os.makedirs(folder, exist_ok=True)
            for done in [pool.submit(_write_one, os.path.join(root, name), data)
                         for name, data in sorted(files.items())]:
                done.result()
        except OSError as exc:
            pool.shutdown(cancel_futures=True)
            raise from_os_error(exc, f"writing {exc.filename or out_dir} ({len(files)} files; the ones already "
                                     "written are whole, run again to finish)") from exc


WRITERS = 8


def _write_one(target: str, data: bytes) -> None:
    folder, name = os.path.split(target)
    tmp = os.path.join(folder, f".{name}.tmp")
    try:
        with open(tmp, "wb") as fh:
            fh.write(data)
        os.replace(tmp, target)
    except OSError as exc:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise OSError(exc.errno, exc.strerror, target) from exc


def letters(plan_path: Path, people_path: Path, incident_path: Path, out_dir: Path, case: Case | None,
            codes_path: Path | None, today: dt.date, pdf: bool = True, batch: int = BATCH,
            progress: Callable[[int, int], None] | None = None) -> Rendered:
    """The whole ``notify letters`` command: render, write and store every notice, ``batch`` at a time.

    Everything that can be refused is checked before anything is written; the enrolment codes' assignment
    is written before any notice carries a code. ``progress(done, total)`` is told after every batch.
    """
    from aftermath.notify.delivery import outbox

    plan = load_plan(plan_path, people_path)
    text = read_people_text(people_path)  # the text is held (a few MB); people are read from it one at a time
    incident = load_incident(incident_path)
    suppressed = outbox.suppressed(case) if case else set()
    case_key = outbox.case_key(case) if case else plan["inputs"]["people_file"]["sha256"]
    composer = Composer(plan)
    found = survey(text, str(people_path), composer)
    check_incident(list(composer.made.values()), incident, composer.blocks)
    codes = assign_codes(out_dir / "codes-assigned.csv", codes_path, found.eligible)
    if codes:
        write_files(out_dir, {"codes-assigned.csv": _csv([["person_id", "code"],
                                                          *sorted(map(list, codes.items()))])})
    result = Rendered(not_covered=found.not_covered)
    deadlines = {o["jurisdiction"]: o["deadline"] for o in plan["obligations"] if o["audience"] == "individuals"}
    filler = outbox.Filler(case) if case else None
    total = found.covered
    sink = Batches(out_dir, pdf, filler, batch, (lambda done: progress(done, total)) if progress else None)
    try:
        rules = [f.rule for f in load_rules() if f.rule.jurisdiction in deadlines]
        choose = chooser(plan, each_letter(text, str(people_path), composer), rules, incident, suppressed)
        for item in produce(each_letter(text, str(people_path), composer), choose, incident, codes, case_key,
                            deadlines, today, result):
            sink.add(item)
        drafts, files = _drafts(plan, incident, result, sink.substitute.rows, today, case_key)
        sink.finish(drafts, files)
    except BaseException:
        sink.discard()
        raise
    if filler is not None:
        result.added, result.already_stored = filler.close(dict(result.methods))
    result.drafts, result.print_files = len(drafts), sink.print_files
    return result


def _row(n: dict[str, Any]) -> NoticeRow:
    from aftermath.notify.delivery.store import NoticeRow

    return NoticeRow(**n, attempts=0, ambiguous=0, created_at=dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
                     reply="")
