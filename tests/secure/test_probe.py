"""The probe's package verification against a fabricated dpkg database and real files."""

from __future__ import annotations

import hashlib
from pathlib import Path

from aftermath.secure.sweep.probe import dpkg_db, package_state


def test_package_state_tells_owned_modified_and_unowned(tmp_path: Path) -> None:
    info = tmp_path / "info"
    info.mkdir()
    good, bad, stray = tmp_path / "good", tmp_path / "bad", tmp_path / "stray"
    for path in (good, bad, stray):
        path.write_bytes(path.name.encode())
    md5 = {p: hashlib.md5(p.read_bytes(), usedforsecurity=False).hexdigest() for p in (good, bad, stray)}
    (info / "tools.list").write_text(f"{good}\n{bad}\n")
    (info / "tools.md5sums").write_text(f"{md5[good]}  {str(good)[1:]}\n{'0' * 32}  {str(bad)[1:]}\n")
    db = dpkg_db(str(info))
    assert package_state(str(good), md5[good], db) == "owned"
    assert package_state(str(bad), md5[bad], db) == "modified"
    assert package_state(str(stray), md5[stray], db) == "unowned"
    assert package_state(str(good), md5[good], (set(), {})) == "no-dpkg"
