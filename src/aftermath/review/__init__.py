"""Review backups before restoring: scan every snapshot, find when trouble first appeared, and name the
last clean restore point.

>>> from aftermath.review import run_review, scan_tree            # doctest: +SKIP
>>> from aftermath.review.scanners import default_scanners        # doctest: +SKIP
>>> result = run_review(repo, default_scanners())                 # doctest: +SKIP
>>> result.last_clean, result.to_json()["findings"]               # doctest: +SKIP
"""

from aftermath.review.local import scan_tree
from aftermath.review.result import ReviewResult, SnapshotReview
from aftermath.review.scanner import Finding, Scanner
from aftermath.review.walk import Progress, run_review

__all__ = ["Finding", "Progress", "ReviewResult", "Scanner", "SnapshotReview", "run_review", "scan_tree"]
