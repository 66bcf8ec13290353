"""Detection and false positives of the review's rules on real web shells and real applications.

    PYTHONPATH=src python bench/rules_quality.py DIR_OF_SHELLS DIR_OF_BENIGN [--compare RULES ...] [--json OUT]

DIR_OF_SHELLS holds public web shells (any layout); DIR_OF_BENIGN holds stock applications, one folder
each. Both are fetched for local evaluation and never committed (docs/benchmarks.md says from where).
Files are sorted into languages by extension; shells are counted once per distinct content (SHA-256).
Files of the collections that are not web shells (exploits, attacker-side clients, command-line tools) are
listed with the reason in bench/rules_quality_excluded.tsv and left out (``--all-samples`` counts them).

Measured in one run, for Aftermath's default rules and for each ``--compare`` rule set (for example a
public rule set's generic web-shell rules, compiled with the external variables LOKI and THOR define):

- detection by content per language (a shell counts as found when any YARA rule matches it);
- every benign file flagged, with its rule (a false positive), their share of the benign files, and a table
  of flagged files per stock application; every benign file is scanned, as the review scans every file
  (``--scripts-only``: only those named like scripts);
- YARA scan throughput on the benign files (one process);
- placement findings on the benign tree (programs in folders named like data folders);
- with ``--restore-point APP``: a restic repository of three snapshots, the stock application APP (a
  folder of DIR_OF_BENIGN) alone, then with half of the PHP shells dropped among its own files and in its
  upload folder, then with the other half: the review's verdicts and last clean restore point (it should
  be the first snapshot).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import random
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import yara_x

from aftermath.restic import Repository
from aftermath.review import run_review
from aftermath.review.scanners import PlacementScanner, YaraScanner, default_scanners
from aftermath.review.scanners.yara import expand_rule_paths

LANGUAGES = {
    ".php": "PHP", ".php3": "PHP", ".php4": "PHP", ".php5": "PHP", ".php7": "PHP", ".phtml": "PHP", ".pht": "PHP",
    ".jsp": "JSP", ".jspx": "JSP", ".jspf": "JSP",
    ".asp": "ASP", ".asa": "ASP", ".cer": "ASP", ".cdx": "ASP",
    ".aspx": "ASPX", ".ashx": "ASPX", ".asmx": "ASPX", ".ascx": "ASPX",
    ".pl": "Perl", ".cgi": "Perl", ".pm": "Perl",
    ".py": "Python",
    ".cfm": "ColdFusion", ".cfml": "ColdFusion", ".cfc": "ColdFusion",
}
MAX_BYTES = 16 << 20
# A shell sample must hold code of its language: collections also carry README pages, 404 pages saved under
# a .php name and Perl scripts named .php; those are counted apart, for both rule sets alike.
CODE = {
    "PHP": re.compile(rb"<\?"), "JSP": re.compile(rb"<%|<jsp:"), "ASP": re.compile(rb"<%|runat", re.I),
    "ASPX": re.compile(rb"<%|runat", re.I), "Perl": re.compile(rb"\bperl\b|\buse\s+\w|\bmy\s+[$@%]|\$ENV\{"),
    "Python": re.compile(rb"^\s*(import|from)\s+\w", re.M), "ColdFusion": re.compile(rb"<cf", re.I),
}


@dataclass(frozen=True)
class Sample:
    """One file of a corpus."""

    path: Path
    rel: str
    language: str
    data: bytes


def language_of(path: Path) -> str | None:
    """The language a file is written in, by its extension (None: not a server-side script)."""
    return LANGUAGES.get(path.suffix.lower())


EXCLUDED = Path(__file__).with_name("rules_quality_excluded.tsv")


def excluded_list(path: Path = EXCLUDED) -> dict[str, str]:
    """The collections' files that are not web shells (path below DIR_OF_SHELLS -> why), read from ``path``."""
    lines = path.read_text(encoding="utf-8").splitlines()
    return dict(line.split("\t", 1) for line in lines if line.strip() and not line.startswith("#"))


