"""Split tests/test_*.py into tests/unit/, tests/integration/ and tests/system/ (issue 17, item 8).

Run once from the project root on the final tree: `python scripts/split_tests_by_tier.py`.

Each test (a top-level `test_*` function or `Test*` class) gets a tier from what it reaches
through the module's helpers and conftest's (an AST name-usage closure):
- system: it runs the CLI in a subprocess, a server, the browser or packaging (`run_rag`,
  `subprocess`, `RAG`, the `server`/`seed_server`/`page` fixtures, the `browser` marker);
- integration: otherwise, when marked `slow` (itself or by the module's `pytestmark`) or using
  a conftest fixture that holds a real model (INTEGRATION_NAMES: the tiny GGUF runs llama.cpp);
- unit: the rest.
Each tier present in a file gets `tests/<tier>/test_<name>.py` with the module docstring, the
imports (relative ones one level deeper), the helpers its tests use and the tests in their order.
Helpers needed by more than one tier file, or imported by another test module, and conftest's
helpers that test modules import, move once to `tests/fakes.py`; fixtures so shared move to
tests/conftest.py. `Path(__file__)` folder arithmetic becomes conftest's ROOT. The old files are
removed, and ruff fixes and formats the result. It prints the classification. It does not
change a test's body beyond those paths and imports.
"""

from __future__ import annotations

import ast
import re
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TESTS = ROOT / "tests"
TIERS = ("unit", "integration", "system")
ABOUT = {
    "unit": "Unit tier: no subprocess, no real model, no server; runs in seconds.",
    "integration": "Integration tier: real models, FAISS, GGUF files, reader weights; in process.",
    "system": "System tier: the CLI in a subprocess, servers, the browser or packaging.",
}
SYSTEM_NAMES = {"run_rag", "subprocess", "RAG", "server", "seed_server", "page", "Popen"}
# conftest fixtures holding a real model: llama.cpp over a GGUF file (in a sandbox process), MiniLM
INTEGRATION_NAMES = {"tiny_script", "tiny_gguf", "real_model_dir", "qwen_pipeline", "pipeline"}
PATHS = [  # Path(__file__) arithmetic in tests/, rewritten in terms of the project root
    (re.compile(r"Path\(__file__\)(\.resolve\(\))?\.parent\.parent"), "ROOT"),
    (re.compile(r"Path\(__file__\)(\.resolve\(\))?\.parent"), '(ROOT / "tests")'),
]


@dataclass
class Unit:
    """One top-level statement of a module: its source, what it defines and what it uses."""

    node: ast.stmt
    text: str
    defines: set[str] = field(default_factory=set)
    uses: set[str] = field(default_factory=set)

    @property
    def is_test(self) -> bool:
        name = getattr(self.node, "name", "")
        return (isinstance(self.node, ast.FunctionDef) and name.startswith("test_")) or (
            isinstance(self.node, ast.ClassDef) and name.startswith("Test")
        )

    @property
    def is_import(self) -> bool:
        return isinstance(self.node, ast.Import | ast.ImportFrom) or _type_checking(self.node)

    @property
    def is_fixture(self) -> bool:
        return any("fixture" in ast.unparse(d) for d in getattr(self.node, "decorator_list", []))


def _type_checking(node: ast.stmt) -> bool:
    return isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test)


def _names(node: ast.AST) -> set[str]:
    found: set[str] = set()
    for sub in ast.walk(node):
        if isinstance(sub, ast.Name):
            found.add(sub.id)
        elif isinstance(sub, ast.arg):
            found.add(sub.arg)  # fixtures are asked for by parameter name
        elif isinstance(sub, ast.Constant) and isinstance(sub.value, str):
            if sub.value.isidentifier():
                found.add(sub.value)  # usefixtures("x"), getfixturevalue("x")
        elif isinstance(sub, ast.alias):
            found.add((sub.asname or sub.name).split(".")[0])
    return found


def _defined(node: ast.stmt) -> set[str]:
    if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
        return {node.name}
    if isinstance(node, ast.Import | ast.ImportFrom):
        return {(a.asname or a.name).split(".")[0] for a in node.names}
    targets = node.targets if isinstance(node, ast.Assign) else [getattr(node, "target", None)]
    return {n.id for t in targets if t is not None for n in ast.walk(t) if isinstance(n, ast.Name)}


