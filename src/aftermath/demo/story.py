"""The demo as a story: a list of acts, each ``act(world, console)``, played in order.

Act one: a small business protects its data for two weeks, its server dies, and it comes back
from the backups, verified. Unseen, an attacker was inside (demo/breach.py): the restored share holds a
ransom note. The response follows (demo/response.py): secure the machine, review every snapshot,
restore surgically, and work out who must be notified, by when.
"""

from __future__ import annotations

import shutil
import time
from collections.abc import Callable, Sequence

from rich.console import Console
from rich.panel import Panel
from rich.table import Table

from aftermath.case import Case
from aftermath.demo import breach, business
from aftermath.demo.world import DAYS, World
from aftermath.protect import backup, drill, records, recovery

Act = Callable[[World, Console], None]


def _case(world: World) -> Case:
    return Case.open(world.case_dir)


def act_business(world: World, console: Console) -> None:
    """Build the business and set up protection: case, sources, repository."""
    console.rule("[bold]Act 1 - Riverside Supply Co. protects its data")
    business.build(world)
    case = Case.init(world.case_dir)
    backup.add_source(case, "customers", sqlite=world.db_path)
    backup.add_source(case, "files", path=world.srv)
    backup.init_repository(case)
    console.print(f"A small business with [bold]{business.INITIAL_CUSTOMERS}[/] customers (names, US addresses, "
                  "card numbers, bank accounts, some SSNs), an office share and a web shop, on one server:\n"
                  f"  database  {world.db_path}\n  share     {world.share}\n  web root  {world.web_root}\n"
                  f"Aftermath case in {world.case_dir}; nightly backups go to a restic repository there.")


def act_two_weeks(world: World, console: Console) -> None:
    """Fourteen business days, each ending with a nightly backup (restic --time set to that night)."""
    case = _case(world)
    table = Table("day", "date", "customers", "invoices", "snapshots", "added", title="Two weeks of nightly backups")
    for day in range(1, DAYS + 1):
        when = world.day_date(day)
        business.churn(world, when)
        for event in world.events.get(day, []):
            event(world, when)
        report = backup.run(case, world.backup_time(day))
        if report.failed:
            raise report.failed[0][1]
        counts = _counts(world)
        added = _size(sum(t.result.added for t in report.taken))
        table.add_row(str(day), when.isoformat(), str(counts[0]), str(counts[1]),
                      " ".join(t.snapshot_id[:8] for t in report.taken), added)
    console.print(table)
    world.facts["snapshots"] = {s: sum(1 for r in records.snapshots(case) if r.source == s)
                                for s in ("customers", "files")}
    world.facts["day14_fingerprint"] = business.fingerprint(world)
    world.facts["day14_customers"] = _counts(world)[0]


def act_server_dies(world: World, console: Console) -> None:
    """The morning after day 14 the server's disk dies: all live data is gone."""
    for folder in world.live_dirs:
        shutil.rmtree(folder, ignore_errors=True)
    console.print(Panel(f"The morning after day {DAYS}, the server's disk fails. The database, the share and the "
                        "web shop are gone.", title="[bold red]Disaster", border_style="red"))


def act_restore(world: World, console: Console) -> None:
    """Restore every source from its newest snapshot to where it lived."""
    case = _case(world)
    started = time.monotonic()
    for name in ("customers", "files"):
        snap, target = recovery.restore_latest(case, name)
        console.print(f"Restored [bold]{name}[/] from snapshot {snap[:8]} to {target}")
    world.facts["restored_fingerprint"] = business.fingerprint(world)
    same = world.facts["restored_fingerprint"] == world.facts.get("day14_fingerprint")
    console.print(f"Back in {time.monotonic() - started:.1f} s. Restored data identical to the end of day {DAYS}: "
                  + ("[bold green]yes[/]" if same else "[bold red]NO[/]"))


def act_drill(world: World, console: Console) -> None:
    """Prove the backups: restore into scratch and compare with every manifest."""
    from aftermath.cli.protect import drill_table  # the same table 'aftermath protect drill' prints

    outcomes = drill.drill(_case(world))
    console.print(drill_table(outcomes))
    world.facts["drill_ok"] = all(o.ok for o in outcomes)
    verdict = "[bold green]every table and file count matches[/]" if world.facts["drill_ok"] else \
        "[bold red]the drill found differences[/]"
    console.print(f"Restore drill: {verdict}. The result is in the case journal.")


def act_attacker(world: World, console: Console) -> None:
    """Unseen by the business: the attacker's moves are scheduled into the two weeks (revealed later)."""
    breach.plant(world)


def _response_acts() -> list[Act]:
    from aftermath.demo import response
    from aftermath.demo.consult import act_consult
    from aftermath.demo.dashboard import act_dashboard
    from aftermath.demo.notices import act_letters

    return [response.act_breach_found, response.act_secure, response.act_review, response.act_recover,
            response.act_notify, act_letters, act_consult, act_dashboard]


ACTS: list[Act] = [act_business, act_attacker, act_two_weeks, act_server_dies, act_restore, act_drill,
                   *_response_acts()]


def play(world: World, console: Console, acts: Sequence[Act] = ACTS) -> World:
    """Play the acts in order; the world carries what each learned."""
    for act in acts:
        act(world, console)
    return world


def _counts(world: World) -> tuple[int, int]:
    import sqlite3

    con = sqlite3.connect(f"file:{world.db_path}?mode=ro", uri=True)
    try:
        (customers,) = con.execute("SELECT count(*) FROM customers").fetchone()
        (invoices,) = con.execute("SELECT count(*) FROM invoices").fetchone()
        return int(customers), int(invoices)
    finally:
        con.close()


def _size(n: int) -> str:
    return f"{n / 1024:.0f} KiB" if n < 1 << 20 else f"{n / (1 << 20):.1f} MiB"
