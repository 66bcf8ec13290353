"""Compromise sweep: named checks over facts gathered from each host, hosts ranked by likelihood."""

from aftermath.secure.sweep.run import HostSweep, SweepReport, apply_checks, sweep

__all__ = ["HostSweep", "SweepReport", "apply_checks", "sweep"]