def parse(path: Path) -> tuple[str | None, list[Unit]]:
    source = path.read_text(encoding="utf-8")
    lines = source.splitlines(keepends=True)
    tree = ast.parse(source)
    body = tree.body
    doc = ast.get_docstring(tree, clean=False)
    if doc is not None:
        body = body[1:]
    units = []
    for node in body:
        first = min([node.lineno] + [d.lineno for d in getattr(node, "decorator_list", [])]) - 1
        while first > 0 and lines[first - 1].lstrip().startswith("#"):
            first -= 1  # the comment lines just above belong to it
        text = "".join(lines[first : node.end_lineno])
        uses = _names(node) - ({node.name} if isinstance(node, ast.ClassDef) else set())
        units.append(Unit(node, text, _defined(node), uses))
    return doc, units


def closure(start: set[str], units: list[Unit]) -> list[Unit]:
    """The non-import, non-test units that `start` reaches, in module order."""
    by_name = {n: u for u in units if not u.is_import and not u.is_test for n in u.defines}
    seen: dict[int, Unit] = {}
    todo = list(start)
    while todo:
        unit = by_name.get(todo.pop())
        if unit is not None and id(unit) not in seen:
            seen[id(unit)] = unit
            todo.extend(unit.uses)
    return [u for u in units if id(u) in seen]


def marked(unit: Unit, mark: str) -> bool:
    decorators = getattr(unit.node, "decorator_list", [])
    return any(f"mark.{mark}" in ast.unparse(d) for d in decorators)


def tier_of(test: Unit, units: list[Unit], conftest: list[Unit], module_slow: bool) -> str:
    reached = set(test.uses)
    for unit in closure(test.uses, units) + closure(test.uses, conftest):
        reached |= unit.uses
    # conftest fixtures a module helper asks for
    for unit in closure(reached, conftest):
        reached |= unit.uses
    if reached & SYSTEM_NAMES or marked(test, "browser"):
        return "system"
    real = module_slow or marked(test, "slow") or bool(reached & INTEGRATION_NAMES)
    return "integration" if real else "unit"


def module_is_slow(units: list[Unit]) -> bool:
    return any("pytestmark" in u.defines and "slow" in u.text for u in units)


def imported_from_tests(units: list[Unit]) -> dict[str, set[str]]:
    """{module: names} this module imports from sibling test modules and conftest."""
    found: dict[str, set[str]] = {}
    for unit in units:
        node = unit.node
        if isinstance(node, ast.ImportFrom) and node.level == 1 and node.module:
            found.setdefault(node.module, set()).update(a.name for a in node.names)
    return found


def helper_modules() -> set[str]:
    """The helper modules beside the tests (tests/news_page.py): they stay where they are."""
    return {
        p.stem
        for p in TESTS.glob("*.py")
        if not p.stem.startswith("test_") and p.stem not in ("conftest", "fakes", "__init__")
    }


def rewrite_imports(text: str, fakes: set[str], conftest_kept: set[str], deeper: str = "..") -> str:
    """One import statement, for a module one folder deeper (`deeper` ".."), or for a helper
    module that stays in tests/ (".")."""
    node = ast.parse(text).body[0]
    if not isinstance(node, ast.ImportFrom) or node.level != 1:
        return text
    if node.module in helper_modules():  # it stays in tests/: one level up from a tier folder
        return f"from {deeper}{node.module} import {', '.join(a.name for a in node.names)}\n"
    to_fakes = sorted(a.name for a in node.names if a.name in fakes)
    to_conftest = sorted(a.name for a in node.names if a.name in conftest_kept)
    missing = {a.name for a in node.names} - fakes - conftest_kept
    if missing:
        sys.exit(f"error: {node.module} names {sorted(missing)} are neither shared nor in conftest")
    out = ""
    if to_fakes:
        out += f"from {deeper}fakes import {', '.join(to_fakes)}\n"
    if to_conftest:
        out += f"from {deeper}conftest import {', '.join(to_conftest)}\n"
    return out


