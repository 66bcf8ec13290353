"""The isolation ruleset builder and the journal state fold: pure, so tested exhaustively here."""

from __future__ import annotations

import ipaddress
import json
from datetime import UTC, datetime

import pytest

from aftermath.case.journal import Entry
from aftermath.errors import UsageError
from aftermath.secure.contain import process
from aftermath.secure.contain import ruleset as rs
from aftermath.secure.contain import state as st

SESSION = rs.Session(ipaddress.ip_address("10.0.0.1"), 50022, ipaddress.ip_address("10.0.0.5"), 22)


def chain(text: str, name: str) -> list[str]:
    lines = text.splitlines()
    start = lines.index(f"\tchain {name} {{")
    end = lines.index("\t}", start)
    return [ln.strip() for ln in lines[start + 1:end]]


def test_parse_allow_splits_commas_repeats_and_dedups() -> None:
    nets = rs.parse_allow(["10.0.0.1, 2001:db8::1", "10.0.0.1", "[fd00::2]", "192.0.2.0/24"])
    assert [str(n) for n in nets] == ["10.0.0.1/32", "2001:db8::1/128", "fd00::2/128", "192.0.2.0/24"]


@pytest.mark.parametrize("bad", ["10.0.0.256", "example.com", "10.0.0.1/33", "fe80::1::2", "1.2.3"])
def test_parse_allow_rejects_invalid_address_with_one_clear_line(bad: str) -> None:
    with pytest.raises(UsageError) as err:
        rs.parse_allow([f"10.0.0.1,{bad}"])
    assert bad in err.value.message and "\n" not in err.value.message
    assert err.value.exit_code == 2


@pytest.mark.parametrize("wide", ["0.0.0.0/0", "::/0"])
def test_parse_allow_refuses_allow_everything(wide: str) -> None:
    with pytest.raises(UsageError, match="allow everything"):
        rs.parse_allow([wide])


def test_parse_allow_requires_something() -> None:
    with pytest.raises(UsageError, match="--allow is required"):
        rs.parse_allow([" , "])


def test_ruleset_drops_by_default_in_every_direction_and_replaces_the_table_atomically() -> None:
    text = rs.build_ruleset(rs.parse_allow(["10.0.0.1"]), None)
    assert text.splitlines()[:3] == ["table inet aftermath_isolation", "delete table inet aftermath_isolation",
                                     "table inet aftermath_isolation {"]
    for name in ("input", "output", "forward"):
        assert chain(text, name)[0] == f"type filter hook {name} priority filter - 10; policy drop;"
    assert chain(text, "forward") == ["type filter hook forward priority filter - 10; policy drop;"]
    assert 'iif "lo" accept' in chain(text, "input")
    assert 'oif "lo" accept' in chain(text, "output")


def test_ruleset_allows_ipv4_and_ipv6_responders_both_ways() -> None:
    text = rs.build_ruleset(rs.parse_allow(["10.0.0.1,10.0.0.9", "2001:db8::7"]), None)
    assert "ip saddr { 10.0.0.1/32, 10.0.0.9/32 } accept" in chain(text, "input")
    assert "ip daddr { 10.0.0.1/32, 10.0.0.9/32 } accept" in chain(text, "output")
    assert "ip6 saddr 2001:db8::7/128 accept" in chain(text, "input")
    assert "ip6 daddr 2001:db8::7/128 accept" in chain(text, "output")


def test_ruleset_keeps_ipv6_neighbour_discovery_on_link_only() -> None:
    text = rs.build_ruleset(rs.parse_allow(["2001:db8::7"]), None)
    nd = [r for r in chain(text, "input") if r.startswith("icmpv6")]
    assert nd == [f"icmpv6 type {{ {rs.ND_TYPES} }} ip6 hoplimit 255 accept"]


def test_ruleset_ipv4_only_has_no_ip6_address_rules() -> None:
    text = rs.build_ruleset(rs.parse_allow(["10.0.0.1"]), None)
    assert "ip6 saddr" not in text and "ip6 daddr" not in text


def test_ruleset_keeps_the_established_session_5_tuple() -> None:
    text = rs.build_ruleset(rs.parse_allow(["192.0.2.1"]), SESSION)
    assert ("ip saddr 10.0.0.1 ip daddr 10.0.0.5 tcp sport 50022 tcp dport 22 ct state established,related accept"
            in chain(text, "input"))
    assert ("ip saddr 10.0.0.5 ip daddr 10.0.0.1 tcp sport 22 tcp dport 50022 ct state established,related accept"
            in chain(text, "output"))


def test_ruleset_session_over_ipv6_uses_ip6() -> None:
    session = rs.Session.parse("2001:db8::1 40000 2001:db8::5 2222")
    assert session is not None
    text = rs.build_ruleset(rs.parse_allow(["2001:db8::1"]), session)
    assert "ip6 saddr 2001:db8::1 ip6 daddr 2001:db8::5 tcp sport 40000 tcp dport 2222" in text


