"""The ranking of hosts is a pure function of their findings."""

from __future__ import annotations

from aftermath.secure.sweep.model import Finding, Severity
from aftermath.secure.sweep.scoring import rank, score, verdict


def f(check: str, sev: Severity, host: str = "h") -> Finding:
    return Finding(host, check, sev, "what", "why")


def test_score_counts_each_check_once_fully_and_repeats_by_a_quarter() -> None:
    assert score([]) == 0
    assert score([f("a", Severity.HIGH)]) == 25
    assert score([f("a", Severity.HIGH), f("a", Severity.HIGH)]) == 31
    assert score([f("a", Severity.MEDIUM), f("b", Severity.MEDIUM)]) == 16
    assert score([f(str(i), Severity.CRITICAL) for i in range(5)]) == 100


def test_many_repeats_of_one_medium_check_do_not_outrank_one_critical() -> None:
    noisy = [f("recent-persistence", Severity.MEDIUM) for _ in range(20)]
    assert score(noisy) < score([f("webshell", Severity.CRITICAL)])


def test_verdict_words() -> None:
    assert verdict(8, Severity.CRITICAL, True) == "likely compromised"
    assert verdict(60, Severity.HIGH, True) == "likely compromised"
    assert verdict(20, Severity.HIGH, True) == "suspicious"
    assert verdict(2, Severity.LOW, True) == "no strong signs"
    assert verdict(0, None, False) == "unknown (sweep incomplete)"


def test_rank_orders_by_score_then_worst_severity_then_name() -> None:
    per_host = {
        "db": [f("a", Severity.MEDIUM, "db")],
        "web": [f("webshell", Severity.CRITICAL, "web"), f("cron", Severity.HIGH, "web")],
        "mail": [f("x", Severity.MEDIUM, "mail")],
        "ghost": [],
    }
    ranked = rank(per_host, incomplete=["ghost"])
    assert [s.host for s in ranked] == ["web", "db", "mail", "ghost"]
    assert ranked[0].verdict == "likely compromised" and ranked[-1].verdict.startswith("unknown")
    assert ranked[0].worst == Severity.CRITICAL and ranked[0].findings == 2
