"""rag.llm.runtime against real llama.cpp with a tiny random-weight GGUF

Integration tier: real models, FAISS, GGUF files, reader weights; in process.
"""

from __future__ import annotations

import shutil
import threading
from pathlib import Path
from types import ModuleType

import pytest

from rag.errors import ModelError
from rag.llm.resolve import resolve_model_path
from rag.llm.runtime import LocalModel

from ..fakes import _assert_one_line

MESSAGES = [
    {"role": "system", "content": "Answer briefly."},
    {"role": "user", "content": "Who won the match?"},
]


@pytest.fixture(scope="module")
def model(tiny_gguf: Path) -> LocalModel:
    pytest.importorskip("llama_cpp")
    # One thread: the tiny model gains nothing from more, and spinning ggml threads on a busy
    # machine slow it down by orders of magnitude.
    return LocalModel.load(tiny_gguf, threads=1, n_ctx=512, seed=0)


@pytest.mark.slow  # real llama.cpp (fast with the tiny model)
def test_loads_and_streams_pieces(model: LocalModel) -> None:
    assert model.name == "tiny"
    assert model.n_ctx == 512
    stream = model.chat_stream(MESSAGES, max_tokens=24, temperature=0.0)
    pieces = list(stream)
    assert len(pieces) >= 1
    assert all(isinstance(p, str) and p for p in pieces)


@pytest.mark.slow  # real llama.cpp (fast with the tiny model)
def test_chat_joins_the_stream_deterministically(model: LocalModel) -> None:
    streamed = "".join(model.chat_stream(MESSAGES, max_tokens=24, temperature=0.0))
    assert model.chat(MESSAGES, max_tokens=24, temperature=0.0) == streamed
    sampled = model.chat(MESSAGES, max_tokens=24, temperature=0.8)
    assert model.chat(MESSAGES, max_tokens=24, temperature=0.8) == sampled  # fixed seed


@pytest.mark.slow  # real llama.cpp (fast with the tiny model)
def test_uses_the_files_chat_template(model: LocalModel, tiny_script: ModuleType) -> None:
    assert model.chat_template == tiny_script.CHAT_TEMPLATE
    assert model.chat_format == "chat_template.default"
    prompt = model.format_prompt(MESSAGES)
    assert prompt == (
        "<|im_start|>system\nAnswer briefly.<|im_end|>\n"
        "<|im_start|>user\nWho won the match?<|im_end|>\n"
        "<|im_start|>assistant\n"
    )
    # What llama.cpp actually evaluated starts with exactly that prompt, markers as single
    # control tokens.
    model.chat(MESSAGES, max_tokens=4, temperature=0.0)
    expected = model._llm.tokenize(prompt.encode(), add_bos=False, special=True)
    im_start = model._llm.tokenize(b"<|im_start|>", add_bos=False, special=True)
    assert len(im_start) == 1 and expected.count(im_start[0]) == 3
    assert [int(t) for t in model._llm.input_ids[: len(expected)]] == expected
    assert model.prompt_tokens(MESSAGES) == len(expected)


@pytest.mark.slow  # real llama.cpp (fast with the tiny model)
def test_count_tokens_uses_the_models_bpe(model: LocalModel) -> None:
    assert model.count_tokens("Who won the match?") > 0
    assert model.count_tokens("") == 0
    assert model.count_tokens(" the") == 1  # merged: Ġ t -> Ġt, h e -> he, Ġt he -> Ġthe
    assert model.count_tokens("xyz") == 3  # no merges: one byte token each


@pytest.mark.slow  # real llama.cpp (fast with the tiny model)
def test_context_overflow_is_a_model_error(model: LocalModel) -> None:
    long_text = "zq " * 400  # about 800 tokens: no merges apply
    with pytest.raises(ModelError) as info:
        model.chat_stream([{"role": "user", "content": long_text}], max_tokens=8, temperature=0)
    message = _assert_one_line(info.value)
    assert "does not fit the model context of 512" in message
    assert "lower --k or the prompt budget" in message
    # A short prompt still overflows once the answer's tokens are reserved.
    with pytest.raises(ModelError, match="does not fit the model context of 512"):
        model.chat(MESSAGES, max_tokens=500, temperature=0.0)
    # The model is still usable afterwards.
    assert model.chat(MESSAGES, max_tokens=4, temperature=0.0) is not None


@pytest.mark.slow  # real llama.cpp (fast with the tiny model)
def test_llama_cpps_own_context_error_is_translated(model: LocalModel) -> None:
    # Skip the pre-check to hit llama-cpp-python's ValueError("Requested tokens (N) exceed ...").
    stream = model._stream(
        [{"role": "user", "content": "zq " * 400}], max_tokens=8, temperature=0.0
    )
    with pytest.raises(ModelError) as info:
        next(stream)
    assert "does not fit the model context of 512" in _assert_one_line(info.value)
    assert model.count_tokens("lock released") > 0


@pytest.mark.slow  # real llama.cpp (fast with the tiny model)
def test_a_template_that_refuses_is_a_model_error(model: LocalModel) -> None:
    with pytest.raises(ModelError, match="chat template of model tiny rejected"):
        model.format_prompt([{"role": "user"}])  # no content: the template fails


