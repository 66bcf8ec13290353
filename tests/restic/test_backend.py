"""The backend seam without servers: locations, read-ahead, merged neighbouring blobs (servers: tests/integration)."""

from __future__ import annotations

from pathlib import Path

import pytest

from aftermath.errors import UsageError
from aftermath.restic import backend
from aftermath.restic.backend import FileInfo, LocalBackend, PackFile, open_backend
from aftermath.restic.index import Location
from aftermath.restic.parallel import runs


class CountingBackend(backend.Backend):
    """An in-memory remote backend that counts range requests and the bytes they ask for."""

    location = "rest:http://test/"
    local = False

    def __init__(self, files: dict[str, bytes]) -> None:
        self.files = files
        self.requests: list[tuple[str, int, int]] = []

    def list(self, folder: str) -> list[FileInfo]:  # noqa: D102
        return [FileInfo(p.rsplit("/", 1)[-1], p, len(b)) for p, b in self.files.items() if p.startswith(folder)]

    def read(self, path: str) -> bytes:  # noqa: D102
        return self.files[path]

    def read_range(self, path: str, offset: int, length: int) -> bytes:  # noqa: D102
        self.requests.append((path, offset, length))
        return self.files[path][offset:offset + length]

    def open(self, path: str) -> PackFile:  # noqa: D102
        return backend._RangeFile(self, path)

    def close(self) -> None:  # noqa: D102
        pass


def test_sequential_reads_read_ahead_and_scattered_reads_read_only_their_bytes() -> None:
    data = bytes(range(256)) * 65536  # 16 MiB
    fake = CountingBackend({"data/ab/pack": data})
    pack = fake.open("data/ab/pack")
    got = [pack.read_at(offset, 1000) for offset in range(0, 12_000_000, 1000)]
    assert got == [data[o:o + 1000] for o in range(0, 12_000_000, 1000)]
    sizes = [length for _, _, length in fake.requests]
    assert sizes[:6] == [1000, 256 << 10, 512 << 10, 1 << 20, 2 << 20, 4 << 20]
    assert set(sizes[6:]) == {backend.MAX_READAHEAD} and len(sizes) < 10  # 12,000 reads, a handful of requests
    fake.requests.clear()
    pack = fake.open("data/ab/pack")
    scattered = [pack.read_at(offset, 5000) for offset in (15_000_000, 1_000, 14_000_000, 2_000_000)]
    assert scattered == [data[o:o + 5000] for o in (15_000_000, 1_000, 14_000_000, 2_000_000)]
    assert [length for _, _, length in fake.requests] == [5000] * 4  # nothing read that was not asked for
    assert pack.read_at(16_777_000, 5000) == data[16_777_000:]  # short at the end of the file


def test_neighbouring_blobs_are_grouped_into_runs() -> None:
    def blob(offset: int, length: int) -> tuple[str, Location]:
        return f"{offset:064x}", Location("p", offset, length, 0)

    blobs = [blob(0, 100), blob(100, 100), blob(250, 50), blob(10_000_000, 100), blob(10_000_100, 20_000_000)]
    grouped = runs(blobs, gap=1000, limit=16 << 20)
    assert [[b[1].offset for b in g] for g in grouped] == [[0, 100, 250], [10_000_000], [10_000_100]]


@pytest.mark.parametrize("location", ["relative/repo", "/abs/repo", Path("/abs/repo")])
def test_paths_are_local(location: str | Path) -> None:
    assert isinstance(open_backend(location), LocalBackend)


@pytest.mark.parametrize("location", ["b2:bucket:path", "azure:container:/", "gs:bucket:/", "rclone:remote:path"])
def test_other_restic_backends_are_refused_with_what_to_do(location: str) -> None:
    with pytest.raises(UsageError, match="does not read .*: repositories; copy it"):
        open_backend(location)


def test_rest_credentials_come_from_the_environment_and_never_show() -> None:
    rest = open_backend("rest:https://backup.example:8000/repo/",
                        {"RESTIC_REST_USERNAME": "u", "RESTIC_REST_PASSWORD": "hunter2"})
    assert rest.location == "rest:https://backup.example:8000/repo/"
    inline = open_backend("rest:https://u:hunter2@backup.example:8000/repo", {})
    assert "hunter2" not in inline.location and inline.location == "rest:https://backup.example:8000/repo/"


@pytest.mark.parametrize(("location", "endpoint", "bucket", "prefix"), [
    ("s3:s3.amazonaws.com/bucket/some/path", "https://s3.amazonaws.com", "bucket", "some/path"),
    ("s3:https://minio.example:9000/backups", "https://minio.example:9000", "backups", ""),
    ("s3:http://127.0.0.1:9000/b/r/", "http://127.0.0.1:9000", "b", "r"),
])
def test_s3_locations_as_restic_writes_them(location: str, endpoint: str, bucket: str, prefix: str) -> None:
    s3 = open_backend(location, {})
    assert isinstance(s3, backend.S3Backend)
    assert (s3.endpoint, s3.bucket, s3.prefix) == (endpoint, bucket, prefix)


def test_a_batch_is_prefetched_in_few_merged_requests_and_served_from_memory() -> None:
    from aftermath.restic.prefetch import plan

    wanted = [("p1", 0, 100), ("p1", 100, 100), ("p1", 500_000, 100), ("p1", 5_000_000, 100), ("p2", 7, 3),
              ("p1", 0, 100)]
    assert plan(wanted, gap=1 << 20, limit=32 << 20) == {"p1": [(0, 500_100), (5_000_000, 100)], "p2": [(7, 3)]}
    assert plan([("p", 0, 10), ("p", 10, 40 << 20)], gap=1 << 20, limit=32 << 20) == {"p": [(0, 10), (10, 40 << 20)]}
