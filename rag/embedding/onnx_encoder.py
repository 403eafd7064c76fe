"""Fast query encoding: the embedding model exported to ONNX, run without torch.

Importing sentence-transformers costs seconds, which a cold `rag ask` cannot afford just to embed
one question. `OnnxQueryEmbedder` loads the folder that rag.embedding.onnx_export writes next to
the index, with onnxruntime, tokenizers and numpy only (no torch, transformers or
sentence_transformers is imported), and implements the `Embedder` protocol. The folder holds

* `model.onnx` — the transformer alone (inputs `input_ids`, `attention_mask` and, if the model
  takes them, `token_type_ids`; output `last_hidden_state`), dynamic batch and sequence axes;
* `tokenizer.json` — the fast tokenizer sentence-transformers itself uses;
* `encoder.json` — format version, pooling, normalisation, max_seq_length, dim, input names,
  sizes and sha256 of both files, and where the model came from.

Pooling (mean over the attention mask, or the CLS token) and L2 normalisation run in numpy, not
in the graph: the graph stays the plain transformer (checkable against `AutoModel` output), the
pooling is declared in encoder.json rather than hidden in a graph, the formulas are the same as
sentence-transformers', and the cost is negligible next to the transformer. Output rows are
always L2-normalised, as the `Embedder` protocol requires (`normalize` in encoder.json records
whether the model itself ends in a Normalize module; normalising twice changes nothing).

Integrity on load: a full sha256 of the ~90 MB model.onnx costs about 65 ms, more than the 50 ms
a cold start can spend on it, so loading checks the file size and the sha256 of its first and
last MiB (about 4 ms), which catches truncation, a replaced file and damage to the graph, inputs
and outputs (stored at the ends of the file), but not a flipped byte in the middle of the
weights. The full sha256 stays in encoder.json for the index manifest, and `verify_full` checks
it on demand. tokenizer.json is small and is hashed in full on every load.

Not here: exporting the model (rag.embedding.onnx_export, the only part that needs torch). Only
text queries are handled; batching is plain (sorted by length, chunks of 32).
"""

from __future__ import annotations

import hashlib
import importlib
import json
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rag.embedding.model import file_sha256
from rag.errors import ModelError, one_line

if TYPE_CHECKING:
    import numpy as np

FORMAT_VERSION = 1
ENCODER_KIND = "rag-onnx-query-encoder"
MODEL_FILE = "model.onnx"
TOKENIZER_FILE = "tokenizer.json"
CONFIG_FILE = "encoder.json"
OUTPUT_NAME = "last_hidden_state"
EDGE_BYTES = 1 << 20  # load-time check: sha256 of the first and last MiB
SUPPORTED_POOLING = ("mean", "cls")
BATCH_SIZE = 32


def edge_sha256(path: Path) -> str:
    """sha256 of the first and last MiB of a file (the whole file if it is smaller)."""
    size = path.stat().st_size
    with path.open("rb") as handle:
        head = handle.read(EDGE_BYTES)
        handle.seek(max(0, size - EDGE_BYTES))
        tail = handle.read(EDGE_BYTES)
    return hashlib.sha256(head + tail).hexdigest()


# --- tokenizing, running and pooling (shared with the export's check) ----------------------------


def configure_tokenizer(tokenizer: Any, settings: dict[str, Any]) -> None:
    """Truncate to max_seq_length, pad to the longest text of the batch."""
    tokenizer.enable_truncation(
        max_length=int(settings["max_seq_length"]),
        strategy="longest_first",
        direction=str(settings["truncation_side"]),
    )
    tokenizer.enable_padding(
        direction=str(settings["padding_side"]),
        pad_id=int(settings["pad_id"]),
        pad_type_id=int(settings["pad_type_id"]),
        pad_token=str(settings["pad_token"]),
    )


def model_inputs(tokenizer: Any, texts: list[str], input_names: Sequence[str]) -> dict[str, Any]:
    """The graph's inputs (int64 arrays by name) for a batch of texts."""
    import numpy as np

    encodings = tokenizer.encode_batch(texts)
    columns = {
        "input_ids": [e.ids for e in encodings],
        "attention_mask": [e.attention_mask for e in encodings],
        "token_type_ids": [e.type_ids for e in encodings],
    }
    return {name: np.asarray(columns[name], dtype=np.int64) for name in input_names}


def open_session(path: Path, threads: int) -> Any:
    """An onnxruntime CPU session for the graph at `path`."""
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = max(1, threads)
    options.inter_op_num_threads = 1
    # Spinning worker threads win a little on an idle machine but collapse under contention
    # (one query: 24-39 ms instead of 6 ms at load 4-6), so they sleep when idle.
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    options.log_severity_level = 3  # errors only: no optimiser chatter on stderr
    return ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])


def pool(hidden: np.ndarray, mask: np.ndarray, pooling: str) -> np.ndarray:
    """Mean (over real tokens) or CLS pooling, then L2 normalisation, in float32."""
    import numpy as np

    hidden = hidden.astype(np.float32, copy=False)
    if pooling == "cls":
        pooled = hidden[:, 0, :]
    else:
        weights = mask.astype(np.float32)[:, :, None]
        pooled = (hidden * weights).sum(axis=1) / np.maximum(weights.sum(axis=1), 1e-9)
    norms = np.linalg.norm(pooled, axis=1, keepdims=True)
    return np.ascontiguousarray(pooled / np.maximum(norms, 1e-12), dtype=np.float32)


