"""Which of the review's costs release Python's GIL: one thread against two on the same work.

Each primitive runs on 1 MiB buffers, 200 times in one thread, then 100 times in each of two threads.
A speedup near 2 means the library releases the GIL; near (or below) 1 means it holds it. This is why
the review scans in worker processes (docs/decisions.md D15).

    PYTHONPATH=src python bench/gil.py
"""

from __future__ import annotations

import hashlib
import os
import threading
import time
from collections.abc import Callable

import zstandard
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.poly1305 import Poly1305

from aftermath.review.scanners import default_scanners

MIB = 1 << 20
RANDOM = os.urandom(MIB)
TEXT = (b"hello world lorem ipsum " * 50000)[:MIB]
KEY, IV = os.urandom(32), os.urandom(16)
COMPRESSED = zstandard.ZstdCompressor(level=3).compress(TEXT)
YARA = default_scanners()[0]
_LOCAL = threading.local()


def aes() -> None:
    dec = Cipher(algorithms.AES(KEY), modes.CTR(IV)).decryptor()
    dec.update(RANDOM)
    dec.finalize()


def poly1305() -> None:
    Poly1305.generate_tag(KEY, RANDOM)


def sha256() -> None:
    hashlib.sha256(RANDOM).digest()


def zstd() -> None:
    if not hasattr(_LOCAL, "dctx"):
        _LOCAL.dctx = zstandard.ZstdDecompressor()
    _LOCAL.dctx.decompress(COMPRESSED)


def yara_text() -> None:
    YARA.scan("/x.txt", TEXT)


def yara_random() -> None:
    YARA.scan("/x.bin", RANDOM)


def measure(work: Callable[[], None], n: int = 200) -> tuple[float, float]:
    """(MiB/s in one thread, MiB/s in two threads)."""
    start = time.perf_counter()
    for _ in range(n):
        work()
    one = time.perf_counter() - start

    def half() -> None:
        for _ in range(n // 2):
            work()

    threads = [threading.Thread(target=half) for _ in range(2)]
    start = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    two = time.perf_counter() - start
    return n / one, n / two


def main() -> None:
    print(f"{os.cpu_count()} CPUs; load average {os.getloadavg()[0]:.2f}\n")
    print("| work | 1 thread MiB/s | 2 threads MiB/s | speedup |")
    print("|---|---:|---:|---:|")
    for name, work in [("AES-256-CTR", aes), ("Poly1305", poly1305), ("SHA-256", sha256), ("zstd decompress", zstd),
                       ("YARA-X, text", yara_text), ("YARA-X, random bytes", yara_random)]:
        one, two = measure(work)
        print(f"| {name} | {one:.0f} | {two:.0f} | {two / one:.2f} |")


if __name__ == "__main__":
    main()