def test_ruleset_is_deterministic_and_its_hash_follows_its_content() -> None:
    a = rs.build_ruleset(rs.parse_allow(["10.0.0.1"]), SESSION)
    assert a == rs.build_ruleset(rs.parse_allow(["10.0.0.1"]), SESSION)
    assert rs.ruleset_hash(a) != rs.ruleset_hash(rs.build_ruleset(rs.parse_allow(["10.0.0.2"]), SESSION))


def test_ruleset_refuses_empty_allow() -> None:
    with pytest.raises(UsageError):
        rs.build_ruleset([], None)


@pytest.mark.parametrize("text", ["", "10.0.0.1 5 10.0.0.2", "10.0.0.1 x 10.0.0.2 22", "10.0.0.1 5 ::1 22",
                                  "10.0.0.1 0 10.0.0.2 22", "host 1 10.0.0.2 22"])
def test_session_parse_rejects_malformed(text: str) -> None:
    assert rs.Session.parse(text) is None


def test_allows_matches_family_and_network() -> None:
    nets = rs.parse_allow(["192.0.2.0/24", "2001:db8::/64"])
    assert rs.allows(nets, ipaddress.ip_address("192.0.2.77"))
    assert rs.allows(nets, ipaddress.ip_address("2001:db8::99"))
    assert not rs.allows(nets, ipaddress.ip_address("198.51.100.1"))


@pytest.mark.parametrize("seconds", [0, -1, 86401])
def test_deadman_refuses_out_of_range(seconds: float) -> None:
    with pytest.raises(UsageError, match="--confirm-within"):
        rs.deadman_command(seconds)


def test_deadman_deletes_only_our_table_and_carries_its_mark() -> None:
    argv = rs.deadman_command(3)
    assert argv[:4] == ["setsid", "-f", "sh", "-c"] and argv[-1] == rs.DEADMAN_MARK
    assert argv[4].endswith("sleep 3; nft delete table inet aftermath_isolation")


def test_deadline_adds_the_seconds() -> None:
    assert rs.deadline(datetime(2024, 1, 1, tzinfo=UTC), 90) == datetime(2024, 1, 1, 0, 1, 30, tzinfo=UTC)


RULESET = {"nftables": [
    {"metainfo": {"version": "1.0.6"}},
    {"table": {"family": "inet", "name": "keepme", "handle": 1}},
    {"chain": {"family": "inet", "table": "keepme", "name": "aftermath_isolation", "handle": 1}},
    {"table": {"family": "inet", "name": "aftermath_isolation", "handle": 2}},
    {"chain": {"family": "inet", "table": "aftermath_isolation", "name": "input", "handle": 1}},
    {"table": {"family": "ip", "name": "aftermath_isolation", "handle": 3}},
]}


def test_without_isolation_drops_only_our_inet_table() -> None:
    kept = rs.without_isolation(json.dumps(RULESET))
    assert kept == [RULESET["nftables"][1], RULESET["nftables"][2], RULESET["nftables"][5]]
    assert rs.tables(json.dumps(RULESET)) == [("inet", "keepme"), ("inet", "aftermath_isolation"),
                                              ("ip", "aftermath_isolation")]


def test_canonical_rejects_non_json() -> None:
    with pytest.raises(UsageError, match="not nft JSON"):
        rs.canonical("table inet x {")


def entry(seq: int, action: str, subject: str = "h", **data: object) -> Entry:
    return Entry(seq, "t", "me", action, subject, dict(data), "", "")


def test_state_fold_follows_the_last_isolation_of_that_host_only() -> None:
    entries = [entry(1, st.ISOLATE, deadman_pid=10), entry(2, st.CONFIRM), entry(3, st.RELEASE),
               entry(4, st.ISOLATE, deadman_pid=20), entry(5, st.SELFTEST), entry(6, st.ISOLATE, "other")]
    state = st.state_of(entries, "h")
    assert (state.phase, state.deadman_pid, state.seq, state.active) == ("pending", 20, 4, True)
    assert st.state_of(entries[:3], "h").phase == "released"
    assert st.state_of(entries, "nobody").phase == "none"


def test_unnoticed_rollback_names_the_timer_only_when_pending() -> None:
    pending = st.IsolationState("pending", {"deadman_pid": 1}, 1)
    confirmed = st.IsolationState("confirmed", {}, 1)
    assert st.unnoticed_rollback(pending, table_present=True, timer_alive=False) is None
    assert "dead-man timer" in (st.unnoticed_rollback(pending, False, False) or "")
    assert "outside Aftermath" in (st.unnoticed_rollback(confirmed, False, False) or "")
    assert st.unnoticed_rollback(st.IsolationState("released"), False, False) is None


def test_refuse_pid_1_and_own_session() -> None:
    with pytest.raises(UsageError, match="PID 1"):
        process.refuse([42, 1], set())
    with pytest.raises(UsageError, match="responder's own session"):
        process.refuse([42, 77], {77, 78})
    with pytest.raises(UsageError):
        process.refuse([0], set())
    process.refuse([42], {77})


def test_parse_status_reads_fields() -> None:
    fields = process.parse_status("Name:\tsleep\nState:\tT (stopped)\nPPid:\t12\n")
    assert fields == {"Name": "sleep", "State": "T (stopped)", "PPid": "12"}
