"""Triage collection over one or many hosts at once, each into its own folder with a manifest.

Per host: run the agent, receive its files (hashed on arrival), write ``manifest.json`` (SHA-256 of every
file, collector version, time and clock offset, host identity, the source of each artifact), then seal
the folder as ``<label>.tar``. With a case, the manifest is copied into the case as evidence, the tar is
registered in place (copy=False) and one ``secure.collect`` journal entry records the outcome.
A host that fails is reported and the others go on.
"""

from __future__ import annotations

import asyncio
import json
import shutil
import tarfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from aftermath import __version__
from aftermath.case import hash_file
from aftermath.errors import AftermathError, SourceError, StorageError, UsageError
from aftermath.secure.collect import artifacts as catalogue_mod
from aftermath.secure.collect.receiver import Event, ProtocolError, Received, Receiver
from aftermath.secure.hosts import Host, SshOptions, Unreachable, all_unreachable, run_agent

if TYPE_CHECKING:
    from aftermath.case import Case

Progress = Callable[[Host, Event], None]


@dataclass
class HostCollection:
    """The outcome for one host."""

    host: Host
    folder: Path
    status: str  # complete | partial | failed
    error: str | None = None
    manifest_sha256: str | None = None
    archive: Path | None = None
    files: int = 0
    artifacts: dict[str, int] = field(default_factory=dict)  # status -> count
    missing: list[str] = field(default_factory=list)
    unreachable: bool = False

    def line(self) -> str:
        """One line for people."""
        counts = ", ".join(f"{n} {s}" for s, n in sorted(self.artifacts.items()))
        tail = f": {self.error}" if self.error else ""
        return f"{self.host}: {self.status}, {self.files} files ({counts or 'no artifacts'}){tail}"


def agent_params(cat: catalogue_mod.Catalogue, profile: str, since_days: float, now: float,
                 exclude: list[str]) -> dict[str, Any]:
    """The agent's parameters for a collection."""
    chosen = cat.select(profile)
    return {"mode": "collect", "profile": profile, "since": now - since_days * 86400, "exclude": exclude,
            "suid_roots": cat.walk.suid_roots, "recent_roots": cat.walk.recent_roots,
            "temp_roots": cat.walk.temp_roots,
            "artifacts": [a.model_dump(exclude_none=True) for a in chosen]}


def collect(hosts: list[Host], out: Path, *, profile: str = "quick", since_days: float = 14,
            options: SshOptions | None = None, case: Case | None = None, progress: Progress | None = None,
            clock: Callable[[], float] = time.time) -> list[HostCollection]:
    """Collect from every host concurrently into ``out/<label>/``; return one outcome per host."""
    if not hosts:
        raise UsageError("no hosts: give --host USER@HOST (or --host local)")
    cat = catalogue_mod.load()
    folders = {h: out / h.label for h in hosts}
    for folder in folders.values():
        if folder.exists() and any(folder.iterdir()):
            raise UsageError(f"{folder} already holds a collection: choose another --out")
    out_existed = out.exists()
    try:
        for folder in folders.values():
            folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise StorageError(f"cannot create {out}: {exc.strerror}") from exc
    results = asyncio.run(_all(hosts, folders, cat, profile, since_days, options or SshOptions(), progress, clock))
    try:
        all_unreachable(results)
    except SourceError:
        _remove(results, out if not out_existed else None)  # nothing was collected: leave nothing behind
        raise
    if case:
        case.write("secure.collect.start", ", ".join(map(str, hosts)), {"profile": profile, "out": str(out.resolve()),
                                                                         "since_days": since_days})
    for result in results:
        _custody(result, case)
    return results


async def _all(hosts: list[Host], folders: dict[Host, Path], cat: catalogue_mod.Catalogue, profile: str,
               since_days: float, options: SshOptions, progress: Progress | None,
               clock: Callable[[], float]) -> list[HostCollection]:
    jobs = [_one(h, folders[h], cat, profile, since_days, options, progress, clock) for h in hosts]
    return list(await asyncio.gather(*jobs))


