"""The case: store, tamper-evident journal, evidence registry, config."""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from aftermath.case.core import Case, Evidence, actor
    from aftermath.case.hashing import hash_file

__all__ = ["Case", "Evidence", "actor", "hash_file"]
_HOME = {"Case": "core", "Evidence": "core", "actor": "core", "hash_file": "hashing"}


def __getattr__(name: str) -> Any:
    # The store (SQLAlchemy) loads on first use of these names, so that importing a light submodule
    # (config, journal, access) does not load it: command start-up time depends on it.
    if name in _HOME:
        return getattr(importlib.import_module(f"aftermath.case.{_HOME[name]}"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
