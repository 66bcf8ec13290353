"""Where the case is: found like git finds its repository, without loading the configuration.

Kept apart from :mod:`aftermath.case.config` so that commands that also work without a case (``review``,
``restore``) can look for one without importing pydantic and the case store.
"""

from __future__ import annotations

import os
from pathlib import Path

from aftermath.errors import CaseError

CONFIG_NAME = "aftermath.toml"
ENV_CASE = "AFTERMATH_CASE"


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
