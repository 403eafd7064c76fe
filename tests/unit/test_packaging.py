"""The wheel, installed with only its core dependencies into a fresh venv outside the checkout:
it answers from the article it ships, keeps its index in the user's data folder, never imports
torch on a warm `ask`, and names the extra to install when a command needs one.

Unit tier: no subprocess, no real model, no server; runs in seconds.
"""

from __future__ import annotations

import tomllib

from ..fakes import ROOT


def test_the_version_is_written_once() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    assert "version" not in project and project["dynamic"] == ["version"]
    extras = project["optional-dependencies"]
    assert [d.split(">")[0] for d in extras["llm"]] == ["llama-cpp-python"]
    assert [d.split(">")[0] for d in extras["web"]] == ["gradio"]
    core = " ".join(project["dependencies"])
    assert "llama" not in core and "gradio" not in core
