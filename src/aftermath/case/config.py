"""The case's configuration file, ``aftermath.toml``: read with tomllib, validated with pydantic.

Secrets never live in this file: the repository password is named by a file, an environment
variable or a command, and is read only when needed. A password inside a database URL (``case.db``,
a PostgreSQL source) is kept apart in ``.aftermath/credentials.toml`` (mode 600) and put back into the
URL in memory when the config is loaded.
"""

from __future__ import annotations

import os
import shlex
import subprocess
import tomllib
from pathlib import Path
from typing import Any, Literal

import tomli_w
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from aftermath.case.access import read_password_file

# where the case is, kept importable without pydantic (re-exported here for the case store and its callers)
from aftermath.case.locate import CONFIG_NAME as CONFIG_NAME
from aftermath.case.locate import ENV_CASE as ENV_CASE
from aftermath.case.locate import NoCaseFound as NoCaseFound
from aftermath.case.locate import find_root as find_root
from aftermath.errors import CaseError, PasswordError, UsageError

CREDENTIALS = Path(".aftermath") / "credentials.toml"


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


class SmtpConfig(_Model):
    """The SMTP relay ``notify send`` uses; the password is named (a file or an environment variable), never written."""

    host: str
    port: int = Field(default=587, gt=0, lt=65536)
    security: Literal["none", "starttls", "tls"] = "starttls"
    user: str | None = None
    password_file: str | None = None  # relative to the case folder; keep it mode 600
    password_env: str | None = None
    verp: bool = False  # envelope sender local+token@domain per notice, so a bounce names its notice

    @model_validator(mode="after")
    def _password(self) -> SmtpConfig:
        if self.user and not (self.password_file or self.password_env):
            raise ValueError("a user needs password_file or password_env (the password itself never goes here)")
        return self


class NotifyConfig(_Model):
    """Settings of the notify step."""

    smtp: SmtpConfig | None = None


class Config(_Model):
    """The whole ``aftermath.toml``."""

    case: CaseSection = Field(default_factory=CaseSection)
    repository: RepositoryConfig = Field(default_factory=RepositoryConfig)
    protect: ProtectConfig = Field(default_factory=ProtectConfig)
    notify: NotifyConfig | None = None


def load(path: Path) -> Config:
    """Read and validate a config file; a bad one is a one-line error naming the field."""
    raw = _read_toml(path)
    try:
        config = Config.model_validate(raw)
    except ValidationError as exc:
        err = exc.errors()[0]
        where = ".".join(str(p) for p in err["loc"]) or "(top)"
        raise CaseError(f"{path}: {where}: {err['msg']}") from exc
    credentials = path.parent / CREDENTIALS
    if credentials.is_file():
        _put_passwords(config, _read_toml(credentials))
    return config


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise CaseError(f"cannot read {path}: {exc.strerror}") from exc
    except UnicodeDecodeError as exc:
        raise CaseError(f"{path} is not UTF-8 text (byte {exc.start}): save it as UTF-8") from exc
    except tomllib.TOMLDecodeError as exc:
        raise CaseError(f"{path} is not valid TOML: {exc}") from exc


def save(config: Config, path: Path) -> None:
    """Write the config atomically (temp file, then rename), with database passwords in the credentials file."""
    data = config.model_dump(exclude_none=True)
    secrets = _take_passwords(data)
    if secrets:
        folder = path.parent / CREDENTIALS.parent
        folder.mkdir(mode=0o700, exist_ok=True)
        _write_private(path.parent / CREDENTIALS, tomli_w.dumps(secrets))
    # a key=value connection string can still hold "password=...": then the config itself is private
    urls = [data["case"]["db"], *(str(s.get("url", "")) for s in data["protect"]["sources"])]
    _write_private(path, tomli_w.dumps(data), mode=0o600 if any("password=" in u for u in urls) else 0o644)


def password_warning(url: str | None) -> str | None:
    """The warning for a password given on the command line, or None."""
    if url is None or split_password(url)[1] is None:
        return None
    return (f"aftermath: warning: a password on the command line can be read by other users and stays in the shell "
            f"history; it is kept in {CREDENTIALS} (mode 600), not in {CONFIG_NAME}: prefer ~/.pgpass")


def _write_private(path: Path, text: str, mode: int = 0o600) -> None:
    tmp = path.with_name(path.name + ".tmp")
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except OSError:
        tmp.unlink(missing_ok=True)
        raise


def split_password(url: str) -> tuple[str, str | None]:
    """A URL without its password, and the password as written (None when there is none)."""
    scheme, sep, rest = url.partition("://")
    if not sep or "@" not in rest.split("/", 1)[0]:
        return url, None
    userinfo, host = rest.split("/", 1)[0].rsplit("@", 1)
    if ":" not in userinfo:
        return url, None
    user, password = userinfo.split(":", 1)
    tail = rest[len(userinfo) + 1 + len(host):]
    return f"{scheme}://{user}@{host}{tail}", password


def _join_password(url: str, password: str) -> str:
    scheme, _, rest = url.partition("://")
    user, _, after = rest.partition("@")
    return f"{scheme}://{user}:{password}@{after}" if after else url


def _take_passwords(data: dict[str, Any]) -> dict[str, Any]:
    """Move passwords out of the URLs in ``data`` (a config dump) into a credentials document."""
    secrets: dict[str, Any] = {}
    data["case"]["db"], db_password = split_password(data["case"]["db"])
    if db_password is not None:
        secrets["case"] = {"db": db_password}
    for source in data["protect"]["sources"]:
        if source.get("url"):
            source["url"], password = split_password(source["url"])
            if password is not None:
                secrets.setdefault("sources", {})[source["name"]] = password
    return secrets


def _put_passwords(config: Config, secrets: dict[str, Any]) -> None:
    db = secrets.get("case", {}).get("db")
    if isinstance(db, str) and split_password(config.case.db)[1] is None:
        config.case.db = _join_password(config.case.db, db)
    for source in config.protect.sources:
        password = secrets.get("sources", {}).get(source.name)
        if isinstance(password, str) and source.url and split_password(source.url)[1] is None:
            source.url = _join_password(source.url, password)


def check_name(name: str) -> str:
    """Source names become restic tags and file names: keep them simple."""
    if not name or not all(c.isalnum() or c in "-_." for c in name):
        raise UsageError(f"invalid name {name!r}: use letters, digits, '-', '_' or '.'")
    return name