def samples(root: Path, distinct: bool, not_code: list[str] | None = None,
            excluded: dict[str, str] | None = None, every_file: bool = False) -> Iterator[Sample]:
    """Script files below ``root`` (each distinct content once when ``distinct``); with ``not_code``, files
    that hold no code of their language are left out and named there; files named in ``excluded`` (and any
    other copy of their content) are left out too. With ``every_file``, every other file too (as the review
    scans them: Drupal's ``.module``/``.inc``, JavaScript, templates, data), its language "other"."""
    seen = {hashlib.sha256(Path(root, rel.lstrip("/")).read_bytes()).hexdigest()
            for rel in excluded or {} if Path(root, rel.lstrip("/")).is_file()}
    for folder, dirs, files in os.walk(root):
        dirs.sort()
        for name in sorted(files):
            path = Path(folder, name)
            language = language_of(path) or ("other" if every_file else None)
            if language is None or path.is_symlink() or not path.is_file() or path.stat().st_size > MAX_BYTES:
                continue
            data = path.read_bytes()
            digest = hashlib.sha256(data).hexdigest()
            if distinct and (digest in seen or not data.strip()):
                continue
            seen.add(digest)
            if not_code is not None and language in CODE and not CODE[language].search(data):
                not_code.append("/" + path.relative_to(root).as_posix())
                continue
            yield Sample(path, "/" + path.relative_to(root).as_posix(), language, data)


Matcher = Callable[[Sample], list[str]]


def ours() -> Matcher:
    """Aftermath's default rules, through the review's own YARA scanner."""
    scanner = YaraScanner.from_paths()
    return lambda s: sorted({f.rule for f in scanner.scan(s.rel, s.data)})


EXTERNALS = {"filename": "", "filepath": "", "extension": "", "filetype": "", "owner": ""}


def public(paths: list[Path]) -> tuple[Matcher, list[str]]:
    """Another rule set, compiled file by file with LOKI/THOR external variables; files that fail are named."""
    compiler = yara_x.Compiler()
    for name, value in EXTERNALS.items():
        compiler.define_global(name, value)
    skipped: list[str] = []
    for path in expand_rule_paths(paths):
        try:
            compiler.new_namespace(path.stem)
            compiler.add_source(path.read_text(encoding="utf-8", errors="replace"), origin=str(path))
        except yara_x.CompileError as exc:
            skipped.append(f"{path.name}: {str(exc).strip().splitlines()[0]}")
    scanner = yara_x.Scanner(compiler.build())

    def match(s: Sample) -> list[str]:
        scanner.set_global("filename", s.path.name)
        scanner.set_global("filepath", str(s.path.parent))
        scanner.set_global("extension", s.path.suffix.lower())
        scanner.set_global("filetype", s.language.upper())
        return sorted({r.identifier for r in scanner.scan(s.data).matching_rules})
    return match, skipped


def evaluate(name: str, match: Matcher, shells: list[Sample], benign: list[Sample]) -> dict[str, object]:
    """Detection per language on the shells, false positives and throughput on the benign files."""
    found: Counter[str] = Counter()
    missed: dict[str, list[str]] = defaultdict(list)
    for s in shells:
        if match(s):
            found[s.language] += 1
        else:
            missed[s.language].append(s.rel)
    start = time.perf_counter()
    flagged = [(s.rel, rules) for s in benign if (rules := match(s))]
    seconds = time.perf_counter() - start
    size = sum(len(s.data) for s in benign)
    return {"name": name, "found": dict(found), "missed": dict(missed), "flagged": flagged,
            "benign_seconds": seconds, "benign_mib_s": size / (1 << 20) / seconds if seconds else 0.0}


