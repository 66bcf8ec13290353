"""The responder's end of the agent stream: framing, hashing, confinement, cut-off streams."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from aftermath.secure.collect.receiver import ProtocolError, Receiver, confine

MARK = "\x1eaftermath-test:"


def frame(header: dict[str, object], data: bytes | None = None, sha: str | None = None) -> bytes:
    if data is not None:
        header = {**header, "size": len(data), "sha256": sha or hashlib.sha256(data).hexdigest()}
    return MARK.encode() + json.dumps(header).encode() + b"\n" + (data or b"")


def test_files_arrive_in_any_chunk_sizes_hashed_and_read_only(tmp_path: Path) -> None:
    stream = (frame({"t": "hello", "clock": {"epoch": 5.0}}) + frame({"t": "file", "path": "live/a.txt",
                                                                        "artifact": "a", "source": "cmd"}, b"x" * 1000)
              + frame({"t": "file", "path": "files/etc/empty", "artifact": "b"}, b"")
              + frame({"t": "artifact", "name": "a", "status": "ok"}) + frame({"t": "done"}))
    receiver = Receiver(tmp_path, clock=lambda: 7.0, marker=MARK)
    for i in range(0, len(stream), 7):
        receiver.feed(stream[i:i + 7])
    result = receiver.close()
    assert result.done and result.hello_at == 7.0 and result.artifacts["a"]["status"] == "ok"
    assert [f["path"] for f in result.files] == ["live/a.txt", "files/etc/empty"]
    assert result.files[0]["sha256"] == hashlib.sha256(b"x" * 1000).hexdigest()
    assert (tmp_path / "live/a.txt").read_bytes() == b"x" * 1000
    assert (tmp_path / "live/a.txt").stat().st_mode & 0o222 == 0


def test_a_hash_mismatch_is_reported_and_the_file_kept(tmp_path: Path) -> None:
    receiver = Receiver(tmp_path, marker=MARK)
    receiver.feed(frame({"t": "file", "path": "x"}, b"data", sha="0" * 64))
    result = receiver.close()
    assert result.files[0]["complete"] is False and "do not match" in result.errors[0]
    assert (tmp_path / "x").read_bytes() == b"data"


def test_a_stream_cut_mid_file_keeps_the_part_and_marks_it(tmp_path: Path) -> None:
    receiver = Receiver(tmp_path, marker=MARK)
    receiver.feed(frame({"t": "file", "path": "big"}, b"y" * 100)[:-40])
    result = receiver.close()
    assert result.files[0] == {**result.files[0], "size": 60, "complete": False}
    assert not result.done


@pytest.mark.parametrize("hostile", ["../../etc/passwd", "/abs/../../x", "files/../../../y"])
def test_paths_from_the_host_stay_inside_the_output_folder(tmp_path: Path, hostile: str) -> None:
    receiver = Receiver(tmp_path / "out", marker=MARK)
    receiver.feed(frame({"t": "file", "path": hostile}, b"z"))
    written = tmp_path / "out" / receiver.close().files[0]["path"]
    assert written.resolve().is_relative_to((tmp_path / "out").resolve())
    assert confine(tmp_path, "a/./b").relative_to(tmp_path).as_posix() == "a/b"


def test_a_broken_header_after_the_marker_is_a_protocol_error(tmp_path: Path) -> None:
    with pytest.raises(ProtocolError):
        Receiver(tmp_path, marker=MARK).feed(MARK.encode() + b"not json\n")


def test_output_outside_frames_is_set_aside_as_stray_and_the_frames_still_arrive(tmp_path: Path) -> None:
    greeting = b"Hello from a preloaded library!\n"
    fake = b'{"t": "done"}\n'  # a frame without this run's marker is not a frame
    stream = (greeting + frame({"t": "hello"}) + b"noise" + frame({"t": "file", "path": "f"}, b"data")
              + fake + frame({"t": "done"}) + b"bye")
    receiver = Receiver(tmp_path, marker=MARK)
    for i in range(0, len(stream), 3):  # the marker is cut across chunks
        receiver.feed(stream[i:i + 3])
    result = receiver.close()
    assert result.done and result.hello is not None and (tmp_path / "f").read_bytes() == b"data"
    assert result.stray == greeting + b"noise" + fake + b"bye"
    assert result.stray_bytes == len(result.stray)
    assert result.channel()["stray"].startswith("Hello from a preloaded library!")


def test_each_receiver_has_its_own_random_marker(tmp_path: Path) -> None:
    assert Receiver(tmp_path).marker != Receiver(tmp_path).marker
