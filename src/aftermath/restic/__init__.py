"""Native read-only reader of restic repositories (format versions 1 and 2).

>>> repo = Repository.open("/srv/backup/repo", password)      # doctest: +SKIP
>>> for path, node in repo.walk(repo.snapshots()[-1].tree):   # doctest: +SKIP
...     data = b"".join(repo.iter_file(node)) if node.is_file else b""
"""

from aftermath.restic.errors import BlobError, FormatError, MacError
from aftermath.restic.repository import Repository
from aftermath.restic.tree import Entry, Node, Snapshot

__all__ = ["BlobError", "Entry", "FormatError", "MacError", "Node", "Repository", "Snapshot"]
