"""From rows to people: one person per real customer, merged across sources.

Rows are joined when they share a stable identifier (a customer id column's value, an email address),
or failing those the same normalised name and street address with the same ZIP. Joins are transitive
(union-find): a ticket with only a customer id joins the CRM row with that id, and through it the billing
row with the same email. Elements are composed per row (a card and its CVV count as access only when in
the same record), then united per person.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field

from aftermath.notify.discover.kinds import elements_of
from aftermath.notify.discover.residence import resolve
from aftermath.notify.discover.scan import ROLES, RowRecord
from aftermath.notify.people import Person, e164

R = {name: i for i, name in enumerate(ROLES)}
_SPACES = re.compile(r"[^a-z0-9]+")


@dataclass(frozen=True, slots=True)
class Location:
    """Where one element of a person was found. Never the value itself."""

    source: str
    table: str
    column: str
    row: int
    kind: str
    confidence: float


@dataclass
class Merged:
    """The people built from all rows, with what the report needs about them."""

    people: list[Person] = field(default_factory=list)
    locations: dict[str, list[Location]] = field(default_factory=dict)
    flags: dict[str, tuple[str, ...]] = field(default_factory=dict)
    unaffected: int = 0          # people seen in the data with no element exposed
    unattributed: list[tuple[str, str, int]] = field(default_factory=list)  # rows with elements, nobody to own


def norm(text: str) -> str:
    """Lower-case ASCII words separated by single spaces (for comparing names and streets)."""
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return _SPACES.sub(" ", ascii_text.lower()).strip()


def keys(ident: tuple[str, ...]) -> list[str]:
    """The identity keys of one row, strongest first."""
    out = []
    if ident[R["customer_id"]]:
        out.append("id:" + ident[R["customer_id"]].strip().lower())
    if "@" in ident[R["email"]]:
        out.append("email:" + ident[R["email"]].strip().lower())
    name = _name(ident)
    if name and ident[R["address"]]:
        zip5 = ident[R["postal_code"]][:5]
        out.append(f"addr:{norm(name)}|{norm(ident[R['address']])}|{zip5}")
    return out


def _name(ident: tuple[str, ...]) -> str:
    if ident[R["name"]]:
        return ident[R["name"]]
    return " ".join(p for p in (ident[R["first_name"]], ident[R["last_name"]]) if p)


class _UnionFind:
    def __init__(self) -> None:
        self.parent: dict[str, str] = {}

    def find(self, k: str) -> str:
        parent = self.parent
        root = k
        while parent.setdefault(root, root) != root:
            root = parent[root]
        while parent[k] != root:  # path compression
            parent[k], k = root, parent[k]
        return root

    def union(self, a: str, b: str) -> None:
        ra, rb = self.find(a), self.find(b)
        if ra != rb:
            self.parent[max(ra, rb)] = min(ra, rb)


def merge(batches: Iterable[tuple[str, list[RowRecord]]]) -> Merged:
    """Build people from (source, rows) batches."""
    uf = _UnionFind()
    rows: list[tuple[str, RowRecord, list[str]]] = []
    result = Merged()
    for source, records in batches:
        for rec in records:
            ks = keys(rec[2])
            if not ks:
                if rec[3]:
                    result.unattributed.append((source, rec[0], rec[1]))
                continue
            for k in ks[1:]:
                uf.union(ks[0], k)
            rows.append((source, rec, ks))
    groups: dict[str, list[tuple[str, RowRecord]]] = defaultdict(list)
    for source, rec, ks in rows:
        groups[uf.find(ks[0])].append((source, rec))
    for members in groups.values():
        _person(members, result)
    result.people.sort(key=lambda p: p.id)
    return result


def _best(members: list[tuple[str, RowRecord]], role: str) -> str:
    counts: dict[str, int] = defaultdict(int)
    for _, rec in members:
        value = rec[2][R[role]]
        if value:
            counts[value] += 1
    return max(counts, key=lambda v: (counts[v], v)) if counts else ""


def _person(members: list[tuple[str, RowRecord]], result: Merged) -> None:
    elements: set[str] = set()
    locations = []
    for source, (table, row, _, hits) in members:
        elements |= elements_of(kind for _, kind, _ in hits)
        locations += [Location(source, table, col, row, kind, conf) for col, kind, conf in hits]
    if not elements:
        result.unaffected += 1
        return
    # The address is taken as a whole from the most complete row, never mixed across rows.
    addr_row = max((rec[2] for _, rec in members), key=lambda i: (bool(i[R["address"]]), bool(i[R["postal_code"]]),
                                                                  bool(i[R["region"]]), bool(i[R["city"]])))
    home = resolve(addr_row[R["address"]], addr_row[R["address2"]], addr_row[R["city"]], addr_row[R["region"]],
                   addr_row[R["postal_code"]], addr_row[R["country"]])
    names = [n for n in (_name(rec[2]) for _, rec in members) if n]
    name = max(set(names), key=lambda n: (names.count(n), len(n), n)) if names else ""
    ids = sorted({rec[2][R["customer_id"]] for _, rec in members if rec[2][R["customer_id"]]})
    email = _best(members, "email").strip().lower()
    pid = ids[0] if ids else (email or "p-" + hashlib.sha256(f"{norm(name)}|{norm(home.street)}".encode())
                              .hexdigest()[:12])
    phones = [p for p in (e164(rec[2][R["phone"]], home.country) for _, rec in members if rec[2][R["phone"]]) if p]
    phone = max(set(phones), key=lambda p: (phones.count(p), p)) if phones else ""
    person = Person(pid, name, home.street, home.city, home.region, home.postal_code, home.country, email,
                    frozenset(elements), phone=phone)
    result.people.append(person)
    result.locations[pid] = locations
    flags = home.flags + tuple(n for n in addr_row[R["residence_note"]].split("; ") if n)
    if flags:
        result.flags[pid] = flags
