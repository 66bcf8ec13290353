"""The case: store, tamper-evident journal, evidence registry, config."""

from aftermath.case.core import Case, Evidence, actor, hash_file

__all__ = ["Case", "Evidence", "actor", "hash_file"]
