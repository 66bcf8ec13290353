"""The response acts of the demo: the breach is found, then secure, review, recover and notify.

Each act calls the same functions as the commands (``aftermath secure sweep``, ``review``,
``restore ...``, ``notify scope`` and ``notify plan``), so the demo shows what a user would get.
"""

from __future__ import annotations

import shutil
import sqlite3
import subprocess
from datetime import UTC, datetime, time
from pathlib import Path

from rich.console import Console
from rich.panel import Panel
from rich.table import Table

from aftermath.case import Case
from aftermath.demo import breach
from aftermath.demo.world import DAYS, World
from aftermath.notify import plan_report, planning
from aftermath.notify.discover import record as scope_record
from aftermath.notify.discover.run import scope
from aftermath.recover import workflow
from aftermath.recover.plan import Plan
from aftermath.restic import Repository, Snapshot
from aftermath.review import report as review_report
from aftermath.review import session as review_session
from aftermath.review.scanners import default_scanners
from aftermath.review.walk import run_review
from aftermath.secure.collect.run import collect
from aftermath.secure.contain import process
from aftermath.secure.contain.runner import LocalRunner
from aftermath.secure.hosts import parse_host
from aftermath.secure.sweep.run import sweep

COLOURS = {"clean": "green", "suspicious": "yellow", "infected": "red", "encrypted": "magenta"}


def _case(world: World) -> Case:
    return Case.open(world.case_dir)


def _repo(case: Case) -> Repository:
    cfg = case.config.repository
    return Repository.open(cfg.location(case.root), cfg.password(case.root))


def _day(world: World, when: datetime) -> int:
    return (when.date() - world.start).days


def count_customers(db: Path) -> int:
    """Rows in the customers table of a SQLite file."""
    con = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        return int(con.execute("SELECT count(*) FROM customers").fetchone()[0])
    finally:
        con.close()


def act_breach_found(world: World, console: Console) -> None:
    """The restored share holds a ransom note: this was not only a dead disk. Open the incident."""
    locked = sorted(world.share.rglob("*.locked"))
    # this morning at 08:00, or now when the demo runs earlier: a discovery in the future is refused
    found = min(datetime.combine(world.day_date(DAYS + 1), time(8, 0), tzinfo=UTC),
                datetime.now(UTC).replace(second=0, microsecond=0))
    console.print(Panel(f"Back at work, the office finds {breach.note_path(world).name} on the share and "
                        f"{len(locked)} files renamed *.locked. The backups were faithful: they kept the attack too.",
                        title="[bold red]Breach", border_style="red"))
    case = _case(world)
    case.open_incident("Ransomware on the office share; web shop suspected", found)
    case.write("note", "restored server holds ransom note and encrypted files; incident response started")
    world.facts["discovered"] = found
    console.print(f"Incident opened in the case, discovered {found:%Y-%m-%d %H:%M} UTC: every legal clock starts "
                  "here.")


def act_secure(world: World, console: Console) -> None:
    """Sweep this machine, collect evidence in order of volatility, then stop the attacker's process."""
    console.rule("[bold]Secure: sweep, collect, stop the attacker's process")
    case = _case(world)
    proc = _start_implant(world)
    try:
        with console.status("Sweeping this machine (processes, persistence, packages, web shells)…"):
            report = sweep([parse_host("local")], since_days=DAYS + 2, case=case, scan_roots=[str(world.web_root)])
        ours = [f for h in report.hosts for f in h.findings
                if f.evidence.get("pid") == proc.pid or str(f.evidence.get("path", "")).startswith(str(world.root))]
        table = Table("severity", "check", "what", title="Sweep of this machine: signs planted by the demo")
        for f in ours:
            table.add_row(str(f.severity), f.check, f.what)
        console.print(table)
        others = sum(len(h.findings) for h in report.hosts) - len(ours)
        console.print(f"Score {report.ranking[0].score} ({report.ranking[0].verdict}); {others} other findings on this "
                      "machine are not the demo's (see 'aftermath secure sweep').")
        world.facts["sweep_signs"] = sorted({f.check for f in ours})
        with console.status("Collecting evidence from this machine, most volatile first…"):
            results = collect([parse_host("local")], world.root / "collection", profile="quick", case=case)
        for r in results:
            console.print(f"Collected {r.files} artifacts from {r.host} ({r.status}); manifest SHA-256 "
                          f"{(r.manifest_sha256 or '')[:16]}… is in the journal (chain of custody).")
        world.facts["collection"] = [r.status for r in results]
        killed = process.kill(case, LocalRunner(), [proc.pid])
        console.print(f"Killed process {proc.pid} after copying its deleted program into evidence "
                      f"(evidence {killed[0][1]}, sha256 {(killed[0][0].exe_sha256 or '')[:16]}…).")
        world.facts["killed_evidence"] = killed[0][1]
    finally:
        proc.kill()
        proc.wait()


