from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from aftermath.restic import Node
from aftermath.review.churn import Churn, bursts, diff_trees, listing_of


def node(name: str, content: tuple[str, ...] = (), subtree: str | None = None) -> Node:
    kind = "dir" if subtree else "file"
    return Node(name, kind, 0o644, None, None, None, 0, 0, 0, content, subtree, None)


def test_a_first_mass_rewrite_is_a_burst() -> None:
    [b] = bursts([{"/docs": Churn(before=40, added=40, removed=40)}])
    assert (b.transition, b.folder, b.usual) == (0, "/docs", 0.0)


def test_small_or_partial_changes_are_not_bursts() -> None:
    assert bursts([{"/docs": Churn(before=40, changed=19)}]) == []  # fewer than 20 files
    assert bursts([{"/docs": Churn(before=100, changed=30)}]) == []  # under half the folder
    assert bursts([{"/docs": Churn(before=0, added=500)}]) == []  # additions are not a sign


def test_a_folder_that_always_churns_a_lot_does_not_burst_at_its_usual_level() -> None:
    usual = [{"/tmp/cache": Churn(before=100, changed=c)} for c in (90, 95, 100, 92, 97)]
    assert [b.transition for b in bursts(usual + [{"/tmp/cache": Churn(before=100, changed=99)}])] == [0]
    quiet = [{"/docs": Churn(before=100, changed=c)} for c in (1, 2, 0, 3, 1)]
    [b] = bursts(quiet + [{"/docs": Churn(before=100, changed=80)}])
    assert b.transition == 5 and b.usual == 1.4


@given(st.lists(st.integers(0, 60), min_size=1, max_size=10), st.integers(0, 60))
def test_burst_rule_holds_for_any_history(history: list[int], last: int) -> None:
    transitions = [{"/f": Churn(before=60, changed=c)} for c in history + [last]]
    found = [b for b in bursts(transitions) if b.transition == len(history)]
    mean = sum(history) / len(history)
    spread = (sum((h - mean) ** 2 for h in history) / len(history)) ** 0.5 if len(history) > 1 else 0.0
    spread = max(spread, mean ** 0.5)
    assert bool(found) == (last >= 30 and last > mean + 3 * spread)


def test_diff_trees_counts_per_folder_and_skips_unchanged_subtrees() -> None:
    trees = {
        "root1": [node("docs", subtree="docs1"), node("same", subtree="same")],
        "root2": [node("docs", subtree="docs2"), node("same", subtree="same")],
        "docs1": [node("a.txt", ("1",)), node("b.txt", ("2",)), node("c.txt", ("3",)), node("old", subtree="old1")],
        "docs2": [node("a.txt", ("1",)), node("b.txt", ("9",)), node("c.txt.locked", ("8",))],
        "old1": [node("x", ("5",)), node("y", ("6",))],
    }
    asked: list[str] = []

    def tree(tree_id: str) -> list[Node]:
        asked.append(tree_id)
        return trees[tree_id]

    out = diff_trees(listing_of(tree), "root1", "root2")
    assert out["/docs"] == Churn(before=3, added=1, removed=1, changed=1)
    assert out["/docs/old"] == Churn(before=2, removed=2)
    assert "/same" not in out and "same" not in asked


@given(st.dictionaries(st.sampled_from("abcdefgh"), st.sampled_from("123")),
       st.dictionaries(st.sampled_from("abcdefgh"), st.sampled_from("123")))
def test_diff_counts_match_a_name_by_name_comparison(old: dict[str, str], new: dict[str, str]) -> None:
    trees = {"old": [node(n, (c,)) for n, c in old.items()], "new": [node(n, (c,)) for n, c in new.items()]}
    out = diff_trees(listing_of(trees.__getitem__), "old", "new").get("/")
    expected = Churn(before=len(old), added=sum(n not in old for n in new), removed=sum(n not in new for n in old),
                     changed=sum(n in new and new[n] != c for n, c in old.items()))
    assert out == (expected if expected.added or expected.touched else None)