# --- reading and checking an exported folder ------------------------------------------------------


def _broken(out_dir: Path, detail: str) -> ModelError:
    return ModelError(
        f"query encoder at {out_dir} is missing or broken: {detail}; rebuild the index"
    )


def read_encoder_config(out_dir: Path) -> dict[str, Any]:
    """encoder.json of an exported query encoder, checked for form (not against the files)."""
    path = out_dir / CONFIG_FILE
    if not path.is_file():
        raise _broken(out_dir, f"no {CONFIG_FILE}")
    try:
        config = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise _broken(out_dir, f"{CONFIG_FILE} unreadable ({one_line(exc)})") from None
    if not isinstance(config, dict) or config.get("kind") != ENCODER_KIND:
        raise _broken(out_dir, f"{CONFIG_FILE} is not a query encoder description")
    if config.get("format_version") != FORMAT_VERSION:
        raise _broken(
            out_dir,
            f"{CONFIG_FILE} has format {config.get('format_version')!r}, expected {FORMAT_VERSION}",
        )
    required = (
        "pooling",
        "max_seq_length",
        "dim",
        "inputs",
        "tokenizer",
        "model_size",
        "model_edge_sha256",
        "model_sha256",
        "tokenizer_sha256",
    )
    missing = [key for key in required if key not in config]
    if missing or config["pooling"] not in SUPPORTED_POOLING:
        raise _broken(out_dir, f"{CONFIG_FILE} lacks {', '.join(missing) or 'a known pooling'}")
    return config


def _check_files(out_dir: Path, config: dict[str, Any]) -> None:
    """The cheap load-time check: sizes, the ends of model.onnx, all of tokenizer.json."""
    model_path, tokenizer_path = out_dir / MODEL_FILE, out_dir / TOKENIZER_FILE
    for path in (model_path, tokenizer_path):
        if not path.is_file():
            raise _broken(out_dir, f"no {path.name}")
    size = model_path.stat().st_size
    if size != config["model_size"]:
        raise _broken(out_dir, f"{MODEL_FILE} has {size} bytes, expected {config['model_size']}")
    if edge_sha256(model_path) != config["model_edge_sha256"]:
        raise _broken(out_dir, f"{MODEL_FILE} does not match its sha256 in {CONFIG_FILE}")
    if file_sha256(tokenizer_path) != config["tokenizer_sha256"]:
        raise _broken(out_dir, f"{TOKENIZER_FILE} does not match its sha256 in {CONFIG_FILE}")


def verify_full(out_dir: Path) -> dict[str, Any]:
    """The thorough check (full sha256 of model.onnx, ~65 ms); returns encoder.json."""
    config = read_encoder_config(out_dir)
    _check_files(out_dir, config)
    if file_sha256(out_dir / MODEL_FILE) != config["model_sha256"]:
        raise _broken(out_dir, f"{MODEL_FILE} does not match its sha256 in {CONFIG_FILE}")
    return config


# --- the embedder --------------------------------------------------------------------------------


class OnnxQueryEmbedder:
    """An exported query encoder run with onnxruntime + tokenizers + numpy (no torch)."""

    def __init__(
        self, session: Any, tokenizer: Any, config: dict[str, Any], *, name: str, out_dir: Path
    ) -> None:
        self._session = session
        self._tokenizer = tokenizer
        self.config = config
        self.name = name
        self.dim = int(config["dim"])
        self.out_dir = out_dir
        self.model_sha256 = str(config["model_sha256"])
        self._inputs = [str(item) for item in config["inputs"]]
        self._pooling = str(config["pooling"])

    @classmethod
    def from_dir(cls, out_dir: Path, *, threads: int, name: str) -> OnnxQueryEmbedder:
        config = read_encoder_config(out_dir)
        _check_files(out_dir, config)
        try:
            tokenizers = importlib.import_module("tokenizers")
            tokenizer = tokenizers.Tokenizer.from_file(str(out_dir / TOKENIZER_FILE))
            configure_tokenizer(tokenizer, config["tokenizer"])
        except Exception as exc:
            raise _broken(out_dir, f"{TOKENIZER_FILE} does not load ({one_line(exc)})") from None
        try:
            session = open_session(out_dir / MODEL_FILE, threads)
        except Exception as exc:
            raise _broken(
                out_dir, f"onnxruntime cannot load {MODEL_FILE} ({one_line(exc)})"
            ) from None
        inputs = sorted(item.name for item in session.get_inputs())
        outputs = [item.name for item in session.get_outputs()]
        if inputs != sorted(config["inputs"]) or OUTPUT_NAME not in outputs:
            raise _broken(
                out_dir,
                f"{MODEL_FILE} takes {inputs} and gives {outputs}, not what {CONFIG_FILE} says",
            )
        return cls(session, tokenizer, config, name=name, out_dir=out_dir)

    def embed_batch(self, texts: Sequence[str]) -> np.ndarray:
        import numpy as np

        texts = list(texts)
        result = np.zeros((len(texts), self.dim), dtype=np.float32)
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]))  # less padding per chunk
        for start in range(0, len(order), BATCH_SIZE):
            chunk = order[start : start + BATCH_SIZE]
            feeds = model_inputs(self._tokenizer, [texts[i] for i in chunk], self._inputs)
            hidden = self._session.run([OUTPUT_NAME], feeds)[0]
            result[chunk] = pool(hidden, feeds["attention_mask"], self._pooling)
        return result
