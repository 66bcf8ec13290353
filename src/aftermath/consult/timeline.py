"""Every dated event of the case in one ordered stream, in the format Timesketch imports unchanged.

Each event has Timesketch's three required fields, ``message``, ``datetime`` (ISO 8601 with an offset)
and ``timestamp_desc``, plus ``timestamp`` (microseconds since the epoch) and our own fields. Sources
are merged by time: the journal (read from the store sorted by time, in batches), and the events inside
case documents (review findings first and last seen, sweep findings, files collected from hosts with
their modification times, process records), notices sent, bounced or moved to post (from the outbox, at the
server's reply), and process starts recorded by triage collections. Memory stays flat in the journal's length.
"""

from __future__ import annotations

import csv
import heapq
import io
import json
import tarfile
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from aftermath.case.core import Case, Evidence
from aftermath.case.store import JournalRow
from aftermath.consult import records
from aftermath.errors import StateError
from aftermath.notify.delivery import outbox

FIELDS = ("datetime", "timestamp", "timestamp_desc", "message", "source", "actor", "action", "ref", "detail")
MAX_FIELD = 32_000  # Timesketch caps keyword fields at 32,766 bytes
Event = dict[str, Any]


def iso(value: str | float | datetime) -> datetime:
    """An aware UTC datetime from our stored ``...Z`` strings, ISO strings with offsets, or epoch seconds."""
    if isinstance(value, datetime):
        moment = value
    elif isinstance(value, (int, float)):
        moment = datetime.fromtimestamp(value, UTC)
    else:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def event(when: str | float | datetime, desc: str, message: str, source: str, **extra: Any) -> Event:
    """One Timesketch event."""
    moment = iso(when).astimezone(UTC)
    detail = extra.pop("detail", "")
    if not isinstance(detail, str):
        detail = json.dumps(detail, sort_keys=True, default=str)
    return {"datetime": moment.isoformat(), "timestamp": int(moment.timestamp() * 1_000_000),
            "timestamp_desc": desc, "message": message[:MAX_FIELD], "source": source,
            "actor": extra.get("actor", ""), "action": extra.get("action", ""), "ref": extra.get("ref", ""),
            "detail": detail[:MAX_FIELD]}


def events(case: Case, include_privileged: bool = False) -> Iterator[Event]:
    """Every dated event, oldest first; the first event says how many privileged entries were left out."""
    file = records.load(case)
    if not _has_events(case):
        raise StateError("the case holds no events yet: open an incident ('aftermath case open') and work it first")
    withheld = 0 if include_privileged else file.withheld()
    yield event(datetime.now(UTC), "Exported", f"timeline export: {withheld} privileged entries left out"
                + ("" if withheld == 0 else " (export again with --include-privileged, at counsel's direction)"),
                "aftermath", action="export")
    from_docs = sorted([*_document_events(case, file, include_privileged), *_notice_events(case),
                        *_process_starts(case, file, include_privileged)], key=lambda e: e["timestamp"])
    yield from heapq.merge(_journal_events(case, file, include_privileged), from_docs,
                           key=lambda e: e["timestamp"])


def write_jsonl(stream: Iterable[Event], out: io.TextIOBase | Any) -> int:
    """Write events one JSON object a line; returns how many."""
    count = 0
    for count, item in enumerate(stream, 1):  # noqa: B007 - the count is the result
        out.write(json.dumps(item, ensure_ascii=False) + "\n")
    return count


def write_csv(stream: Iterable[Event], out: io.TextIOBase | Any) -> int:
    """Write events as CSV with a header row (Timesketch's CSV import); returns how many."""
    writer = csv.DictWriter(out, fieldnames=FIELDS, lineterminator="\n")
    writer.writeheader()
    count = 0
    for count, item in enumerate(stream, 1):  # noqa: B007
        writer.writerow(item)
    return count


def _has_events(case: Case) -> bool:
    with Session(case.engine) as session:
        return session.scalars(select(JournalRow.seq).where(JournalRow.action != "case.init").limit(1)).first() \
            is not None


def _journal_events(case: Case, file: records.File, include_privileged: bool) -> Iterator[Event]:
    columns = (JournalRow.seq, JournalRow.at, JournalRow.actor, JournalRow.action, JournalRow.subject, JournalRow.data)
    query = select(*columns).order_by(JournalRow.at, JournalRow.seq).execution_options(yield_per=2000)
    with Session(case.engine) as session:
        for row in session.execute(query):
            # privilege lives in consultation entries' data, or in a mark on the sequence number
            data = json.loads(row.data) if row.action.startswith("consult.") else {}
            if not include_privileged and records.is_privileged(row.seq, row.action, data, file):
                continue
            yield event(row.at, "Recorded in journal", f"{row.action}: {row.subject}", "journal",
                        actor=row.actor, action=row.action, ref=f"journal:{row.seq}", detail=row.data)


