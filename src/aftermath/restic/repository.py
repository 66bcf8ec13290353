"""A restic repository, read-only: keys, config, snapshots, index, trees and blobs.

The repository may be a local path or any location restic writes (``sftp:``, ``rest:``, ``s3:``):
all reading goes through one small backend seam (:mod:`aftermath.restic.backend`).

Reading never writes to the repository and takes no lock. Snapshots are listed before the index is
loaded (restic writes packs, then indexes, then snapshots), so a concurrent backup cannot leave a
listed snapshot pointing at blobs we do not know. Every stored file is checked against its name
(SHA-256) and every envelope is authenticated before it is decrypted.
"""

from __future__ import annotations

import os
import re
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any, Literal, TypeVar

from aftermath.errors import IntegrityError, PasswordError, RepositoryError, UsageError
from aftermath.restic.backend import Backend, FileInfo, LocalBackend, Missing, PackFile, listing, open_backend
from aftermath.restic.crypto import Key, open_envelope, open_key_file, storage_id_matches
from aftermath.restic.errors import BlobError, FormatError, MacError
from aftermath.restic.index import Index, Location
from aftermath.restic.pack import decode_blob, read_header_at
from aftermath.restic.tree import Entry, Node, Snapshot, parse_entries, parse_snapshot, parse_tree
from aftermath.restic.unpacked import decode_unpacked

_HEX64 = re.compile(r"[0-9a-f]{64}")
TREE_CACHE_SIZE = 512  # trees are small (a few KiB each); this bounds the cache to a few MiB
MAX_KEY_FILES = 64
TREE_PACK_MAX = 32 << 20  # a remote pack of trees up to this size is read whole (restic's packs are 4-16 MiB)
TREE_PACKS_BYTES = 64 << 20  # and remote tree packs are kept up to this many bytes
T = TypeVar("T")


