"""The review's content pass on a Dask distributed cluster (``aftermath review --cluster tcp://HOST:8786``).

The walk and the verdicts stay in this process, as in a review on one machine; only the content pass
moves. Each batch of jobs (blob locations and the scans each content needs, see :mod:`.pool`) becomes
one Dask task; a worker opens the repository itself from the shared backend (S3, REST, SFTP, or a
folder every machine mounts), reads the blobs, scans them with :func:`.pool.run_jobs` and returns the
findings only. What is sent to the cluster: the repository's location as :class:`Repository` prints it
(no password in it), its id, the scanners (compiled rules, hash indicators) and the batches. What is
never sent: the repository password. Each worker reads it from the file named by
``$AFTERMATH_REPO_PASSWORD_FILE`` in its own environment, and backend credentials from the variables
restic reads (``AWS_*``, ``RESTIC_REST_*``), exactly as ``aftermath review`` does on one machine.
A worker that opened a different repository (its id differs) refuses the work.

A worker that dies loses no work: the scheduler gives its tasks to another worker, and a task always
gives the same findings for the same batch, so the review equals the one made on one machine. Dask's
own security settings (TLS certificates in the Dask configuration, ``tls://`` addresses) protect the
traffic between this process, the scheduler and the workers.

This module is only imported when ``--cluster`` is given: ``distributed`` is an optional extra
(``pip install 'aftermath[cluster]'``), and a review on one machine never loads it.
"""

from __future__ import annotations

import copyreg
import hashlib
import importlib
import io
import os
import pickle
import threading
import time
import uuid
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

from aftermath.case.access import PASSWORD_ENV, read_password_file
from aftermath.errors import AftermathError, PasswordError, RepositoryError, ToolError
from aftermath.restic import Repository
from aftermath.review.content import WINDOW
from aftermath.review.pool import Job, Result, run_jobs
from aftermath.review.scanner import Scanner
from aftermath.review.scanners.yara import YaraScanner

Spec = tuple[str, str, str, int]  # repository location, repository id, digest of the scanners, window
KEEP_OPEN = 4  # repositories (with their scanners) a worker keeps open between tasks
TASKS_PER_THREAD = 2  # batches in flight per worker thread: one scanning, one waiting
BATCH_BYTES = 64 << 20  # contents per task: the coordinator and the scheduler spend ~6 ms per task (measured)


# -- what goes to the workers -------------------------------------------------------------------------
def _yara(rules: bytes, timeout_seconds: int) -> YaraScanner:
    import yara_x

    return YaraScanner(yara_x.Rules.deserialize_from(io.BytesIO(rules)), timeout_seconds)


def _reduce_yara(scanner: YaraScanner) -> tuple[Any, tuple[bytes, int]]:
    out = io.BytesIO()
    scanner.rules.serialize_into(out)  # compiled YARA-X rules have no pickle of their own
    return _yara, (out.getvalue(), scanner.timeout_seconds)


def pack_scanners(scanners: Sequence[Scanner]) -> bytes:
    """The scanners as bytes a worker turns back into the same scanners; ToolError if one cannot be sent."""
    out = io.BytesIO()
    pickler = pickle.Pickler(out, protocol=pickle.HIGHEST_PROTOCOL)
    pickler.dispatch_table = {**copyreg.dispatch_table, YaraScanner: _reduce_yara}
    try:
        pickler.dump(list(scanners))
    except (pickle.PicklingError, TypeError, AttributeError) as exc:
        raise ToolError(f"a scanner cannot be sent to the cluster's workers ({exc}): run the review without "
                        "--cluster") from None
    return out.getvalue()


# -- on a worker ----------------------------------------------------------------------------------------
_OPENED: dict[Spec, tuple[Repository, list[Scanner]]] = {}  # per worker process: opened once, kept
_LOCK = threading.Lock()


def worker_password(environ: Mapping[str, str] = os.environ) -> bytes:
    """The repository password from the file this worker's own environment names (never from the client)."""
    path = environ.get(PASSWORD_ENV)
    if not path:
        raise PasswordError(f"a review worker has no repository password: start each worker with ${PASSWORD_ENV} "
                            "naming a file that holds it")
    return read_password_file(Path(path))


def _opened(spec: Spec, scanners: bytes | None) -> tuple[Repository, list[Scanner]]:
    with _LOCK:
        got = _OPENED.get(spec)
        if got is None:
            location, repo_id, _, _ = spec
            repo = Repository.open(location, worker_password())
            if repo.id != repo_id:
                repo.close()
                raise RepositoryError(f"a review worker opened repository {repo.id[:8]} at {location}, not "
                                      f"{repo_id[:8]}: check the location and the worker's credentials")
            if len(_OPENED) >= KEEP_OPEN:  # a long-lived worker serving many reviews keeps the latest few
                oldest = next(iter(_OPENED))
                _OPENED.pop(oldest)[0].close()
            got = _OPENED[spec] = (repo, pickle.loads(scanners or b""))  # noqa: S301 (our client's scanners)
        return got


