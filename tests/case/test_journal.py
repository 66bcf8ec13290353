from __future__ import annotations

import dataclasses

from hypothesis import given
from hypothesis import strategies as st

from aftermath.case import journal

texts = st.text(max_size=20)
payloads = st.dictionaries(st.text(max_size=8), st.one_of(st.integers(), texts, st.booleans(), st.none()), max_size=4)
specs = st.lists(st.tuples(texts, texts, texts, payloads), min_size=1, max_size=12)


def build(spec: list[tuple[str, str, str, dict]]) -> list[journal.Entry]:
    chain: list[journal.Entry] = []
    for i, (actor, action, subject, data) in enumerate(spec):
        chain.append(journal.make_entry(chain[-1] if chain else None, f"2026-01-01T00:00:{i:02d}.000000Z",
                                        actor, action, subject, data))
    return chain


@given(specs)
def test_a_built_chain_verifies(spec):
    chain = build(spec)
    verdict = journal.verify(chain)
    assert verdict.ok and verdict.entries == len(chain)


@given(specs, st.data())
def test_any_edit_is_caught_at_that_entry(spec, data):
    chain = build(spec)
    i = data.draw(st.integers(0, len(chain) - 1))
    field = data.draw(st.sampled_from(["actor", "action", "subject", "at"]))
    edited = dataclasses.replace(chain[i], **{field: getattr(chain[i], field) + "x"})
    verdict = journal.verify(chain[:i] + [edited] + chain[i + 1:])
    assert not verdict.ok and verdict.bad_seq == chain[i].seq


@given(specs.filter(lambda s: len(s) >= 2), st.data())
def test_any_deletion_is_caught(spec, data):
    chain = build(spec)
    i = data.draw(st.integers(0, len(chain) - 2))
    verdict = journal.verify(chain[:i] + chain[i + 1:])
    assert not verdict.ok and verdict.bad_seq == chain[i + 1].seq


@given(specs.filter(lambda s: len(s) >= 2), st.data())
def test_any_swap_is_caught(spec, data):
    chain = build(spec)
    i = data.draw(st.integers(0, len(chain) - 2))
    swapped = chain[:i] + [chain[i + 1], chain[i]] + chain[i + 2:]
    assert not journal.verify(swapped).ok


@given(specs)
def test_a_chain_rewritten_from_the_start_fails_against_the_old_head(spec):
    chain = build(spec)
    head = (chain[-1].seq, chain[-1].hash)
    rewritten = build([("mallory", *s[1:]) for s in spec])
    assert journal.verify(chain, head).ok
    assert not journal.verify(rewritten, head).ok


def test_truncated_chain_fails_against_head():
    chain = build([("a", "b", "c", {})] * 3)
    verdict = journal.verify(chain[:2], (3, chain[2].hash))
    assert not verdict.ok and "missing" in verdict.reason


def test_parse_head_rejects_garbage():
    import pytest

    with pytest.raises(ValueError):
        journal.parse_head("12")
    assert journal.parse_head("3:" + "A" * 64) == (3, "a" * 64)
