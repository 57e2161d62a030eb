"""Citations in code and tests point at docs/ pages that exist, at headings that exist.

Every ``docs/<page>.md`` citation must name a page of docs/, and its ``#anchor`` must be the GitHub slug of
one of that page's headings; links inside docs/ are checked the same way. Outside docs/, nothing may still
cite the unpublished research notes (a ``reference`` path, a bare trap number or a section sign with a
number): a fresh clone could not follow them.
"""

from __future__ import annotations

import re
import subprocess
from functools import cache
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs"
SUFFIXES = {".py", ".md", ".sh", ".go", ".yaml", ".yml"}

CITATION = re.compile(r"(?<![\w/.-])docs/([\w.-]+\.md)(?:#([\w-]+))?")
DOC_LINK = re.compile(r"\]\((?!https?:)([\w.-]*\.md)?(?:#([\w-]+))?\)")
STALE = re.compile(r"(?<![\w/.-])reference[/][\w.-]+\.md|\breference (?:§|traps? \d)|\btraps? \d+|§ ?\d")


def tracked_files() -> list[Path]:
    out = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard", "-z"],
        cwd=ROOT,
        capture_output=True,
        check=True,
    ).stdout.decode()
    files = []
    for name in sorted(set(filter(None, out.split("\0")))):
        path = ROOT / name
        if (path.suffix in SUFFIXES or path.name == "run") and path.is_file():
            files.append(path)
    return files


def slug(heading: str) -> str:
    text = heading.strip().lower()
    text = re.sub(r"[^\w\- ]", "", text)
    return text.replace(" ", "-")


@cache
def anchors(page: Path) -> frozenset[str]:
    seen: dict[str, int] = {}
    found = set()
    fenced = False
    for line in page.read_text(encoding="utf-8").splitlines():
        if line.lstrip().startswith(("```", "~~~")):
            fenced = not fenced
            continue
        match = re.match(r"#{1,6}\s+(.*?)\s*#*\s*$", line)
        if fenced or not match:
            continue
        base = slug(match.group(1))
        count = seen.get(base, 0)
        seen[base] = count + 1
        found.add(base if count == 0 else f"{base}-{count}")
    return frozenset(found)


def check_target(where: str, page: Path, anchor: str | None, problems: list[str]) -> None:
    if not page.is_file():
        problems.append(f"{where}: {page.relative_to(ROOT)} does not exist")
    elif anchor and anchor not in anchors(page):
        problems.append(f"{where}: no heading of {page.relative_to(ROOT)} has the anchor #{anchor}")


def test_citations_name_existing_pages_and_headings():
    problems: list[str] = []
    for path in tracked_files():
        rel = path.relative_to(ROOT).as_posix()
        in_docs = rel.startswith("docs/")
        try:
            text = path.read_text(encoding="utf-8")
        except UnicodeDecodeError:
            continue
        for number, line in enumerate(text.splitlines(), 1):
            where = f"{rel}:{number}"
            for match in CITATION.finditer(line):
                check_target(where, DOCS / match.group(1), match.group(2), problems)
            if in_docs and path.suffix == ".md":
                for match in DOC_LINK.finditer(line):
                    page = path.parent / match.group(1) if match.group(1) else path
                    check_target(where, page, match.group(2), problems)
            elif not in_docs:
                for match in STALE.finditer(line):
                    found = match.group(0)
                    problems.append(f"{where}: cites the research notes ({found!r}); cite docs/ instead")
    assert not problems, "\n".join(problems)


def test_slugs_follow_github_rules():
    assert slug("Transactions, save and config-sync") == "transactions-save-and-config-sync"
    assert slug("Errors and had_errors") == "errors-and-had_errors"
    assert slug("Layer 4 and layer 7") == "layer-4-and-layer-7"