async def _one(host: Host, folder: Path, cat: catalogue_mod.Catalogue, profile: str, since_days: float,
               options: SshOptions, progress: Progress | None, clock: Callable[[], float]) -> HostCollection:
    started = clock()
    exclude = [str(folder.parent.resolve())] if host.local else []
    receiver = Receiver(folder, (lambda e: progress(host, e)) if progress else None, clock)
    params = {**agent_params(cat, profile, since_days, started, exclude), "marker": receiver.marker}
    error: str | None = None
    unreachable = False
    try:
        async for chunk in run_agent(host, catalogue_mod.agent_script(params), options):
            receiver.feed(chunk)
    except Unreachable as exc:
        error, unreachable = exc.message, True
    except (AftermathError, ProtocolError) as exc:
        error = getattr(exc, "message", None) or str(exc)
    except OSError as exc:
        error = f"{exc.strerror or exc}"
    received = receiver.close()
    finished = clock()
    wanted = [a.name for a in cat.select(profile)]
    manifest = build_manifest(host, received, cat, wanted, profile, started, finished, error)
    result = _result(host, folder, received, wanted, error, manifest["status"])
    result.unreachable = unreachable
    path = folder / "manifest.json"
    path.write_text(json.dumps(manifest, indent=1, default=str) + "\n", encoding="utf-8")
    result.manifest_sha256 = hash_file(path)[0]
    result.archive = seal(folder)
    if progress:
        progress(host, {"t": "finished", "status": result.status, "error": error})
    return result


def build_manifest(host: Host, received: Received, cat: catalogue_mod.Catalogue, wanted: list[str], profile: str,
                   started: float, finished: float, error: str | None) -> dict[str, Any]:
    """The manifest of one host's collection (pure: everything comes in as arguments)."""
    hello = received.hello or {}
    host_clock = hello.get("clock", {})
    offset = None
    if received.hello_at is not None and "epoch" in host_clock:
        offset = round(float(host_clock["epoch"]) - received.hello_at, 3)
    missing = [n for n in wanted if n not in received.artifacts]
    failed = [n for n, a in received.artifacts.items() if a.get("status") == "failed"]
    status = "failed" if error and not received.files else "partial" if error or missing or failed \
        or received.errors or not received.done else "complete"
    return {
        "collector": {"name": "aftermath secure collect", "version": __version__,
                      "agent_version": hello.get("version")},
        "target": str(host), "profile": profile, "status": status, "error": error,
        "started_utc": _iso(started), "finished_utc": _iso(finished),
        "host": {**hello.get("host", {}), "agent_uid": hello.get("uid")},
        "clock": {"host": host_clock, "offset_seconds_host_minus_responder": offset},
        "artifacts": [{"name": n, "order": cat.by_name(n).order, "volatility": cat.by_name(n).volatility,
                       "kind": cat.by_name(n).kind, "source": cat.by_name(n).source, "why": cat.by_name(n).why,
                       "status": received.artifacts.get(n, {}).get("status", "missing"),
                       "note": received.artifacts.get(n, {}).get("note")} for n in wanted],
        "files": received.files, "notes": [n.get("msg") for n in received.notes], "transfer_errors": received.errors,
        "channel": received.channel(),
    }


def _result(host: Host, folder: Path, received: Received, wanted: list[str], error: str | None,
            status: str) -> HostCollection:
    counts: dict[str, int] = {}
    for name in wanted:
        state = received.artifacts.get(name, {}).get("status", "missing")
        counts[state] = counts.get(state, 0) + 1
    missing = [n for n in wanted if n not in received.artifacts]
    return HostCollection(host, folder, status, error, files=len(received.files), artifacts=counts, missing=missing)


def seal(folder: Path) -> Path:
    """Pack a host's folder into ``<folder>.tar`` (sorted, so the same files give the same order)."""
    archive = folder.with_name(folder.name + ".tar")
    with tarfile.open(archive, "w", format=tarfile.PAX_FORMAT) as tar:
        for path in sorted(p for p in folder.rglob("*") if p.is_file()):
            tar.add(path, arcname=f"{folder.name}/{path.relative_to(folder).as_posix()}", recursive=False)
    archive.chmod(0o440)
    return archive


def _remove(results: list[HostCollection], out: Path | None) -> None:
    """Remove the folders and archives of a collection that reached no host (and ``out`` when it made it)."""
    for result in results:
        shutil.rmtree(result.folder, ignore_errors=True)
        if result.archive:
            result.archive.unlink(missing_ok=True)
    if out is not None:
        shutil.rmtree(out, ignore_errors=True)


def _custody(result: HostCollection, case: Case | None) -> None:
    if case is None:
        return
    manifest = result.folder / "manifest.json"
    source = str(result.host)
    item = case.register_evidence(manifest, source=source, kind="collection-manifest",
                                  description=f"manifest of the {result.status} collection from {source}")
    if result.archive:
        case.register_evidence(result.archive, source=source, kind="collection", copy=False,
                               description=f"collection archive of {source} (files listed in manifest {item.id})")
    case.write("secure.collect", source, {"status": result.status, "error": result.error, "files": result.files,
                                          "artifacts": result.artifacts, "manifest_sha256": result.manifest_sha256,
                                          "folder": str(result.folder.resolve()), "evidence_id": item.id})


def _iso(epoch: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(epoch))
