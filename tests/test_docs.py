"""The manual holds together: every relative link and anchor in README.md, docs/ and benchmarks/ leads somewhere,
the README stays a short manual that names no machine, and every table written from benchmark JSON still equals
what benchmarks/render.py makes of that JSON."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from benchmarks import render

ROOT = Path(__file__).resolve().parents[1]
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md")), *sorted((ROOT / "benchmarks").glob("*.md"))]
LINK = re.compile(r"!?\[[^\]]*\]\(([^)\s]+)\)")
CPU_NAMES = re.compile(r"Xeon|EPYC|Ryzen|Core i[3579]|AMX|AVX")


def unfenced(path: Path) -> str:
    """The page without its fenced code blocks, where brackets and # are code, not links or headings."""
    return re.sub(r"^```.*?^```", "", path.read_text(), flags=re.S | re.M)


def anchors(path: Path) -> set[str]:
    """GitHub's anchors for the page's headings: lower case, punctuation dropped, spaces to hyphens, -1 on repeats."""
    found: set[str] = set()
    for heading in re.findall(r"^#{1,6} +(.+?) *$", unfenced(path), re.M):
        slug = re.sub(r"[^\w\- ]", "", heading.lower()).replace(" ", "-")
        found.add(next(s for s in (slug, *(f"{slug}-{i}" for i in range(1, 99))) if s not in found))
    return found


@pytest.mark.parametrize("page", PAGES, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_relative_link_leads_to_a_file_and_heading(page):
    broken = []
    for target in LINK.findall(re.sub(r"`[^`\n]*`", "", unfenced(page))):  # inline code holds no links
        if re.match(r"[a-z]+:", target):  # http:, https:, mailto:
            continue
        file, _, anchor = target.partition("#")
        path = (page.parent / file).resolve() if file else page
        if not path.exists():
            broken.append(f"{target}: no such file")
        elif anchor and path.suffix == ".md" and anchor not in anchors(path):
            broken.append(f"{target}: no heading #{anchor} in {path.relative_to(ROOT)}")
    assert not broken, "\n".join(broken)


def test_the_readme_is_a_short_manual_that_names_no_machine():
    size = len((ROOT / "README.md").read_bytes())
    assert size < 20_000, f"README.md is {size} bytes: move detail to docs/ (figures to benchmarks/results.md)"
    for page in PAGES:
        if page.name != "results.md":
            named = sorted(set(CPU_NAMES.findall(page.read_text())))
            assert not named, f"{page.relative_to(ROOT)} names {named}: machines belong in benchmarks/results.md"


@pytest.mark.parametrize("page", render.PAGES, ids=lambda p: p.name)
def test_generated_tables_equal_what_their_json_gives(page):
    blocks = list(render.MARKED.finditer(page.read_text()))
    assert blocks, f"{page.name} has no <!-- table:NAME --> blocks"
    stale = [m[1] for m in blocks if m[0] != render.block(m[1])]
    assert not stale, f"{page.name}: {stale} differ from their JSON; run python -m benchmarks.render"


def test_every_table_render_knows_is_on_a_page():
    placed = {m[1] for page in render.PAGES for m in render.MARKED.finditer(page.read_text())}
    assert placed == set(render.TABLES)