def placement_flags(benign_root: Path) -> list[tuple[str, str]]:
    """Placement findings on the stock applications (each path relative to its application's folder)."""
    scanner = PlacementScanner()
    flagged = []
    for app in sorted(p for p in benign_root.iterdir() if p.is_dir()):
        for folder, _dirs, files in os.walk(app):
            for name in files:
                path = Path(folder, name)
                if path.is_symlink() or not path.is_file():
                    continue
                rel = "/" + path.relative_to(app).as_posix()
                with path.open("rb") as fh:
                    head = fh.read(scanner.head_bytes)
                flagged += [(f"{app.name}{rel}", f.rule) for f in scanner.scan(rel, head)]
    return flagged


def restore_point(app: Path, shells: list[Sample]) -> str:
    """Snapshot the stock application, then add shells in two steps; review; report the verdicts."""
    php = [s for s in shells if s.language == "PHP"]
    random.Random(12).shuffle(php)
    with tempfile.TemporaryDirectory(prefix="i12-restore-point-") as tmp:
        root, repo, pw = Path(tmp, "site"), Path(tmp, "repo"), Path(tmp, "pw")
        shutil.copytree(app, root, symlinks=True)
        pw.write_text("bench")
        env = {**os.environ, "RESTIC_REPOSITORY": str(repo), "RESTIC_PASSWORD_FILE": str(pw),
               "RESTIC_CACHE_DIR": str(Path(tmp, "cache"))}
        subprocess.run(["restic", "init"], env=env, check=True, capture_output=True)
        folders = sorted({p.parent for p in root.rglob("*.php")})
        upload = root / "wp-content" / "uploads" / "2026" / "11"
        for step, batch in enumerate(([], php[: len(php) // 2], php[len(php) // 2:])):
            for i, s in enumerate(batch):
                where = upload if i % 3 == 0 else folders[(i * 7919) % len(folders)]
                where.mkdir(parents=True, exist_ok=True)
                (where / f"s{step}-{i}-{s.path.name}").write_bytes(s.data)
            subprocess.run(["restic", "backup", "--host", "site", "--time", f"2026-11-0{step + 1} 02:00:00", "."],
                           env=env, cwd=root, check=True, capture_output=True)
        result = run_review(Repository.open(repo, "bench"), default_scanners(), workers=1)
    verdicts = " ".join(s.verdict for s in result.snapshots)
    why = Counter(f"{o.finding.severity} {o.finding.rule}" for o in result.findings if o.finding.kind != "yara")
    first = result.snapshots[0].id
    return (f"restore point on {app.name}: {len(php)} PHP shells added over snapshots 2 and 3; verdicts: {verdicts}; "
            f"last clean: {'snapshot 1 (right)' if result.last_clean == first else result.last_clean}; "
            f"{sum(1 for f in result.findings if f.finding.kind == 'yara')} YARA findings; others: {dict(why)}")


def render(results: list[dict[str, object]], shells: list[Sample], benign: list[Sample]) -> str:
    """A markdown report: one table per measure, then every false positive."""
    per_language = Counter(s.language for s in shells)
    head = "| language | shells | " + " | ".join(str(r["name"]) for r in results) + " |"
    lines = [head, "|---|---:|" + "---:|" * len(results)]
    for language, count in sorted(per_language.items(), key=lambda kv: -kv[1]):
        cells = [_rate(dict(r["found"]).get(language, 0), count) for r in results]  # type: ignore[call-overload]
        lines.append(f"| {language} | {count} | " + " | ".join(cells) + " |")
    total = len(shells)
    lines.append(f"| **all** | {total} | " + " | ".join(
        _rate(sum(dict(r["found"]).values()), total) for r in results) + " |")  # type: ignore[call-overload]
    scripts = [s for s in benign if s.language != "other"]
    lines += ["", f"benign files: {len(benign)} ({sum(len(s.data) for s in benign) / (1 << 20):.1f} MiB), of which "
              f"{len(scripts)} scripts by extension ({sum(len(s.data) for s in scripts) / (1 << 20):.1f} MiB)", ""]
    lines += per_application(results, benign) + [""]
    for r in results:
        flagged = list(r["flagged"])  # type: ignore[call-overload]
        lines.append(f"- {r['name']}: {len(flagged)} benign files flagged "
                     f"({100 * len(flagged) / max(len(benign), 1):.3f}%), YARA on the benign files "
                     f"{r['benign_seconds']:.2f} s ({r['benign_mib_s']:.1f} MiB/s)")
        lines += [f"  - {rel}: {', '.join(rules)}" for rel, rules in flagged]
    return "\n".join(lines)


def application(rel: str) -> str:
    """The application a benign file belongs to: its first folder below DIR_OF_BENIGN."""
    return rel.lstrip("/").split("/", 1)[0]


def per_application(results: list[dict[str, object]], benign: list[Sample]) -> list[str]:
    """A table: each stock application's files and how many each rule set flags."""
    files = Counter(application(s.rel) for s in benign)
    flagged = [Counter(application(rel) for rel, _ in r["flagged"]) for r in results]  # type: ignore[attr-defined]
    lines = ["| application | files | " + " | ".join(f"flagged by {r['name']}" for r in results) + " |",
             "|---|---:|" + "---:|" * len(results)]
    lines += [f"| {app} | {count} | " + " | ".join(str(f[app]) for f in flagged) + " |"
              for app, count in sorted(files.items())]
    return lines


def _rate(found: int, count: int) -> str:
    return f"{found} ({100 * found / count:.0f}%)" if count else "–"


def main(argv: list[str] | None = None) -> int:
    """Run the evaluation and print the report."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("shells", type=Path)
    parser.add_argument("benign", type=Path)
    parser.add_argument("--compare", type=Path, nargs="*", default=[], help="another rule set (files or folders)")
    parser.add_argument("--json", type=Path, help="also write every result (with the missed shells) here")
    parser.add_argument("--missed", action="store_true", help="list the shells our rules miss")
    parser.add_argument("--restore-point", metavar="APP", help="also: review APP with shells added in later snapshots")
    parser.add_argument("--scripts-only", action="store_true",
                        help="scan only the benign files named like scripts (as before), not every file")
    parser.add_argument("--all-samples", action="store_true",
                        help=f"count the files {EXCLUDED.name} classifies as not web shells too")
    args = parser.parse_args(argv)
    not_code: list[str] = []
    excluded = {} if args.all_samples else excluded_list()
    shells = list(samples(args.shells, distinct=True, not_code=not_code, excluded=excluded))
    benign = list(samples(args.benign, distinct=False, every_file=not args.scripts_only))
    results = [evaluate("aftermath", ours(), shells, benign)]
    if args.compare:
        match, skipped = public(args.compare)
        results.append(evaluate("public rules", match, shells, benign))
        for line in skipped:
            print(f"public rule file skipped: {line}", file=sys.stderr)
    print(render(results, shells, benign))
    print(f"\nleft out of the shells, no code of their language: {len(not_code)}")
    print("\n".join(f"  - {path}" for path in not_code))
    print(f"\nleft out of the shells, not web shells ({EXCLUDED.name}): {len(excluded)}")
    print("\n".join(f"  - {path}: {why}" for path, why in excluded.items()))
    placed = placement_flags(args.benign)
    print(f"\nplacement on the stock applications: {len(placed)} findings")
    print("\n".join(f"  - {path}: {rule}" for path, rule in placed))
    if args.missed:
        for language, paths in sorted(dict(results[0]["missed"]).items()):  # type: ignore[call-overload]
            print(f"\nmissed {language}:\n  " + "\n  ".join(paths))
    if args.restore_point:
        print("\n" + restore_point(args.benign / args.restore_point, shells))
    if args.json:
        args.json.write_text(json.dumps(results, indent=1, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main())
