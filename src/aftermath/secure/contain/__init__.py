"""Containment: isolate hosts with an nftables table of Aftermath's own (atomic, self-tested, with a
dead-man timer on the host), confirm or release it, and freeze or kill processes after collecting them.
"""

from __future__ import annotations

from aftermath.secure.contain.isolate import Check, Isolation, Release, confirm, isolate, release, status
from aftermath.secure.contain.process import ProcessInfo, freeze, kill
from aftermath.secure.contain.ruleset import build_ruleset, parse_allow
from aftermath.secure.contain.runner import LocalRunner, Runner, netns_runner, open_runner
from aftermath.secure.hosts import SshOptions

__all__ = ["Check", "Isolation", "LocalRunner", "ProcessInfo", "Release", "Runner", "SshOptions", "build_ruleset",
           "confirm", "freeze", "isolate", "kill", "netns_runner", "open_runner", "parse_allow", "release",
           "status"]