@pytest.mark.slow  # real llama.cpp (fast with the tiny model)
def test_context_is_capped_at_the_training_context(tiny_gguf: Path) -> None:
    pytest.importorskip("llama_cpp")
    big = LocalModel.load(tiny_gguf, threads=1, n_ctx=4096, seed=0)
    try:
        assert big.n_ctx_train == 2048
        assert big.n_ctx == 2048
    finally:
        big.close()


@pytest.mark.slow  # real llama.cpp (fast with the tiny model)
def test_calls_are_serialised_across_threads(model: LocalModel) -> None:
    expected = model.chat(MESSAGES, max_tokens=16, temperature=0.0)
    results: list[str] = []
    errors: list[BaseException] = []

    def worker() -> None:
        try:
            for _ in range(3):
                results.append(model.chat(MESSAGES, max_tokens=16, temperature=0.0))
        except BaseException as exc:  # surfaced by the assertion below
            errors.append(exc)

    threads = [threading.Thread(target=worker) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert not errors
    assert results == [expected] * 9


@pytest.mark.slow  # real llama.cpp (fast with the tiny model)
def test_abandoned_stream_releases_the_model(model: LocalModel) -> None:
    stream = model.chat_stream(MESSAGES, max_tokens=24, temperature=0.0)
    next(iter(stream))
    stream.close()  # type: ignore[attr-defined]
    assert model.count_tokens("still usable") > 0


@pytest.mark.slow  # real llama.cpp (fast with the tiny model)
def test_two_streams_read_in_turn_from_one_thread_never_hang(model: LocalModel) -> None:
    first = model.chat_stream(MESSAGES, max_tokens=24, temperature=0.0)
    assert next(iter(first))
    second = model.chat_stream(MESSAGES, max_tokens=24, temperature=0.0)
    assert "".join(second)  # takes the model over from the first, in the same thread
    with pytest.raises(ModelError, match="was cut off: another answer needed the model"):
        next(iter(first))
    assert model.chat(MESSAGES, max_tokens=4, temperature=0.0) is not None


@pytest.mark.slow  # real llama.cpp (fast with the tiny model)
def test_a_half_read_stream_does_not_block_other_threads(model: LocalModel) -> None:
    abandoned = model.chat_stream(MESSAGES, max_tokens=24, temperature=0.0)
    assert next(iter(abandoned))
    answers: list[str] = []
    worker = threading.Thread(
        target=lambda: answers.append(model.chat(MESSAGES, max_tokens=4, temperature=0.0))
    )
    worker.start()
    worker.join(timeout=30)  # it waits IDLE_SECONDS for the idle stream, then takes over
    assert not worker.is_alive() and answers and answers[0] is not None
    with pytest.raises(ModelError, match="cut off"):
        next(iter(abandoned))


@pytest.mark.slow  # real llama.cpp (fast with the tiny model)
def test_llama_cpp_rejecting_a_file_is_a_one_line_model_error(tmp_path: Path) -> None:
    pytest.importorskip("llama_cpp")
    gguf = pytest.importorskip("gguf")
    path = tmp_path / "empty-llama.gguf"
    writer = gguf.GGUFWriter(str(path), "llama")  # valid GGUF, but no hyperparameters/tensors
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    assert resolve_model_path(str(path)) == path  # structurally fine
    with pytest.raises(ModelError) as info:
        LocalModel.load(path, threads=1, n_ctx=256, seed=0)
    assert _assert_one_line(info.value).startswith(f"cannot load model {path}")


@pytest.mark.parametrize("keep", [100, 10, 0.5, -1])
def test_truncated_copy(tiny_gguf: Path, tmp_path: Path, keep: float) -> None:
    data = tiny_gguf.read_bytes()
    n = (
        int(len(data) * keep)
        if isinstance(keep, float)
        else (len(data) + keep if keep < 0 else keep)
    )
    cut = tmp_path / "cut.gguf"
    cut.write_bytes(data[:n])
    with pytest.raises(ModelError) as info:
        resolve_model_path(str(cut))
    assert "truncated" in _assert_one_line(info.value)
    with pytest.raises(ModelError, match="truncated"):
        LocalModel.load(cut, threads=1, n_ctx=256, seed=0)


def test_complete_file_resolves(tiny_gguf: Path) -> None:
    assert resolve_model_path(f"  {tiny_gguf}  ") == tiny_gguf


def test_hf_spec_uses_the_cache_offline(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, tiny_gguf: Path
) -> None:
    constants = pytest.importorskip("huggingface_hub.constants")
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", True)
    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(tmp_path))
    commit = "0123456789abcdef0123456789abcdef01234567"
    repo_dir = tmp_path / "models--someone--tiny-GGUF"
    (repo_dir / "refs").mkdir(parents=True)
    (repo_dir / "refs" / "main").write_text(commit)
    cached = repo_dir / "snapshots" / commit / "tiny.gguf"
    cached.parent.mkdir(parents=True)
    shutil.copyfile(tiny_gguf, cached)
    assert resolve_model_path("hf:someone/tiny-GGUF/tiny.gguf") == cached