def _start_implant(world: World) -> subprocess.Popen[bytes]:
    """The attacker's miner: a program started from a hidden file that was then deleted."""
    exe = world.server / "tmp" / ".kworker-update"
    exe.parent.mkdir(parents=True, exist_ok=True)
    shutil.copy("/bin/sleep", exe)
    proc = subprocess.Popen([str(exe), "900"])
    exe.unlink()
    return proc


def act_review(world: World, console: Console) -> None:
    """Review every snapshot before restoring anything: when did the attacker arrive?"""
    console.rule("[bold]Review: scan every snapshot before restoring")
    case = _case(world)
    repo = _repo(case)
    result = run_review(repo, default_scanners(), location=case.config.repository.location(case.root))
    review_session.record(case, result)
    path = world.root / "review.json"
    path.write_text(review_report.to_json_text(result), encoding="utf-8")
    (world.root / "review.html").write_text(review_report.to_html(result), encoding="utf-8")
    table = Table("day", "snapshot", "source", "verdict", "findings", title="Timeline of the backups")
    for s in result.snapshots:
        colour = COLOURS[s.verdict]
        source = "customers" if any(p.endswith(".sqlite") or "customers" in p for p in s.paths) else "files"
        table.add_row(str(_day(world, s.time)), s.id[:8], source, f"[{colour}]{s.verdict}[/]", str(len(s.findings)))
    console.print(table)
    firsts: dict[str, str] = {}
    for o in result.findings:
        firsts.setdefault(f"{o.finding.severity}: {o.finding.rule}", o.first_seen)
    by_id = {s.id: s for s in repo.snapshots()}
    for what, first in sorted(firsts.items(), key=lambda kv: by_id[kv[1]].time):
        console.print(f"  first seen on day {_day(world, by_id[first].time)}: {what}")
    clean = by_id.get(result.last_clean or "")
    console.print(f"{result.stats.files_total} files, {result.stats.distinct_contents} distinct contents scanned once, "
                  f"{result.stats.seconds:.1f} s. Last clean restore point: "
                  + (f"[bold green]day {_day(world, clean.time)}[/] ({clean.id[:8]}), the night before the web shell "
                     "arrived" if clean else "[red]none[/]"))
    world.facts["review_path"] = path
    world.facts["last_clean_day"] = _day(world, clean.time) if clean else None
    order = ["clean", "suspicious", "infected", "encrypted"]
    worst: dict[int, str] = {}
    for s in result.snapshots:
        day = _day(world, s.time)
        worst[day] = max(worst.get(day, "clean"), s.verdict, key=order.index)
    world.facts["verdicts"] = worst


def act_recover(world: World, console: Console) -> None:
    """Surgical restore: every clean version before the encryption, without the attacker's files."""
    console.rule("[bold]Recover: a surgical restore into staging, verified, then promoted")
    case = _case(world)
    repo = _repo(case)
    location = case.config.repository.location(case.root)
    review_path = world.facts["review_path"]
    plan = workflow.make_plan(case, repo, location, "surgical", review_path)
    baseline = workflow.make_plan(case, repo, location, "last-clean", review_path)
    plan_path = world.root / "restore-plan.json"
    plan_path.write_bytes(workflow.plan_bytes(plan))
    _show_plan(plan, console)
    workflow.approve(case, plan_path, "demo: approved by the IT lead")
    staging = world.root / "staging"
    result = workflow.apply(case, repo, plan_path, staging)
    checks = workflow.verify(case, repo, plan_path, staging, *workflow.default_checks(case))
    console.print(f"Applied: {result.written} files into staging, {len(result.evidence)} held-back files kept as "
                  f"evidence. Verified: [{'green' if checks.ok else 'red'}]{'yes' if checks.ok else 'NO'}[/] "
                  f"({checks.checked} files re-hashed against the repository, tree rescanned, "
                  f"{len(checks.databases)} database checked against its manifest).")
    world.facts["restore_verified"] = checks.ok
    if not checks.ok:
        for problem in checks.problems[:10]:
            console.print(f"  [red]{problem}[/]")
        return
    _promote_all(world, case, plan, staging, console)
    _compare(world, plan, baseline, console)


def _show_plan(plan: Plan, console: Console) -> None:
    groups: dict[tuple[str, str, str], int] = {}
    for e in (e for e in plan.entries if e.action != "restore" and e.type == "file"):
        where = e.path.split("/server/", 1)[-1]
        key = (e.action, where if e.action == "hold" else where.rsplit("/", 1)[0] + "/", e.reason.split(":")[0])
        groups[key] = groups.get(key, 0) + 1
    table = Table("action", "files", "where", "why", title="Surgical plan: what is held back or left to a person")
    for (action, where, why), n in sorted(groups.items()):
        table.add_row(action, str(n), where, why)
    console.print(table)
    totals = plan.totals()
    console.print(f"Restore {totals['restore']['files']} files, hold back {totals['hold']['files']}, "
                  f"leave {totals['decide']['files']} to decide.")


