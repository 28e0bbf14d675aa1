"""Every citation resolves for a user: sources are public and listed in docs/references.md.

Users have neither the development team's shared folders, nor its course material, nor its issue
tracker, so no file may cite them; a bracketed key such as ``[howard2017]`` must be listed in
docs/references.md.
"""
from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SCANNED = ("accelsim", "docs", "hw", "workloads", "dataflows", "tests", "benchmarks", "schemas", "README.md",
           "setup.cfg", ".ci")
SUFFIXES = {".py", ".md", ".yaml", ".yml", ".json", ".cfg", ".txt", ".toml", ".csv", ""}
SKIPPED_PARTS = {"__pycache__", ".pytest_cache", ".hypothesis"}

FORBIDDEN = re.compile(
    r"\.\./shared|/work/shared|shared/reference|shared/seeds|\bseeds? ?0\d\d\b|\bissues? #?\d+\b", re.IGNORECASE)
#: Citation keys: author + year (howard2017), or a named peer / datasheet key of docs/references.md.
KEY = re.compile(r"\[([a-z]+\d{4}[a-z]?|scalesim-v\d(?:#\d+)?|timeloop|accelergy|zigzag|maestro|genz|a100|h100|"
                 r"cs231n\d{4}|vllm\w*|vidur|sarathi|leviathan|distserve|roofline|splitmix|little)\]")


def scanned_files():
    for entry in SCANNED:
        path = ROOT / entry
        paths = [path] if path.is_file() else sorted(path.rglob("*")) if path.is_dir() else []
        for p in paths:
            if p.is_file() and p.suffix in SUFFIXES and not SKIPPED_PARTS & set(p.parts) \
                    and "scalesim/cases" not in p.as_posix():
                yield p


def test_forbidden_pattern_matches_what_it_should():
    for text in ("see ../shared/reference/x.md", "(seed 003)", "issue 6 promises", "Issue #12", "/work/shared/a"):
        assert FORBIDDEN.search(text), text
    for text in ("scale-sim-v3#4", "SCALE-Sim#130", "seeded 0", "the issues", "shared_experts"):
        assert not FORBIDDEN.search(text), text


def test_no_unresolvable_citation():
    me = Path(__file__).resolve()
    hits = []
    for path in scanned_files():
        if path.resolve() == me:
            continue
        text = path.read_text(encoding="utf-8", errors="replace")
        for number, line in enumerate(text.splitlines(), 1):
            match = FORBIDDEN.search(line)
            if match:
                hits.append(f"{path.relative_to(ROOT)}:{number}: {match.group(0)!r}")
    assert not hits, ("cite public sources (docs/references.md) instead of the team's shared folders, course "
                      "material or issue numbers:\n" + "\n".join(hits))


def test_every_cited_key_is_listed():
    text = (ROOT / "docs" / "references.md").read_text(encoding="utf-8")
    listed = set(re.findall(r"^\| `\[([^\]]+)\]`", text, re.MULTILINE)) | set(
        re.findall(r"^- \*\*\[([^\]]+)\]\*\*", text, re.MULTILINE))
    assert {"scalesim-v3", "howard2017", "jouppi2017"} <= listed
    missing = []
    for path in scanned_files():
        for key in KEY.findall(path.read_text(encoding="utf-8", errors="replace")):
            if key not in listed:
                missing.append(f"{path.relative_to(ROOT)}: [{key}]")
    assert not missing, "add these keys to docs/references.md:\n" + "\n".join(sorted(set(missing)))
