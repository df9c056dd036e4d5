"""Comments cite only documents that ship: no references to files outside the repository.

The project was built against a reference kept beside the checkout (its "DECISIONS", "USAGE-NOTES",
"spec §…" and research notes). Those facts now live in docs/ (design.md, usage-notes.md, …); a
citation of the old documents, or of a docs/ file that does not exist, fails here.
"""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SOURCES = [
    p
    for top in ("src", "tests", "bench", "scripts")
    for p in sorted((ROOT / top).rglob("*"))
    if p.suffix in {".py", ".sh", ".mjs", ".js", ".ts"}
    and not {"node_modules", "data", ".peers", ".venv"} & set(p.parts)  # vendored or third-party trees
]
GONE = re.compile(r"\bDECISIONS\b|USAGE-NOTES|\bspec §|stack-findings|lava-api\.md|peer-bench")
CITED_DOC = re.compile(r"\bdocs/([A-Za-z0-9_.-]+\.md)\b")
THIS_FILE = Path(__file__).resolve()


def test_no_citation_of_documents_outside_the_repository() -> None:
    found = [
        f"{p.relative_to(ROOT)}:{n}: {line.strip()}"
        for p in SOURCES
        if p.resolve() != THIS_FILE
        for n, line in enumerate(p.read_text(errors="replace").splitlines(), 1)
        if GONE.search(line)
    ]
    assert not found, "cite docs/*.md instead:\n" + "\n".join(found)


def test_every_cited_doc_exists() -> None:
    texts = [p.read_text(errors="replace") for p in SOURCES]
    texts += [p.read_text() for p in (ROOT / "docs").glob("*.md")] + [(ROOT / "README.md").read_text()]
    cited = {name for text in texts for name in CITED_DOC.findall(text)}
    assert {"design.md", "usage-notes.md"} <= cited
    missing = sorted(name for name in cited if not (ROOT / "docs" / name).is_file())
    assert not missing, f"cited but not in docs/: {missing}"


def test_cited_sections_of_design_md_exist() -> None:
    headings = {
        line.lstrip("#").strip().split(" (")[0]
        for line in (ROOT / "docs" / "design.md").read_text().splitlines()
        if line.startswith("## ")
    }
    pattern = re.compile(r'docs/design\.md "([^"]+)"')
    cited = {m for p in SOURCES for m in pattern.findall(p.read_text(errors="replace"))}
    assert cited, "no section citations found: the pattern is wrong"
    assert cited <= headings, f"sections cited but not in docs/design.md: {sorted(cited - headings)}"
