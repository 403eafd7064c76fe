"""The one writer of generated blocks in the README and docs/.

A block is the text between `<!-- NAME:start -->` and `<!-- NAME:end -->` (NAME: `bench`,
`bench-llm`, `fuzz`, `kills`, …). `write_block` replaces it in whichever file holds the markers —
README.md or a page of docs/ — so the tables can move between them; with no such markers anywhere
the block is appended to the README. Not here: what goes in a block (report, llm, the fuzz test's
tables).
"""

from __future__ import annotations

from pathlib import Path

from .common import ROOT


def markers(name: str) -> tuple[str, str]:
    return f"<!-- {name}:start -->", f"<!-- {name}:end -->"


def holder(name: str, root: Path = ROOT) -> Path | None:
    """The file (README.md, then docs/*.md) that holds block `name`, or None."""
    start, end = markers(name)
    for path in [root / "README.md", *sorted((root / "docs").glob("*.md"))]:
        if path.is_file():
            text = path.read_text(encoding="utf-8")
            if start in text and end in text.split(start, 1)[1]:
                return path
    return None


def write_block(name: str, section: str, root: Path = ROOT) -> Path:
    """Put `section` in block `name` where it is (see the module); the file written."""
    start, end = markers(name)
    body = section if section.endswith("\n") else section + "\n"
    block = f"{start}\n{body}{end}"
    path = holder(name, root)
    if path is None:
        path = root / "README.md"
        text = path.read_text(encoding="utf-8") if path.is_file() else ""
        path.write_text((text.rstrip("\n") + "\n\n" if text else "") + block + "\n", "utf-8")
        return path
    head, rest = path.read_text(encoding="utf-8").split(start, 1)
    _, tail = rest.split(end, 1)
    path.write_text(head + block + tail, encoding="utf-8")
    return path
