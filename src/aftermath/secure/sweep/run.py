"""The compromise sweep: run the probe on each host at once, apply every check, rank the hosts.

The probe's facts and the files it sent for scanning land in a temporary folder on the responder's
machine; the checks then run here, pure over those facts. With a case, the report is kept as a
document and each host's outcome is a ``secure.sweep`` journal entry.
"""

from __future__ import annotations

import asyncio
import json
import shutil
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from aftermath.errors import AftermathError, UsageError
from aftermath.secure.collect import artifacts as catalogue_mod
from aftermath.secure.collect.receiver import Event, ProtocolError, Receiver
from aftermath.secure.hosts import Host, SshOptions, Unreachable, all_unreachable, run_agent
from aftermath.secure.sweep import indicators
from aftermath.secure.sweep.check import Check
from aftermath.secure.sweep.checks import CHECKS
from aftermath.secure.sweep.model import Finding, HostFacts, Iocs, Severity
from aftermath.secure.sweep.scoring import HostScore, rank

if TYPE_CHECKING:
    from aftermath.case import Case

Progress = Callable[[Host, Event], None]


@dataclass
class HostSweep:
    """One host's sweep: findings, which checks ran, which did not apply or failed, and any error."""

    host: str
    findings: list[Finding] = field(default_factory=list)
    ran: list[str] = field(default_factory=list)
    not_applicable: list[str] = field(default_factory=list)
    failed: dict[str, str] = field(default_factory=dict)
    error: str | None = None
    unreachable: bool = False

    @property
    def complete(self) -> bool:
        """Whether every check could run (or knew it did not apply)."""
        return self.error is None and not self.failed


@dataclass
class SweepReport:
    """All hosts, ranked."""

    hosts: list[HostSweep]
    ranking: list[HostScore]
    started_utc: str
    since_days: float
    window_start_utc: str = ""

    @property
    def worst(self) -> Severity | None:
        """The worst severity found anywhere."""
        return max((f.severity for h in self.hosts for f in h.findings), default=None)

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready report for scripts."""
        return {
            "started_utc": self.started_utc, "since_days": self.since_days,
            "window_start_utc": self.window_start_utc,
            "ranking": [{"host": s.host, "score": s.score, "verdict": s.verdict, "findings": s.findings,
                         "worst": str(s.worst) if s.worst is not None else None, "complete": s.complete}
                        for s in self.ranking],
            "hosts": [{"host": h.host, "error": h.error, "checks_ran": h.ran, "checks_not_applicable": h.not_applicable,
                       "checks_failed": h.failed, "findings": [f.to_json() for f in h.findings]} for h in self.hosts],
        }


def apply_checks(facts: HostFacts, checks: list[Check] = CHECKS) -> HostSweep:
    """Run every check over one host's facts (pure apart from the checks themselves)."""
    result = HostSweep(facts.host)
    for check in checks:
        try:
            if not check.applies_to(facts):
                result.not_applicable.append(check.name)
                continue
            result.findings.extend(check.run(facts))
            result.ran.append(check.name)
        except (KeyError, TypeError, ValueError) as exc:  # bad or missing facts: report, go on
            result.failed[check.name] = f"{type(exc).__name__}: {exc}"
    result.findings.sort(key=lambda f: -f.severity)
    return result


def probe_params(since_days: float, now: float, exclude: list[str], scan_roots: list[str] | None = None
                 ) -> dict[str, Any]:
    """The agent's parameters for the sweep's probe."""
    cat = catalogue_mod.load()
    keys = cat.by_name("authorized_keys").paths or []
    persistence = {"cron": cat.by_name("cron").paths, "systemd": cat.by_name("systemd").paths,
                   "shell_profile": cat.by_name("shell_profiles").paths,
                   "authorized_keys": [p for p in keys if "authorized_keys" in p],
                   "ssh_config": [p for p in keys if "authorized_keys" not in p],
                   "init": cat.by_name("init_scripts").paths, "pam": cat.by_name("pam").paths,
                   "python_hook": cat.by_name("python_hooks").paths}
    return {"mode": "facts", "since": now - since_days * 86400, "exclude": exclude,
            "suid_roots": cat.walk.suid_roots, "persistence": persistence,
            "scan_roots": list(scan_roots or []) + cat.walk.web_roots + cat.walk.temp_roots,
            "temp_roots": cat.walk.temp_roots, "history": cat.by_name("shell_history").paths}


