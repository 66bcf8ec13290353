"""The case's configuration file, ``aftermath.toml``: read with tomllib, validated with pydantic.

Secrets never live in this file: the repository password is named by a file, an environment
variable or a command, and is read only when needed.
"""

from __future__ import annotations

import os
import shlex
import subprocess
import tomllib
from pathlib import Path
from typing import Literal

import tomli_w
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from aftermath.case.access import read_password_file
from aftermath.errors import CaseError, PasswordError, UsageError

CONFIG_NAME = "aftermath.toml"
ENV_CASE = "AFTERMATH_CASE"


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


class RepositoryConfig(_Model):
    """Where backups live and how to unlock them (never the password itself)."""

    url: str = "backups"
    password_file: str | None = ".aftermath/repo-password"
    password_env: str | None = None
    password_command: str | None = None

    def location(self, root: Path) -> str:
        """The restic repository URL, with a relative local path resolved against the case folder."""
        if ":" in self.url.split("/", 1)[0] and not self.url.startswith("/"):
            return self.url  # a backend URL such as sftp:host:/path or s3:...
        path = Path(self.url)
        return str(path if path.is_absolute() else (root / path))

    def password_path(self, root: Path) -> Path | None:
        """The password file resolved against the case folder, if one is configured."""
        if not self.password_file:
            return None
        path = Path(self.password_file)
        return path if path.is_absolute() else root / path

    def password(self, root: Path) -> bytes:
        """Read the password from the environment, the command or the file, in that order."""
        if self.password_env:
            value = os.environ.get(self.password_env)
            if value is None:
                raise PasswordError(f"environment variable {self.password_env} is not set: export it")
            return value.encode()
        if self.password_command:
            return _run_password_command(self.password_command)
        path = self.password_path(root)
        if path is None:
            raise PasswordError("no repository password configured: set repository.password_file")
        return read_password_file(path)

    def restic_env(self, root: Path) -> dict[str, str]:
        """Environment entries that hand restic the password without argv."""
        env = {"RESTIC_REPOSITORY": self.location(root)}
        if self.password_env:
            env["RESTIC_PASSWORD"] = self.password(root).decode()
        elif self.password_command:
            env["RESTIC_PASSWORD_COMMAND"] = self.password_command
        else:
            path = self.password_path(root)
            if path is None or not path.is_file():
                raise PasswordError(f"password file {path} is missing: check repository.password_file")
            read_password_file(path)  # an empty or unreadable file is named here, not called a wrong password
            env["RESTIC_PASSWORD_FILE"] = str(path)
        return env


def _run_password_command(command: str) -> bytes:
    try:
        out = subprocess.run(shlex.split(command), capture_output=True, check=True, timeout=60)
    except (OSError, subprocess.SubprocessError) as exc:
        raise PasswordError("the repository password command failed: check repository.password_command") from exc
    return out.stdout.rstrip(b"\r\n")


class Retention(_Model):
    """How many snapshots `protect forget` keeps."""

    daily: int = 7
    weekly: int = 4
    monthly: int = 12


class Source(_Model):
    """One thing to back up: a folder, a SQLite file or a PostgreSQL database."""

    name: str
    kind: Literal["path", "sqlite", "postgres"]
    path: str | None = None
    url: str | None = None

    @model_validator(mode="after")
    def _target(self) -> Source:
        if self.kind == "postgres" and not self.url:
            raise ValueError(f"source {self.name}: a postgres source needs url")
        if self.kind != "postgres" and not self.path:
            raise ValueError(f"source {self.name}: a {self.kind} source needs path")
        return self


class ProtectConfig(_Model):
    """Backup schedule, retention and sources."""

    interval_hours: float = Field(default=24.0, gt=0)
    drill_interval_days: float = Field(default=7.0, gt=0)
    lock_timeout_seconds: float = Field(default=30.0, gt=0)  # how long to wait for a locked SQLite source
    retention: Retention = Field(default_factory=Retention)
    sources: list[Source] = Field(default_factory=list)


class CaseSection(_Model):
    """The case store and identity."""

    name: str = "aftermath case"
    db: str = "sqlite:///case.db"


class Config(_Model):
    """The whole ``aftermath.toml``."""

    case: CaseSection = Field(default_factory=CaseSection)
    repository: RepositoryConfig = Field(default_factory=RepositoryConfig)
    protect: ProtectConfig = Field(default_factory=ProtectConfig)


def load(path: Path) -> Config:
    """Read and validate a config file; a bad one is a one-line error naming the field."""
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise CaseError(f"cannot read {path}: {exc.strerror}") from exc
    except UnicodeDecodeError as exc:
        raise CaseError(f"{path} is not UTF-8 text (byte {exc.start}): save it as UTF-8") from exc
    except tomllib.TOMLDecodeError as exc:
        raise CaseError(f"{path} is not valid TOML: {exc}") from exc
    try:
        return Config.model_validate(raw)
    except ValidationError as exc:
        err = exc.errors()[0]
        where = ".".join(str(p) for p in err["loc"]) or "(top)"
        raise CaseError(f"{path}: {where}: {err['msg']}") from exc


def save(config: Config, path: Path) -> None:
    """Write the config atomically (temp file, then rename), so a crash never leaves half a file."""
    data = config.model_dump(exclude_none=True)
    tmp = path.with_name(path.name + ".tmp")
    try:
        tmp.write_text(tomli_w.dumps(data), encoding="utf-8")
        os.replace(tmp, path)
    except OSError:
        tmp.unlink(missing_ok=True)
        raise


class NoCaseFound(CaseError):
    """No case was named and none was found in this folder or its parents."""


def find_root(explicit: Path | None = None, start: Path | None = None) -> Path:
    """Find the case folder like git finds its repository: --case, $AFTERMATH_CASE, then upwards."""
    if explicit is None and os.environ.get(ENV_CASE):
        explicit = Path(os.environ[ENV_CASE])
    if explicit is not None:
        if not (explicit / CONFIG_NAME).is_file():
            raise CaseError(f"{explicit} is not an Aftermath case (no {CONFIG_NAME}): run 'aftermath init {explicit}'")
        return explicit.resolve()
    here = (start or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        if (folder / CONFIG_NAME).is_file():
            return folder
    raise NoCaseFound("no Aftermath case here or in any parent folder: run 'aftermath init DIR' or pass --case DIR")


def check_name(name: str) -> str:
    """Source names become restic tags and file names: keep them simple."""
    if not name or not all(c.isalnum() or c in "-_." for c in name):
        raise UsageError(f"invalid name {name!r}: use letters, digits, '-', '_' or '.'")
    return name
