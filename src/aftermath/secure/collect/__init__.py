"""Triage collection in order of volatility, locally or over SSH."""

from aftermath.secure.collect.run import HostCollection, collect

__all__ = ["HostCollection", "collect"]