class Repository:
    """A restic repository opened for reading. Create it with :meth:`Repository.open`."""

    def __init__(self, root: Path, key: Key, version: int, repo_id: str, backend: Backend | None = None) -> None:
        self.root = root
        self.backend: Backend = backend or LocalBackend(root)
        self.location = self.backend.location  # for messages; never holds a password
        self._packs: dict[str, FileInfo] = {}  # pack id -> where it is stored, from the listing of data/
        self._folders: dict[str, str] = {}
        self.version = version
        self.id = repo_id
        self.problems: list[str] = []  # what could not be read (bad snapshot or index files), in words
        self._key = key
        self._index: Index | None = None
        self._index_lock = threading.Lock()
        self._trees: OrderedDict[str, list[Node]] = OrderedDict()
        self._trees_lock = threading.Lock()
        self._tree_packs: OrderedDict[str, bytes] = OrderedDict()  # remote tree packs as stored (see read_blob)

    # -- opening ---------------------------------------------------------------------------------
    @classmethod
    def open(cls, location: str | Path, password: bytes | str,
             environ: Mapping[str, str] = os.environ) -> Repository:
        """Open the repository at a local path or restic location (``sftp:``, ``rest:``, ``s3:``).

        Credentials for remote locations come from ``environ`` (the variables restic reads).
        Raises RepositoryError if it is missing or not a restic repository, PasswordError if no key
        file opens with the password, IntegrityError if its config fails authentication.
        """
        if isinstance(password, str):  # tolerate a str password; restic passwords are UTF-8
            password = password.encode()
        backend = open_backend(location, environ)
        root = backend.root if isinstance(backend, LocalBackend) else Path(backend.location)
        try:
            if isinstance(backend, LocalBackend):
                if root.exists() and not root.is_dir():
                    raise RepositoryError(f"{root} is a file, not a restic repository (a folder): check the location")
                if not root.is_dir():
                    raise RepositoryError(f"no restic repository at {root}: check the repository location")
                if not (root / "config").is_file():
                    raise RepositoryError(f"{root} is not a restic repository (no config file): check the location")
            key = cls._find_key(backend, password)
            version, repo_id = cls._read_config(backend, key)
        except BaseException:
            backend.close()
            raise
        return cls(root, key, version, repo_id, backend)

    def close(self) -> None:
        """Close the backend's connections (nothing to do for a local path)."""
        self.backend.close()

    @staticmethod
    def _find_key(backend: Backend, password: bytes) -> Key:
        root = backend.location
        files = list(listing(backend.list("keys"))) or list(listing(backend.list("key")))
        if not files:
            raise RepositoryError(f"{root} has no key files: it is not a restic repository or it is damaged")
        files = files[:MAX_KEY_FILES]
        malformed = 0
        for f in files:
            try:
                return open_key_file(backend.read(f.path), password)
            except MacError:
                continue
            except FormatError:
                malformed += 1
        if malformed == len(files):
            raise RepositoryError(f"no key file of {root} is readable: the repository's keys/ folder is damaged")
        raise PasswordError(f"wrong password for the restic repository at {root}: check the repository password")

    @staticmethod
    def _read_config(backend: Backend, key: Key) -> tuple[int, str]:
        root = backend.location
        try:
            raw = backend.read("config")
        except Missing:
            raise RepositoryError(f"{root} is not a restic repository (no config file): check the location") from None
        try:
            plain = open_envelope(key, raw)
        except MacError:
            raise IntegrityError(f"the config of {root} failed authentication: the repository is damaged; "
                                 "run `restic check`") from None
        doc = decode_unpacked(plain, 1, "repository config")  # config is never compressed
        version = doc.get("version") if isinstance(doc, dict) else None
        if version not in (1, 2):
            raise RepositoryError(f"{root} has repository version {version!r}; this reader knows versions 1 and 2")
        repo_id = doc.get("id")
        return int(version), repo_id if isinstance(repo_id, str) else ""

    def _folder(self, plural: str) -> Path:
        """The folder for a file type; the S3 legacy layout uses singular names."""
        folder = self.root / plural
        return folder if folder.is_dir() else self.root / plural.rstrip("s")

    def _list(self, plural: str) -> list[str]:
        """The ids stored in a file type's folder (``snapshots``, ``index``; singular in the S3 legacy layout)."""
        files = list(listing(self.backend.list(plural)))
        folder = plural
        if not files:
            singular = list(listing(self.backend.list(plural.rstrip("s"))))
            if singular:
                files, folder = singular, plural.rstrip("s")
        self._folders[plural] = folder
        return [f.name for f in files]

    def _load_unpacked(self, plural: str, file_id: str, what: str) -> Any:
        raw = self.backend.read(f"{self._folders.get(plural, plural)}/{file_id}")
        if not storage_id_matches(file_id, raw):
            raise IntegrityError(f"{what} {file_id[:8]} does not match its name (SHA-256): it was changed or damaged")
        try:
            plain = open_envelope(self._key, raw)
        except MacError:
            raise IntegrityError(f"{what} {file_id[:8]} failed authentication: it was changed or damaged") from None
        return decode_unpacked(plain, self.version, f"{what} {file_id[:8]}")

    # -- snapshots -------------------------------------------------------------------------------
    def snapshots(self) -> list[Snapshot]:
        """All readable snapshots, oldest first; unreadable ones are skipped and named in ``problems``."""
        found: list[Snapshot] = []
        for sid in self._list("snapshots"):
            try:
                found.append(parse_snapshot(sid, self._load_unpacked("snapshots", sid, "snapshot")))
            except (IntegrityError, RepositoryError) as exc:  # FormatError is a RepositoryError
                self._problem(f"snapshot {sid[:8]} skipped: {exc.message}")
        return sorted(found, key=lambda s: (s.time, s.id))

    def snapshot(self, id_or_prefix: str) -> Snapshot:
        """The snapshot whose id starts with ``id_or_prefix``; UsageError if none or several match."""
        matches = [s for s in self.snapshots() if id_or_prefix and s.id.startswith(id_or_prefix.lower())]
        if len(matches) != 1:
            how = "no" if not matches else f"{len(matches)} snapshots match"
            raise UsageError(f"{how} snapshot {id_or_prefix!r} in {self.location}: see the snapshot list "
                             "(`restic snapshots`) and give a longer id")
        return matches[0]

    def _problem(self, text: str) -> None:
        if text not in self.problems:
            self.problems.append(text)

    # -- index -----------------------------------------------------------------------------------
    @property
    def index(self) -> Index:
        """The blob index, loaded on first use (index files, then headers of packs no index lists)."""
        with self._index_lock:
            if self._index is None:
                self._index = self._load_index()
            return self._index

    def _load_index(self) -> Index:
        index = Index()
        for iid in self._list("index"):
            try:
                index.add_json(self._load_unpacked("index", iid, "index file"))
            except (IntegrityError, RepositoryError) as exc:  # FormatError is a RepositoryError
                self._problem(f"index file {iid[:8]} skipped: {exc.message}")
        for pack_id in self._pack_ids():
            if not index.has_pack(pack_id):
                self._index_pack(index, pack_id)
        return index

    def _index_pack(self, index: Index, pack_id: str) -> None:
        info = self._packs[pack_id]
        try:
            pack = self.backend.open(info.path)
        except OSError as exc:
            self._problem(f"pack {pack_id[:8]} unreadable: {exc.strerror}")
            return
        try:
            size = info.size if info.size >= 0 else os.fstat(pack.fd).st_size  # type: ignore[attr-defined]
            index.add_pack(pack_id, read_header_at(pack.read_at, size, self._key))
        except (MacError, FormatError) as exc:
            self._problem(f"pack {pack_id[:8]} has an unusable header: {exc.message}")
        except RepositoryError as exc:
            self._problem(f"pack {pack_id[:8]} unreadable: {exc.message}")
        except OSError as exc:
            self._problem(f"pack {pack_id[:8]} unreadable: {exc.strerror}")
        finally:
            pack.close()

    def _pack_ids(self) -> Iterator[str]:
        self._packs = {f.name: f for f in listing(self.backend.list("data"))}
        yield from self._packs

    def pack_path(self, pack_id: str) -> Path:
        """Path of a pack file (``data/xx/<id>``, or ``data/<id>`` in the S3 legacy layout)."""
        nested = self.root / "data" / pack_id[:2] / pack_id
        return nested if nested.exists() else self.root / "data" / pack_id

    def locate(self, blob_id: str, kind: Literal["data", "tree"] | None = None) -> Location | None:
        """Where a blob is stored (data blobs first when ``kind`` is None), or None."""
        if not isinstance(blob_id, str) or not _HEX64.fullmatch(blob_id):
            return None
        raw = bytes.fromhex(blob_id)
        for k in (kind,) if kind else ("data", "tree"):
            loc = self.index.lookup(k, raw)
            if loc is not None:
                return loc
        return None

    def has_blob(self, blob_id: str) -> bool:
        """True when the index knows a data or tree blob with this id."""
        return self.locate(blob_id) is not None

    def blob_size(self, blob_id: str) -> int:
        """Plaintext size of a blob; BlobError if the index does not know it."""
        loc = self.locate(blob_id)
        if loc is None:
            raise BlobError(blob_id, None, "no blob with this id in the index")
        return loc.uncompressed_length or loc.length - 32

    # -- blobs -----------------------------------------------------------------------------------
    def decode(self, blob_id: str, loc: Location, raw: bytes) -> bytes:
        """Turn the stored bytes of a located blob into checked plaintext; BlobError if they are bad."""
        if len(raw) != loc.length:
            raise BlobError(blob_id, loc.pack_id, f"pack is truncated (read {len(raw)} of {loc.length} bytes)")
        return decode_blob(self._key, raw, blob_id, loc.pack_id, loc.uncompressed_length)

    def open_pack(self, blob_id: str, pack_id: str) -> int:
        """Open a pack of a local repository for reading; BlobError (for ``blob_id``) if it is missing or unreadable.

        Remote repositories have no file descriptors: use :meth:`open_pack_file`.
        """
        try:
            return os.open(self.pack_path(pack_id), os.O_RDONLY)
        except OSError as exc:
            raise BlobError(blob_id, pack_id, f"pack file unreadable: {exc.strerror}") from None

    def _pack_file_path(self, pack_id: str) -> str:
        info = self._packs.get(pack_id)
        if info is not None:
            return info.path
        if isinstance(self.backend, LocalBackend):
            return str(self.pack_path(pack_id).relative_to(self.root))
        return f"data/{pack_id[:2]}/{pack_id}"

    def open_pack_file(self, blob_id: str, pack_id: str) -> PackFile:
        """Open a pack (local or remote) for reading by ranges; BlobError (for ``blob_id``) if it cannot be."""
        try:
            return self.backend.open(self._pack_file_path(pack_id))
        except OSError as exc:
            raise BlobError(blob_id, pack_id, f"pack file unreadable: {exc.strerror}") from None

    def read_from(self, pack: PackFile, blob_id: str, loc: Location) -> bytes:
        """Read and decode a located blob from an open pack file; BlobError on any failure."""
        return self.decode(blob_id, loc, self.read_raw(pack, blob_id, loc.pack_id, loc.offset, loc.length))

    def read_raw(self, pack: PackFile, blob_id: str, pack_id: str, offset: int, length: int) -> bytes:
        """Stored bytes of a range of a pack; BlobError (for ``blob_id``) naming the pack and backend if unreadable."""
        try:
            return pack.read_at(offset, length)
        except OSError as exc:
            raise BlobError(blob_id, pack_id, f"pack file unreadable: {exc.strerror}") from None
        except Missing:
            raise BlobError(blob_id, pack_id, f"pack file missing from {self.location}") from None
        except RepositoryError as exc:
            raise BlobError(blob_id, pack_id, exc.message) from None

    def read_located(self, fd: int, blob_id: str, loc: Location) -> bytes:
        """Read and decode a located blob from an open pack; BlobError on any failure."""
        try:
            raw = os.pread(fd, loc.length, loc.offset)
        except OSError as exc:
            raise BlobError(blob_id, loc.pack_id, f"pack file unreadable: {exc.strerror}") from None
        return self.decode(blob_id, loc, raw)

    def read_blob(self, blob_id: str, kind: Literal["data", "tree"] = "data") -> bytes:
        """One blob's plaintext, authenticated, decompressed and checked against its id; else BlobError."""
        loc = self.locate(blob_id, kind)
        if loc is None:
            raise BlobError(blob_id, None, f"no {kind} blob with this id in the index")
        if kind == "tree" and not self.backend.local:
            whole = self._remote_tree_pack(blob_id, loc.pack_id)
            if whole is not None:
                return self.decode(blob_id, loc, whole[loc.offset:loc.offset + loc.length])
        pack = self.open_pack_file(blob_id, loc.pack_id)
        try:
            return self.read_from(pack, blob_id, loc)
        finally:
            pack.close()

    def _remote_tree_pack(self, blob_id: str, pack_id: str) -> bytes | None:
        """A remote pack of trees, read whole once and kept (bounded): a walk needs most trees of a pack.

        The bytes are kept as stored, so every tree read from them is still authenticated and hash-checked.
        None when the pack's size is unknown or too large to keep.
        """
        with self._trees_lock:
            if pack_id in self._tree_packs:
                self._tree_packs.move_to_end(pack_id)
                return self._tree_packs[pack_id]
        info = self._packs.get(pack_id)
        if info is None or not 0 < info.size <= TREE_PACK_MAX:
            return None
        pack = self.open_pack_file(blob_id, pack_id)
        try:
            whole = self.read_raw(pack, blob_id, pack_id, 0, info.size)
        finally:
            pack.close()
        with self._trees_lock:
            self._tree_packs[pack_id] = whole
            while sum(len(b) for b in self._tree_packs.values()) > TREE_PACKS_BYTES and len(self._tree_packs) > 1:
                self._tree_packs.popitem(last=False)
        return whole

    def read_blobs(self, blob_ids: Iterable[str], workers: int = 2) -> Iterator[tuple[str, bytes | BlobError]]:
        """Read many blobs in parallel threads, each pack sequentially; yields results as they complete.

        Duplicate ids are read once. A failing blob yields its BlobError and the others go on.
        """
        from aftermath.restic.parallel import read_blobs

        return read_blobs(self, blob_ids, workers)

    def iter_file(self, node: Node) -> Iterator[bytes]:
        """A file's content, blob by blob, in order (memory bounded by one blob)."""
        for blob_id in node.content:
            yield self.read_blob(blob_id)

    # -- trees -----------------------------------------------------------------------------------
    def tree(self, tree_id: str) -> list[Node]:
        """The nodes of a tree blob, authenticated and decoded; cached (bounded LRU)."""
        with self._trees_lock:
            if tree_id in self._trees:
                self._trees.move_to_end(tree_id)
                return self._trees[tree_id]
        nodes = self._parse_tree_blob(tree_id, lambda plain: parse_tree(decode_unpacked(plain, 1, "tree")))
        with self._trees_lock:
            self._trees[tree_id] = nodes
            while len(self._trees) > TREE_CACHE_SIZE:
                self._trees.popitem(last=False)
        return nodes

    def entries(self, tree_id: str) -> list[Entry]:
        """A tree's entries (names, types, sizes, content and subtree ids only), authenticated; not cached.

        Several times cheaper than :meth:`tree` for a walk over many snapshots that needs no metadata.
        """
        return self._parse_tree_blob(tree_id, parse_entries)

    def _parse_tree_blob(self, tree_id: str, parse: Callable[[bytes], list[T]]) -> list[T]:
        plain = self.read_blob(tree_id, "tree")
        try:
            return parse(plain)
        except FormatError as exc:
            loc = self.locate(tree_id, "tree")
            raise BlobError(tree_id, loc.pack_id if loc else None, exc.message) from None

    def walk(self, tree_id: str, prefix: str = "/",
             on_error: Callable[[str, BlobError], None] | None = None) -> Iterator[tuple[str, Node]]:
        """Every node below a tree with its full path, depth-first, each directory before its children.

        A subtree that cannot be read raises BlobError, or, with ``on_error``, is reported as
        ``on_error(path, error)`` and skipped.
        """
        stack: list[tuple[str, Iterator[Node]]] = [(prefix.rstrip("/"), iter(self.tree(tree_id)))]
        while stack:
            base, nodes = stack[-1]
            node = next(nodes, None)
            if node is None:
                stack.pop()
                continue
            path = f"{base}/{node.name}"
            yield path, node
            if node.is_dir and node.subtree:
                try:
                    stack.append((path, iter(self.tree(node.subtree))))
                except BlobError as exc:
                    if on_error is None:
                        raise
                    on_error(path, exc)
