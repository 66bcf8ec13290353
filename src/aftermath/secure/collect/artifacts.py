"""The artifact catalogue (``artifacts.toml``): loading, validation, choice by profile, and the agent script.

Artifacts are data: adding one is adding an entry to the TOML file. This module checks each entry
(a command is an argument list, globs for files, a known walker) and builds the self-contained
script that is sent to a host.
"""

from __future__ import annotations

import json
import tomllib
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, ValidationError, model_validator

from aftermath.errors import UsageError

CATALOGUE = Path(__file__).with_name("artifacts.toml")
AGENT = Path(__file__).with_name("agent.py")
PROBE = Path(__file__).parents[1] / "sweep" / "probe.py"
WALKERS = {"clock", "sockets", "processes", "recover_exe", "modules", "accounts", "suid", "recent"}
PROFILES = ("quick", "full")
MARKER = 'PARAMS_JSON = "{}"'


class Artifact(BaseModel):
    """One artifact: what to collect, how, when in the order, and why it matters."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str
    order: int
    volatility: str
    profile: Literal["quick", "full"]
    kind: Literal["command", "files", "walker"]
    why: str
    command: list[str] | None = None
    paths: list[str] | None = None
    walker: str | None = None
    recent: bool = False
    max_size: int | None = None
    max_total: int | None = None
    max_files: int | None = None
    timeout: float | None = None

    @model_validator(mode="after")
    def _fits_kind(self) -> Artifact:
        needed = {"command": self.command, "files": self.paths, "walker": self.walker}[self.kind]
        if not needed:
            raise ValueError(f"kind {self.kind!r} needs its field ({'paths' if self.kind == 'files' else self.kind})")
        if self.kind == "walker" and self.walker not in WALKERS:
            raise ValueError(f"unknown walker {self.walker!r}: one of {', '.join(sorted(WALKERS))}")
        return self

    @property
    def source(self) -> str:
        """The command, paths or walker, as one readable line for the manifest."""
        if self.command:
            return " ".join(self.command)
        return ", ".join(self.paths) if self.paths else f"walker {self.walker}"


class WalkRoots(BaseModel):
    """Folders the walkers search."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    suid_roots: list[str]
    recent_roots: list[str]
    web_roots: list[str]
    temp_roots: list[str]


class Catalogue(BaseModel):
    """The whole catalogue file."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    walk: WalkRoots
    artifact: list[Artifact]

    def select(self, profile: str) -> list[Artifact]:
        """The artifacts of a profile (full includes quick), most volatile first."""
        if profile not in PROFILES:
            raise UsageError(f"unknown profile {profile!r}: use quick or full")
        chosen = [a for a in self.artifact if profile == "full" or a.profile == "quick"]
        return sorted(chosen, key=lambda a: (a.order, a.name))

    def by_name(self, name: str) -> Artifact:
        """One artifact by name."""
        for art in self.artifact:
            if art.name == name:
                return art
        raise KeyError(name)


def load(path: Path = CATALOGUE) -> Catalogue:
    """Read and validate a catalogue; a bad entry is a usage error naming it."""
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
        catalogue = Catalogue.model_validate(raw)
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise UsageError(f"cannot read artifact catalogue {path}: {exc}") from exc
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise UsageError(f"artifact catalogue {path}: {where}: {first['msg']}") from exc
    names = [a.name for a in catalogue.artifact]
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        raise UsageError(f"artifact catalogue {path}: duplicate names {', '.join(duplicates)}")
    return catalogue


def agent_script(params: dict[str, Any]) -> bytes:
    """The self-contained agent (plus the sweep's probe) with its parameters built in."""
    agent = AGENT.read_text(encoding="utf-8")
    head, sep, _ = agent.partition('if __name__ == "__main__":')
    if not sep or MARKER not in head:
        raise RuntimeError("agent.py lost its parameter marker or main guard")
    probe = [line for line in PROBE.read_text(encoding="utf-8").splitlines()
             if not line.rstrip().endswith("# agent-import") and not line.startswith("from __future__")]
    script = head.replace(MARKER, f"PARAMS_JSON = {json.dumps(json.dumps(params))}", 1)
    return (script + "\n".join(probe) + "\n\nmain()\n").encode()
