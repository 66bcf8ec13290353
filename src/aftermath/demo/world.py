"""The demo's world: where every folder of the synthetic business and its case lives, and what happened.

Later acts (a web shell on day 6, ransomware on day 13, review, restore, notify, secure) plug into
the same ``World``: day events go into ``events``, facts the story learns go into ``facts``.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any

from faker import Faker

DayEvent = Callable[["World", date], None]
DAYS = 14


@dataclass
class World:
    """All paths of the demo and the state shared between its acts."""

    root: Path
    seed: int = 2024
    start: date = field(default_factory=lambda: datetime.now(UTC).date() - timedelta(days=DAYS + 1))
    events: dict[int, list[DayEvent]] = field(default_factory=dict)
    facts: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.fake = Faker("en_US")
        self.fake.seed_instance(self.seed)
        self.rng = random.Random(self.seed)  # noqa: S311 - synthetic data, not security

    # -- paths -------------------------------------------------------------------------
    @property
    def case_dir(self) -> Path:
        """The Aftermath case (its restic repository is case_dir/backups)."""
        return self.root / "case"

    @property
    def server(self) -> Path:
        """The business's one server: everything below is 'live data'."""
        return self.root / "server"

    @property
    def srv(self) -> Path:
        """The folder backed up as the 'files' source: the share and the web root."""
        return self.server / "srv"

    @property
    def share(self) -> Path:
        """The office file share: invoices and CSV exports."""
        return self.srv / "share"

    @property
    def web_root(self) -> Path:
        """The small web application's files."""
        return self.srv / "www"

    @property
    def db_path(self) -> Path:
        """The customer database (SQLite), backed up as the 'customers' source."""
        return self.server / "var" / "db" / "customers.db"

    @property
    def live_dirs(self) -> list[Path]:
        """Folders that hold live data (what a dead server loses)."""
        return [self.srv, self.db_path.parent]

    # -- days --------------------------------------------------------------------------
    def day_date(self, day: int) -> date:
        """The calendar date of simulated day ``day`` (1..14); day 14 is yesterday."""
        return self.start + timedelta(days=day)

    def backup_time(self, day: int) -> datetime:
        """When the nightly backup of ``day`` runs (23:00 UTC)."""
        return datetime.combine(self.day_date(day), time(23, 0), tzinfo=UTC)

    def add_event(self, day: int, event: DayEvent) -> None:
        """Schedule something to happen on ``day`` before that night's backup."""
        self.events.setdefault(day, []).append(event)