def _document_events(case: Case, file: records.File, include_privileged: bool) -> Iterator[Event]:
    readers = {"review": _review, "sweep-report": _sweep, "collection-manifest": _collection, "process": _process}
    for kind, reader in readers.items():  # only these kinds: ordinary evidence can be many thousands
        for item in case.evidence_items(kind):
            if not include_privileged and item.id in file.privileged_evidence:
                continue
            try:
                doc = json.loads(item.path.read_bytes())
            except (OSError, ValueError):
                continue  # a document that changed or vanished is named by 'aftermath case verify'
            yield from reader(item, doc)


def _review(item: Evidence, doc: dict[str, Any]) -> Iterator[Event]:
    times = {s["id"]: s["time"] for s in doc.get("snapshots", [])}
    for f in doc.get("findings", []):
        what = f"{f['severity']} {f['kind']} {f['rule']}: {f['path']}"
        for key, desc in (("first_seen", "First seen in backup"), ("last_seen", "Last seen in backup")):
            if f.get(key) in times:
                yield event(times[f[key]], desc, what, "review", ref=f"evidence:{item.id}",
                            detail={"snapshot": f[key], "sha256": f.get("sha256"), "reason": f.get("reason")})


def _sweep(item: Evidence, doc: dict[str, Any]) -> Iterator[Event]:
    for host in doc.get("hosts", []):
        for f in host.get("findings", []):
            yield event(f.get("at") or doc["started_utc"], "Sweep finding" if f.get("at") else "Swept",
                        f"{f['severity']} on {f['host']}: {f['what']}", "sweep", ref=f"evidence:{item.id}",
                        action=f["check"], detail=f.get("evidence", {}))


def _collection(item: Evidence, doc: dict[str, Any]) -> Iterator[Event]:
    target = doc.get("target", item.source)
    for f in doc.get("files", []):
        meta = f.get("meta") or {}
        if "mtime" in meta:
            yield event(meta["mtime"], "Content modified", f"{meta.get('path', f['path'])} on {target}",
                        "collection", ref=f"evidence:{item.id}", action=f.get("artifact") or "",
                        detail={"sha256": f.get("sha256"), "collected_as": f["path"]})
    if doc.get("started_utc"):
        yield event(doc["started_utc"], "Collection started", f"collection from {target} ({doc.get('profile')})",
                    "collection", ref=f"evidence:{item.id}", detail={"status": doc.get("status")})


def _process(item: Evidence, doc: dict[str, Any]) -> Iterator[Event]:
    if doc.get("collected_at"):
        yield event(doc["collected_at"], "Process recorded", f"process {doc.get('pid')} {doc.get('name')} "
                    f"({doc.get('exe')}) on {doc.get('host')}", "process", ref=f"evidence:{item.id}",
                    detail={"cmdline": doc.get("cmdline"), "exe_sha256": doc.get("exe_sha256")})


NOTICE_DESC = {"sent": "Notice sent", "bounced": "Notice bounced", "moved_to_post": "Notice moved to post"}


def _notice_events(case: Case) -> Iterator[Event]:
    """One event per notice sent, bounced or moved to post, at the time the reply that settled it came."""
    for row in outbox.outcomes(case):
        if row.done_at:
            yield event(row.done_at, NOTICE_DESC[row.status], f"{row.audience} notice by {row.channel} to "
                        f"{row.recipient}: {row.status}", "notify", action=f"notify.{row.status}",
                        ref=f"notice:{row.id[:12]}", detail={"reply": row.reply, "attempts": row.attempts,
                                                            "message_id": row.message_id, "sha256": row.sha256})


def _process_starts(case: Case, file: records.File, include_privileged: bool) -> Iterator[Event]:
    """One event per process start recorded by a triage collection (``proc/processes.json`` in its archive)."""
    for item in case.evidence_items("collection"):
        if not include_privileged and item.id in file.privileged_evidence:
            continue
        try:
            with tarfile.open(item.path) as tar:
                member = next((m for m in tar if m.isfile() and m.name.endswith("/proc/processes.json")), None)
                data = tar.extractfile(member).read() if member else b"[]"  # type: ignore[union-attr]
            procs = json.loads(data)
        except (OSError, ValueError, tarfile.TarError):
            continue  # named by 'aftermath case verify'
        for p in procs:
            if p.get("start_utc"):
                yield event(p["start_utc"], "Process started", f"process {p.get('pid')} {p.get('comm')} "
                            f"({p.get('exe')}) on {item.source}", "process", ref=f"evidence:{item.id}",
                            detail={"cmdline": p.get("cmdline"), "ppid": p.get("ppid"), "uid": p.get("uid"),
                                    "exe_sha256": p.get("exe_sha256")})
