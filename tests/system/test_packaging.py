"""The wheel, installed with only its core dependencies into a fresh venv outside the checkout:

System tier: the CLI in a subprocess, servers, the browser or packaging.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from ..fakes import ROOT, one_line_error

QUESTION = "who nominated Al Sudani?"

PIP_WHEEL = [sys.executable, "-m", "pip", "wheel", "-q", "--no-deps"]

IGNORED = shutil.ignore_patterns("__pycache__", "*.pyc")

PIP_INSTALL = ["-m", "pip", "install", "-q", "--progress-bar", "off", "--disable-pip-version-check"]


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The wheel, built from a copy of what it is made of (a build in the checkout would leave
    build/lib behind, whose stale files could reach later wheels)."""
    source = tmp_path_factory.mktemp("source")
    for name in ("pyproject.toml", "README.md", "LICENSE"):
        shutil.copy(ROOT / name, source / name)
    for package in ("rag", "ui", "seeds"):  # seeds/ is the wheel's rag/seeds/
        shutil.copytree(ROOT / package, source / package, ignore=IGNORED)
    dist = tmp_path_factory.mktemp("dist")
    subprocess.run(
        [*PIP_WHEEL, "-w", str(dist), str(source)],
        check=True,
        capture_output=True,
        timeout=300,
    )
    (built,) = dist.glob("rag-*.whl")
    return built


@pytest.fixture(scope="module")
def core_venv(wheel: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh venv holding the wheel and its core dependencies only (no extras)."""
    venv = tmp_path_factory.mktemp("venv")
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=300)
    done = subprocess.run(
        [str(venv / "bin" / "python"), *PIP_INSTALL, str(wheel)],
        capture_output=True,
        text=True,
        timeout=1800,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return venv


def run_installed(
    venv: Path, home: Path, *args: str, program: str = "rag"
) -> subprocess.CompletedProcess:
    """Run a program of the venv in an empty folder outside the checkout, with a clean
    environment: no RAG_* settings, a home of its own."""
    cwd = home / "elsewhere"
    cwd.mkdir(parents=True, exist_ok=True)
    env = {"PATH": "/usr/bin:/bin", "HOME": str(home), "LANG": "C.UTF-8"}
    return subprocess.run(
        [str(venv / "bin" / program), *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )


@pytest.mark.slow
def test_the_wheel_ships_the_article_and_no_checkout_files(wheel: Path) -> None:
    names = zipfile.ZipFile(wheel).namelist()
    assert "rag/seeds/000_5d857531382a8c3c.txt" in names
    assert {"rag/py.typed", "ui/py.typed", "ui/style.css"} <= set(names)
    assert any(n.endswith("/licenses/LICENSE") for n in names)
    tops = {n.split("/")[0] for n in names if not n.startswith("rag-")}
    assert tops == {"rag", "ui"}  # no `ui`, no tests, scripts or index
    metadata = zipfile.ZipFile(wheel).read(next(n for n in names if n.endswith("METADATA")))
    from rag import __version__

    assert f"\nVersion: {__version__}\n".encode() in metadata


@pytest.mark.slow
def test_a_core_install_answers_from_the_packaged_article(core_venv: Path, tmp_path: Path) -> None:
    python = str(core_venv / "bin" / "python")
    probe = (
        "import importlib.util as u; print([m for m in ('llama_cpp', 'gradio') if u.find_spec(m)])"
    )
    assert subprocess.run([python, "-c", probe], capture_output=True, text=True).stdout == "[]\n"

    done = run_installed(core_venv, tmp_path, "ask", QUESTION, "--json")
    assert done.returncode == 0, done.stderr
    assert "Co-ordination Framework" in json.loads(done.stdout)["answer"]
    index = tmp_path / ".local" / "share" / "rag" / "index"
    assert (index / "current" / "manifest.json").is_file()  # the per-user data folder
    assert not list((tmp_path / "elsewhere").iterdir())  # nothing written where it was run

    warm = (  # a warm ask, in-process, to see what it imported
        "import sys\nfrom rag.cli import main\n"
        f"assert main(['ask', {QUESTION!r}, '--json']) == 0\n"
        "print('HEAVY', sorted(m for m in ('torch', 'sentence_transformers', 'transformers') "
        "if m in sys.modules))"
    )
    done = run_installed(core_venv, tmp_path, "-c", warm, program="python")
    assert done.returncode == 0, done.stderr
    assert "Co-ordination Framework" in done.stdout
    assert done.stdout.rstrip().endswith("HEAVY []"), done.stdout


@pytest.mark.slow
def test_a_core_install_names_the_extra_or_file_a_command_needs(
    core_venv: Path, tmp_path: Path, tiny_gguf: Path
) -> None:
    line = one_line_error(run_installed(core_venv, tmp_path, "serve"), 1)
    assert "pip install 'rag[web]'" in line
    line = one_line_error(run_installed(core_venv, tmp_path, "eval"), 2)
    assert "--gold FILE" in line
    done = run_installed(core_venv, tmp_path, "ask", QUESTION, "--model", str(tiny_gguf))
    assert "pip install 'rag[llm]'" in one_line_error(done, 5)


@pytest.mark.slow
def test_an_index_folder_setting_overrides_the_data_folder(core_venv: Path, tmp_path: Path) -> None:
    chosen = tmp_path / "chosen-index"
    script = (
        "import os\nfrom rag import Settings\n"
        f"print(Settings.load().index_dir)\nos.environ['RAG_INDEX_DIR'] = {str(chosen)!r}\n"
        "print(Settings.load().index_dir)"
    )
    done = run_installed(core_venv, tmp_path, "-c", script, program="python")
    assert done.returncode == 0, done.stderr
    default, overridden = done.stdout.split()
    assert default == str(tmp_path / ".local" / "share" / "rag" / "index")
    assert overridden == str(chosen)