def import_lines(modules: list[list[Unit]], exclude: set[str]) -> str:
    """The absolute imports of `modules`, one line per name, without those binding `exclude`."""
    lines: dict[str, str] = {}  # bound name -> line
    for units in modules:
        for unit in units:
            node = unit.node
            if isinstance(node, ast.ImportFrom) and node.level == 0:
                for a in node.names:
                    alias = f" as {a.asname}" if a.asname else ""
                    lines.setdefault(
                        a.asname or a.name, f"from {node.module} import {a.name}{alias}"
                    )
            elif isinstance(node, ast.Import):
                for a in node.names:
                    alias = f" as {a.asname}" if a.asname else ""
                    bound = a.asname or a.name
                    lines.setdefault(bound if a.asname else a.name, f"import {a.name}{alias}")
    kept = [line for name, line in lines.items() if name.split(".")[0] not in exclude]
    return "".join(line + "\n" for line in sorted(kept, key=lambda x: "__future__" not in x))


def paths(text: str) -> str:
    for pattern, root in PATHS:
        text = pattern.sub(root, text)
    return text


def docstring(doc: str | None, about: str) -> str:
    text = (doc or "").strip()
    text = f"{text}\n\n{about}" if text else about
    return f'"""{text}\n"""\n\n'


def main() -> None:
    conftest_path = TESTS / "conftest.py"
    conf_doc, conftest = parse(conftest_path)
    modules = {p.stem: parse(p) for p in sorted(TESTS.glob("test_*.py"))}
    # what each module imports from its siblings and from conftest
    wanted: dict[str, set[str]] = {}
    for _, units in modules.values():
        for module, names in imported_from_tests(units).items():
            wanted.setdefault(module, set()).update(names)

    # plan each module's tier files
    plan: dict[str, dict[str, list[Unit]]] = {}
    rows = []
    for stem, (_, units) in modules.items():
        slow = module_is_slow(units)
        tiers: dict[str, list[Unit]] = {}
        for unit in units:
            if unit.is_test:
                tier = tier_of(unit, units, conftest, slow)
                tiers.setdefault(tier, []).append(unit)
                rows.append((stem, unit.node.name, tier))  # type: ignore[attr-defined]
        plan[stem] = tiers

    # helpers shared by tiers or imported across modules move to fakes (fixtures to conftest)
    shared: list[Unit] = []
    shared_fixtures: list[Unit] = []
    for stem, (_, units) in modules.items():
        users: dict[int, int] = {}
        for tests in plan[stem].values():
            for unit in closure(set().union(*(t.uses for t in tests)), units):
                users[id(unit)] = users.get(id(unit), 0) + 1
        roots = {n for n in wanted.get(stem, set())}
        moved = closure(roots, units) + [u for u in units if users.get(id(u), 0) > 1]
        for unit in closure(set().union(*(u.defines for u in moved)), units):
            if "pytestmark" in unit.defines:
                continue
            (shared_fixtures if unit.is_fixture else shared).append(unit)
    conf_moved = [
        u
        for u in closure(wanted.get("conftest", set()), conftest)
        if not u.is_fixture and not u.text.lstrip().startswith("@pytest.hookimpl")
    ]
    shared = conf_moved + shared
    by_name: dict[str, str] = {}
    for unit in shared + shared_fixtures:
        for name in unit.defines:
            if name in by_name and by_name[name] != unit.text:
                sys.exit(f"error: two different shared definitions of {name}; rename one first")
            by_name[name] = unit.text
    fakes_names = {n for u in shared for n in u.defines}
    for units in [conftest] + [m[1] for m in modules.values()]:
        local = {n for u in units if not u.is_import for n in u.defines}
        imported = {
            n for u in units if u.is_import and getattr(u.node, "level", 0) == 0 for n in u.defines
        }
        needs = {n for u in shared if any(u is v for v in units) for n in u.uses}
        clash = (fakes_names - local) & imported & needs
        if clash:
            sys.exit(f"error: shared helpers define {sorted(clash)}, which others import; rename")
    moved_ids = {id(u) for u in shared + shared_fixtures}
    conftest_kept = {n for u in conftest if id(u) not in moved_ids for n in u.defines}
    conftest_kept |= {n for u in shared_fixtures for n in u.defines}

    # tests/fakes.py: the shared helpers, with the imports of the modules they come from
    unique: list[Unit] = []
    for unit in shared:
        if all(unit.text != u.text for u in unique):
            unique.append(unit)
    sources = [conftest] + [m[1] for m in modules.values() if any(u in m[1] for u in shared)]
    fakes_doc = (
        "Fakes and helpers shared by the test tiers: stand-ins for the models (FakeEmbedder),\n"
        "small indexes and servers built for a test, and the project's paths. Fixtures live in\n"
        "tests/conftest.py."
    )
    (TESTS / "fakes.py").write_text(
        f'"""{fakes_doc}\n"""\n\n'
        + import_lines(sources, fakes_names)
        + "\n\n"
        + "\n\n".join(u.text.rstrip() + "\n" for u in unique),
        encoding="utf-8",
    )

    # tests/conftest.py: without what moved to fakes, with the fixtures shared by tier files
    kept = [u for u in conftest if id(u) not in moved_ids]
    fixtures: list[Unit] = []
    for unit in shared_fixtures:
        if all(unit.text != u.text for u in fixtures):
            fixtures.append(unit)
    fixture_sources = [m[1] for m in modules.values() if any(u in m[1] for u in shared_fixtures)]
    conf_text = f'"""{conf_doc}"""\n\n' if conf_doc is not None else ""
    conf_text += import_lines([kept, *fixture_sources], fakes_names)
    conf_text += "".join(u.text for u in kept if _type_checking(u.node))
    if fakes_names:
        conf_text += f"from .fakes import {', '.join(sorted(fakes_names))}\n"
    conf_text += "\n\n" + "\n\n".join(
        u.text.rstrip() + "\n" for u in kept + fixtures if not u.is_import
    )
    conftest_path.write_text(conf_text, encoding="utf-8")

    # the tier files
    written = []
    for tier in TIERS:
        folder = TESTS / tier
        folder.mkdir(exist_ok=True)
        init = folder / "__init__.py"
        if not init.exists():
            init.write_text("", encoding="utf-8")
    for stem, (doc, units) in modules.items():
        for tier, tests in plan[stem].items():
            needed = closure(set().union(*(t.uses for t in tests)), units)
            always = [u for u in units if "pytestmark" in u.defines or not u.defines]
            keep = {id(u) for u in needed + always if id(u) not in moved_ids} | {
                id(t) for t in tests
            }
            # the whole docstring once, in the first tier file; the others get its first line
            first = tier == next(t for t in TIERS if t in plan[stem])
            out = docstring(
                doc if first or doc is None else doc.strip().split("\n")[0], ABOUT[tier]
            )
            body = []
            for unit in units:
                if unit.is_import:
                    out += rewrite_imports(unit.text, fakes_names, conftest_kept)
                elif id(unit) in keep:
                    body.append(paths(unit.text).rstrip() + "\n")
                elif id(unit) in moved_ids and not unit.is_fixture:
                    out += f"from ..fakes import {', '.join(sorted(unit.defines))}\n"
            body = [b for b in body if b.strip() != "ROOT = ROOT"]
            text = "\n".join(body)
            if "ROOT" in text:
                source = "fakes" if "ROOT" in fakes_names else "conftest"
                out += f"from ..{source} import ROOT\n"
            target = TESTS / tier / f"{stem}.py"
            target.write_text(out + "\n\n" + text, encoding="utf-8")
            written.append(target)
        subprocess.run(["git", "rm", "-q", "--cached", str(TESTS / f"{stem}.py")], check=False)
        (TESTS / f"{stem}.py").unlink()

    # the helper modules stay in tests/; what they took from conftest may now be in fakes
    for stem in sorted(helper_modules()):
        helper = TESTS / f"{stem}.py"
        _, units = parse(helper)
        text = helper.read_text(encoding="utf-8")
        for unit in units:
            if unit.is_import and getattr(unit.node, "level", 0) == 1:
                new = rewrite_imports(unit.text, fakes_names, conftest_kept, deeper=".")
                text = text.replace(unit.text, new.rstrip("\n"), 1)
        helper.write_text(text, encoding="utf-8")
        written.append(helper)

    files = [str(p) for p in written] + [str(TESTS / "fakes.py"), str(conftest_path)]
    subprocess.run(["ruff", "check", "--fix", "--select", "F401,I001", "-q", *files], check=False)
    subprocess.run(["ruff", "format", "-q", *files], check=True)
    subprocess.run(["git", "add", str(TESTS)], check=True)

    width = max(len(f"{s}::{n}") for s, n, _ in rows)
    for stem, name, tier in rows:
        print(f"{stem + '::' + name:<{width}}  {tier}")
    counts = {t: sum(1 for *_, tier in rows if tier == t) for t in TIERS}
    print("  ".join(f"{t}: {n}" for t, n in counts.items()), f" fakes: {len(unique)} definitions")


if __name__ == "__main__":
    main()
