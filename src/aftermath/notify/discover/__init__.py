"""Discovery: who was affected by a breach, and which of their data elements were exposed.

``scope(sources, files)`` scans databases, files and folders (locally or inside a restic snapshot), detects
data elements per row, merges rows into people and resolves where each lives. See docs/notify-scope.md.
"""

from __future__ import annotations

from aftermath.notify.discover.kinds import Detection, elements_of
from aftermath.notify.discover.run import ScopeResult, scope

__all__ = ["Detection", "ScopeResult", "elements_of", "scope"]