def sweep(hosts: list[Host], *, since_days: float = 14, rules: list[Path] | None = None,
          ioc_files: list[Path] | None = None, options: SshOptions | None = None, case: Case | None = None,
          progress: Progress | None = None, clock: Callable[[], float] = time.time,
          scan_roots: list[str] | None = None) -> SweepReport:
    """Sweep every host concurrently; return the ranked report.

    ``scan_roots`` are folders scanned for web shells before the usual web roots and temp folders
    (a web application installed somewhere unusual).
    """
    if not hosts:
        raise UsageError("no hosts: give --host USER@HOST (or --host local)")
    if since_days <= 0:
        raise UsageError("--since must be a positive number of days")
    compiled = indicators.compile_rules(indicators.rule_files(rules or []))
    iocs = indicators.load_iocs(ioc_files or [])
    started = clock()
    jobs = [_one(h, since_days, compiled, iocs, options or SshOptions(), progress, started, scan_roots or [])
            for h in hosts]
    results = asyncio.run(_gather(jobs))
    all_unreachable(results)
    if case:
        case.write("secure.sweep.start", ", ".join(map(str, hosts)), {"since_days": since_days,
                                                                       "ioc_files": [str(p) for p in ioc_files or []]})
    report = SweepReport(results, rank({r.host: r.findings for r in results},
                                       [r.host for r in results if not r.complete]),
                         _iso(started), since_days, _iso(started - since_days * 86400))
    if case:
        _journal(case, report)
    return report


async def _gather(jobs: list[Any]) -> list[HostSweep]:
    return list(await asyncio.gather(*jobs))


async def _one(host: Host, since_days: float, rules: Any, iocs: Iocs, options: SshOptions,
               progress: Progress | None, started: float, scan_roots: list[str]) -> HostSweep:
    folder = Path(tempfile.mkdtemp(prefix="aftermath-sweep-"))
    try:
        receiver = Receiver(folder, (lambda e: progress(host, e)) if progress else None)
        params = {**probe_params(since_days, started, [str(folder)] if host.local else [], scan_roots),
                  "marker": receiver.marker}
        try:
            async for chunk in run_agent(host, catalogue_mod.agent_script(params), options):
                receiver.feed(chunk)
        except Unreachable as exc:
            return _failed(host, exc.message, progress, unreachable=True)
        except (AftermathError, ProtocolError) as exc:
            return _failed(host, getattr(exc, "message", None) or str(exc), progress)
        received = receiver.close()
        if not received.done or not (folder / "facts.json").is_file():
            return _failed(host, "the probe stopped before it finished", progress)
        facts = json.loads((folder / "facts.json").read_text(encoding="utf-8"))
        facts["channel"] = received.channel()
        facts["window_start"] = started - since_days * 86400  # from the command's start, not the probe's
        matches = tuple(await asyncio.to_thread(indicators.scan_folder, rules, folder))
        result = apply_checks(HostFacts(str(host), facts, since_days, iocs, matches))
        if progress:
            progress(host, {"t": "finished", "status": "complete" if result.complete else "partial"})
        return result
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def _iso(epoch: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(epoch))


def _failed(host: Host, error: str, progress: Progress | None, *, unreachable: bool = False) -> HostSweep:
    if progress:
        progress(host, {"t": "finished", "status": "failed", "error": error})
    return HostSweep(str(host), error=error, unreachable=unreachable)



def _journal(case: Case, report: SweepReport) -> None:
    doc = case.save_document("sweep-report", f"sweep-{report.started_utc.replace(':', '')}.json",
                             json.dumps(report.to_json(), indent=1).encode(), source="aftermath secure sweep",
                             description="compromise sweep report (ranked hosts and findings)")
    scores = {s.host: s for s in report.ranking}
    for host in report.hosts:
        counts: dict[str, int] = {}
        for f in host.findings:
            counts[str(f.severity)] = counts.get(str(f.severity), 0) + 1
        score = scores[host.host]
        case.write("secure.sweep", host.host, {"score": score.score, "verdict": score.verdict, "findings": counts,
                                               "error": host.error, "checks_failed": host.failed,
                                               "checks_not_applicable": host.not_applicable, "report_id": doc.id})