def _promote_all(world: World, case: Case, plan: Plan, staging: Path, console: Console) -> None:
    db_entry = next(e for e in plan.entries if e.path.endswith(".sqlite"))
    moves = [(staging / str(world.srv).lstrip("/"), world.srv), (staging / db_entry.path.lstrip("/"), world.db_path)]
    for source, target in moves:
        done = workflow.promote(case, source, target)
        console.print(f"Promoted {target} (the broken one is kept at {done.kept_old.name if done.kept_old else '-'}).")
    locked = list(world.share.rglob("*.locked"))
    shell = breach.shell_path(world).exists()
    note = breach.note_path(world).exists()
    world.facts["after"] = {"web_shell": shell, "locked_files": len(locked), "ransom_note": note,
                            "customers": count_customers(world.db_path)}
    ok = not shell and not locked and not note
    console.print(("[bold green]" if ok else "[bold red]") + f"Web shell present: {shell}; encrypted files: "
                  f"{len(locked)}; ransom note: {note}.[/]")


def _compare(world: World, plan: Plan, baseline: Plan, console: Console) -> None:
    repo_days = world.facts.get("customers_by_day", {})
    db_day = _plan_day(world, plan, ".sqlite")
    base_day = _plan_day(world, baseline, ".sqlite")
    older = {e.path: e.identity for e in baseline.entries if e.action == "restore" and e.type == "file"}
    restored = [e for e in plan.entries if e.action == "restore" and e.type == "file"]
    newer = sum(1 for e in restored if older.get(e.path) != e.identity)
    decide = plan.totals()["decide"]["files"]
    world.facts["surgical_vs_last_clean"] = {"newer_files": newer, "decide": decide, "db_day": (db_day, base_day),
                                            "customers": (repo_days.get(db_day), repo_days.get(base_day))}
    console.print(f"Compared with restoring the last clean snapshots: {newer} file(s) come back in a newer clean "
                  f"version, {decide} new files are listed for a person instead of lost, and the customer database "
                  f"is from day {db_day} instead of day {base_day} ({db_day - base_day} days of work kept, "
                  f"{repo_days.get(db_day)} customers instead of {repo_days.get(base_day)}).")


def _plan_day(world: World, plan: Plan, suffix: str) -> int:
    entry = next(e for e in plan.entries if e.path.endswith(suffix))
    return _day(world, datetime.fromisoformat(entry.time or ""))


def act_notify(world: World, console: Console) -> None:
    """Who was in the stolen dump, with which data, and every legal duty with its deadline."""
    console.rule("[bold]Notify: who was affected, and every legal duty")
    case = _case(world)
    repo = _repo(case)
    snap = _snapshot_with(repo, str(breach.dump_path(world)))
    cfg = case.config.repository
    files = scope_record.open_snapshot(cfg.location(case.root), cfg.password(case.root), snap.id)
    result = scope([str(breach.dump_path(world))], files, snapshot=snap.id, workers=1)
    people, report = world.root / "people.csv", world.root / "scope.html"
    texts = scope_record.render(result, report, None)
    scope_record.write_all({people: texts["people"], report: texts["report"]})
    scope_record.journal(case, result, texts)
    console.print(f"The attacker's dump (in snapshot {snap.id[:8]}) holds {len(result.people)} people: "
                  + ", ".join(f"{k} {v}" for k, v in result.element_counts().items()))
    discovered = world.facts["discovered"].strftime("%Y-%m-%dT%H:%M")
    run = planning.make_plan(people, discovered)
    html = plan_report.render_html(run.to_json())
    (world.root / "notify-plan.html").write_text(html, encoding="utf-8")
    planning.record(case, run, html)
    _show_duties(run.to_json(), console)
    world.facts["people"] = len(result.people)
    world.facts["duties"] = len(run.plan.obligations)


def _snapshot_with(repo: Repository, path: str) -> Snapshot:
    """The newest snapshot that still holds ``path`` (the data as it was when it was stolen)."""
    for snap in reversed(repo.snapshots()):
        if any(p == path for p, _ in repo.walk(snap.tree)):
            return snap
    raise LookupError(path)


def _show_duties(data: dict[str, object], console: Console) -> None:
    obligations = data["obligations"]
    assert isinstance(obligations, list)
    table = Table("deadline", "jurisdiction", "to", "people", title="Duties by deadline (first 15)")
    for o in obligations[:15]:
        table.add_row(o["deadline"] or "asap", o["jurisdiction"], o["audience"], str(o["people"]))
    console.print(table)
    not_covered = data.get("not_covered") or []
    assert isinstance(not_covered, list)
    console.print(f"{len(obligations)} duties; {sum(n['people'] for n in not_covered)} people not covered where "
                  "they live (no notice due there). Full calendar and map: notify-plan.html. This supports, and "
                  "does not replace, counsel.")
