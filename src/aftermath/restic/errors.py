"""Errors of the restic reader, on top of Aftermath's exception root.

Parsers raise :class:`FormatError` for bytes that are not what restic writes; the repository turns
failures around one blob into :class:`BlobError`, which names the blob and the pack that holds it.
"""

from __future__ import annotations

from aftermath.errors import IntegrityError, RepositoryError


class FormatError(RepositoryError):
    """A repository file or structure is malformed (bad JSON, impossible sizes, unknown types)."""


class MacError(IntegrityError):
    """An envelope's Poly1305-AES tag does not match: the bytes were changed or the key is wrong."""


class BlobError(IntegrityError):
    """One blob cannot be used: missing, failed authentication, bad compression or wrong hash.

    The blob's bytes are never returned when this is raised.
    """

    def __init__(self, blob_id: str, pack_id: str | None, reason: str) -> None:
        where = f"in pack {pack_id}" if pack_id else "(in no pack)"
        super().__init__(
            f"blob {blob_id} {where} is unusable: {reason}; run `restic check --read-data` and restore "
            "the file from another snapshot or copy"
        )
        self.blob_id = blob_id
        self.pack_id = pack_id
        self.reason = reason

    def __reduce__(self) -> tuple[type[BlobError], tuple[str, str | None, str]]:
        # Keeps the exception picklable (process pools, multiprocessing queues).
        return (BlobError, (self.blob_id, self.pack_id, self.reason))