def _same(blob: bytes) -> bytes:
    return blob


def scan_batch(spec: Spec, scanners: bytes, jobs: list[Job]) -> tuple[str, list[Result]]:
    """A Dask task: read and scan one batch on this worker; returns where it ran and the results."""
    repo, built = _opened(spec, scanners)
    try:
        from distributed import get_worker

        where = str(get_worker().address)
    except (ImportError, ValueError):
        where = f"pid {os.getpid()}"
    return where, run_jobs(repo, built, jobs, spec[3])


# -- on the machine that runs the review ------------------------------------------------------------------
class ClusterWorkers:
    """Runs batches of jobs on the workers of a Dask scheduler (same interface as :class:`.pool.Workers`)."""

    def __init__(self, address: str, repo: Repository, scanners: Sequence[Scanner], window: int = WINDOW, *,
                 timeout: float | None = None) -> None:
        """Connect to the scheduler at ``address`` and wait for a worker (``timeout``: Dask's connect timeout)."""
        try:
            dask: Any = importlib.import_module("distributed")  # untyped: used through Any
        except ImportError:
            raise ToolError("--cluster needs Dask distributed: install it with pip install 'aftermath[cluster]'"
                            ) from None
        if timeout is None:
            core: Any = importlib.import_module("dask")
            timeout = float(core.utils.parse_timedelta(core.config.get("distributed.comm.timeouts.connect")))
        self.window, self.address, self.batch_bytes = window, address, BATCH_BYTES
        try:
            self.client: Any = dask.Client(address, timeout=timeout, set_as_default=False)
        except Exception as exc:  # noqa: BLE001 (refused, timed out, bad address, TLS not configured: one line)
            raise ToolError(f"no Dask scheduler answered at {address} ({exc}): start one with 'dask scheduler', "
                            "give its address to --cluster, and for tls:// set Dask's TLS configuration") from None
        try:
            self.client.wait_for_workers(1, timeout=timeout)
        except (OSError, TimeoutError) as exc:
            self.client.close()
            raise ToolError(f"the Dask scheduler at {address} has no workers ({exc}): start some with "
                            f"'dask worker {address} --nthreads 1'") from None
        blob = pack_scanners(scanners)
        self.spec: Spec = (repo.location, repo.id, hashlib.sha256(blob).hexdigest(), window)
        # a task, not scattered data: if every worker holding it is lost, the scheduler makes it again
        self.shared = self.client.submit(_same, blob, key=f"aftermath-scanners-{self.spec[2][:16]}", pure=False)
        self.run_id = uuid.uuid4().hex[:12]
        self.ran_on: Counter[str] = Counter()  # batches per worker address, as returned
        self.pending: list[Any] = []
        self.limit, self.recount = TASKS_PER_THREAD, 0.0  # batches in flight, and when to count threads again

    @property
    def processes(self) -> int:
        """How many worker threads the cluster has now."""
        return sum(self.client.nthreads().values())

    def run(self, batches: Iterable[list[Job]]) -> Iterator[list[Result]]:
        """Results of every batch, as they finish (at most ``TASKS_PER_THREAD`` per worker thread in flight)."""
        done: Any = importlib.import_module("distributed").as_completed(loop=self.client.loop)
        for number, batch in enumerate(batches):
            future = self.client.submit(scan_batch, self.spec, self.shared, batch, pure=False,
                                        key=f"aftermath-review-{self.run_id}-{number}")
            self.pending.append(future)
            done.add(future)
            if time.monotonic() >= self.recount:  # asking the scheduler is a round trip: once a second
                self.limit, self.recount = TASKS_PER_THREAD * max(1, self.processes), time.monotonic() + 1.0
            while done.count() >= self.limit:
                yield self._take(next(done))
        for future in done:
            yield self._take(future)

    def _take(self, future: Any) -> list[Result]:
        try:
            where, results = future.result()
        except AftermathError:
            raise
        except Exception as exc:  # noqa: BLE001 (any failure of a task, e.g. KilledWorker, in one line)
            raise ToolError(f"a review task failed on the cluster at {self.address} ({type(exc).__name__}: "
                            f"{exc}): check the workers' logs, or run the review without --cluster") from None
        finally:
            self.pending.remove(future)
            future.release()
        self.ran_on[where] += 1
        return list(results)

    def close(self, now: bool = False) -> None:
        """Forget this review's tasks on the cluster and disconnect (the workers keep running)."""
        if now and self.pending:
            self.client.cancel(self.pending)
        self.pending.clear()
        self.client.close()

    def __enter__(self) -> ClusterWorkers:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, *exc: object) -> None:
        self.close(now=exc_type is not None)
