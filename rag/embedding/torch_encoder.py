"""The sentence-transformers adapter: the embedding model loaded with torch, used to build the
index (and as the query encoder when the ONNX export is missing or broken).

Only this module imports sentence_transformers; it does so when an embedder is made, never on
import, and with the Hugging Face hub offline. torch's thread count is process-wide: it is set
to the embedder's own only while it loads or embeds (`torch_threads`), then put back.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from rag.embedding.model import resolve_model_dir, verify_bundled_weights, weights_sha256
from rag.errors import ModelError

if TYPE_CHECKING:
    import numpy as np

# Progress bars and warnings of the Hugging Face libraries, off while a local model loads.
_QUIET = {"HF_HUB_DISABLE_PROGRESS_BARS": "1", "TRANSFORMERS_VERBOSITY": "error"}


@contextlib.contextmanager
def quiet_loading() -> Iterator[None]:
    """Set _QUIET's variables while a local model loads and restore them afterwards: nothing
    is left set for the rest of the process (HF_HUB_OFFLINE is never set; loaders are given
    local folders with local_files_only, so a later `hf:` download in the process still works)."""
    saved = {name: os.environ.get(name) for name in _QUIET}
    os.environ.update(_QUIET)
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


@contextlib.contextmanager
def torch_threads(threads: int) -> Iterator[None]:
    """torch's (process-wide) thread count set to `threads`, and restored on exit."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(max(1, threads))
    try:
        yield
    finally:
        torch.set_num_threads(before)


class SentenceTransformerEmbedder:
    """A local sentence-transformers model on the CPU, with a fixed thread count."""

    def __init__(self, model_dir: Path, name: str, *, threads: int, weights_hash: str) -> None:
        with quiet_loading():
            from sentence_transformers import SentenceTransformer

        with quiet_loading(), torch_threads(threads):
            try:  # a local folder, read with local_files_only: the hub is never asked
                self._model = SentenceTransformer(
                    str(model_dir), device="cpu", local_files_only=True
                )
            except Exception as exc:  # any loader failure is the user's model folder
                raise ModelError(f"cannot load embedding model {model_dir}: {exc}") from None
        self.name = name
        self.threads = threads
        self.model_dir = model_dir
        self.weights_sha256 = weights_hash
        dimension = (
            getattr(self._model, "get_embedding_dimension", None)
            or self._model.get_sentence_embedding_dimension
        )
        dim = dimension()
        if dim is None:
            raise ModelError(f"{model_dir}: model does not say its embedding dimension")
        self.dim = int(dim)

    @classmethod
    def from_setting(cls, setting: str, *, threads: int) -> SentenceTransformerEmbedder:
        model_dir, name = resolve_model_dir(setting)
        digest = weights_sha256(model_dir) if setting else verify_bundled_weights(model_dir)
        return cls(model_dir, name, threads=threads, weights_hash=digest)

    def embed_batch(self, texts: Sequence[str]) -> np.ndarray:
        import numpy as np

        with torch_threads(self.threads):
            vectors = self._model.encode(
                list(texts),
                batch_size=64,
                normalize_embeddings=True,
                convert_to_numpy=True,
                show_progress_bar=False,
            )
        return np.ascontiguousarray(vectors, dtype=np.float32)
