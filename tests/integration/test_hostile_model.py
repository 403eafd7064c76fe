"""Hostile model files (issue 11, item 9): a chat template that would hang the process or take
gigabytes is refused at load, in one line.

Before: a template with nested `range(100000)` loops gave no answer after 90 s (and stalled
`rag serve`); `{{ 'x' * 3000000000 }}` took 9 GB. The models are tiny random-weight GGUF files
(scripts/make_tiny_gguf.py) with the hostile template in their metadata, loaded by the real
llama.cpp.

Integration tier: real models, FAISS, GGUF files, reader weights; in process.
"""

from __future__ import annotations

from pathlib import Path
from types import ModuleType

import pytest

from rag.errors import ModelError

pytest.importorskip("llama_cpp")


def load(tiny_script: ModuleType, tmp_path: Path, template: str) -> None:
    from rag.llm.runtime import LocalModel

    path = tiny_script.build_tiny_gguf(tmp_path / "hostile.gguf", chat_template=template)
    model = LocalModel.load(path, threads=1, n_ctx=256, seed=0)
    model.close()


def test_a_template_asking_for_gigabytes_is_refused(
    tiny_script: ModuleType, tmp_path: Path
) -> None:
    with pytest.raises(ModelError, match="needs more than 1024 MiB"):
        load(tiny_script, tmp_path, "{{ 'x' * (3000000000 + messages | length) }}")


def test_a_template_that_raises_is_refused(tiny_script: ModuleType, tmp_path: Path) -> None:
    with pytest.raises(ModelError, match=r"cannot be used .*no system role"):
        load(tiny_script, tmp_path, "{{ raise_exception('no system role') }}")


def test_a_template_with_a_huge_output_is_refused(tiny_script: ModuleType, tmp_path: Path) -> None:
    with pytest.raises(ModelError, match="makes a prompt of"):
        load(tiny_script, tmp_path, "{% for i in range(3000) %}{{ messages }}{% endfor %}")


@pytest.mark.slow
def test_a_template_that_never_finishes_is_refused(tiny_script: ModuleType, tmp_path: Path) -> None:
    endless = "{% for i in range(100000) %}{% for j in range(100000) %}{% endfor %}{% endfor %}"
    with pytest.raises(ModelError, match="did not render in 10 s"):
        load(tiny_script, tmp_path, endless)
