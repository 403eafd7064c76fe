"""Fast query encoding: the embedding model exported to ONNX, run without torch.

Importing sentence-transformers costs seconds, which a cold `rag ask` cannot afford just to embed
one question. `export_query_encoder` (run once, at index time; it is the only function here that
imports torch and transformers, lazily) turns a local sentence-transformers model folder into a
small directory:

* `model.onnx` — the transformer alone (inputs `input_ids`, `attention_mask` and, if the model
  takes them, `token_type_ids`; output `last_hidden_state`), exported with the TorchScript
  exporter (`dynamo=False`: about 1.5 s for MiniLM, against 6 s for the dynamo exporter, which is
  only tried if the TorchScript one fails), dynamic batch and sequence axes, opset 17;
* `tokenizer.json` — the fast tokenizer sentence-transformers itself uses (AutoTokenizer's
  backend, with `do_lower_case` folded in), saved rather than copied byte for byte so that it is
  exactly what the index was embedded with;
* `encoder.json` — format version, pooling, normalisation, max_seq_length, dim, input names,
  sizes and sha256 of both files, and where the model came from.

Every file is written to a temporary name in the folder and moved into place with `os.replace`,
encoder.json last, so a crash leaves either the old encoder, a folder without encoder.json, or
files whose hashes do not match — never a half file that loads. Before anything is moved, the
ONNX graph is run on a padded batch and a truncated text and compared with the torch model.

`OnnxQueryEmbedder` loads that folder with onnxruntime, tokenizers and numpy only (no torch,
transformers or sentence_transformers is imported) and implements the `Embedder` protocol.
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

Not supported (export raises `ModelError`): models whose modules.json has anything beyond
Transformer, Pooling and Normalize (Dense layers, routers, …), pooling other than mean or cls,
non feature-extraction transformers, remote-code models, and architectures neither exporter can
trace. Only text queries are handled; batching is plain (sorted by length, chunks of 32).
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib
import inspect
import io
import json
import os
import secrets
import warnings
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rag.embedding import file_sha256
from rag.errors import ModelError, one_line

if TYPE_CHECKING:
    import numpy as np

FORMAT_VERSION = 1
ENCODER_KIND = "rag-onnx-query-encoder"
MODEL_FILE = "model.onnx"
TOKENIZER_FILE = "tokenizer.json"
CONFIG_FILE = "encoder.json"
OUTPUT_NAME = "last_hidden_state"
OPSET = 17  # TorchScript exporter
DYNAMO_OPSET = 18  # the dynamo exporter's own opset (no version conversion)
EDGE_BYTES = 1 << 20  # load-time check: sha256 of the first and last MiB
SUPPORTED_POOLING = ("mean", "cls")
BATCH_SIZE = 32
_LEGACY_POOLING_KEYS = {
    "pooling_mode_cls_token": "cls",
    "pooling_mode_mean_tokens": "mean",
    "pooling_mode_max_tokens": "max",
    "pooling_mode_mean_sqrt_len_tokens": "mean_sqrt_len_tokens",
    "pooling_mode_weightedmean_tokens": "weightedmean",
    "pooling_mode_lasttoken": "lasttoken",
}
_CHECK_TEXTS = (
    "Who ordered the security forces to pursue the perpetrators?",
    "Attacks hit a base.",
)


# --- hashing -------------------------------------------------------------------------------------


def edge_sha256(path: Path) -> str:
    """sha256 of the first and last MiB of a file (the whole file if it is smaller)."""
    size = path.stat().st_size
    with path.open("rb") as handle:
        head = handle.read(EDGE_BYTES)
        handle.seek(max(0, size - EDGE_BYTES))
        tail = handle.read(EDGE_BYTES)
    return hashlib.sha256(head + tail).hexdigest()


# --- reading a sentence-transformers folder -------------------------------------------------------


def _read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ModelError(f"{path}: unreadable ({one_line(exc)})") from None


def _pooling_mode(config: dict[str, Any], where: Path) -> str:
    mode = config.get("pooling_mode")
    if mode is None:
        modes = [name for key, name in _LEGACY_POOLING_KEYS.items() if config.get(key)]
    else:
        modes = [mode] if isinstance(mode, str) else list(mode)
    if len(modes) != 1 or modes[0] not in SUPPORTED_POOLING:
        raise ModelError(
            f"{where}: pooling {'+'.join(map(str, modes)) or 'none'} is not supported by the ONNX "
            f"query encoder (only {' or '.join(SUPPORTED_POOLING)}); set query_encoder = torch"
        )
    return str(modes[0])


def _read_layout(model_dir: Path) -> dict[str, Any]:
    """Transformer folder, pooling, normalisation and sentence_bert_config of a model folder."""
    modules_file = model_dir / "modules.json"
    if not modules_file.is_file():  # a plain transformers folder: Transformer + mean pooling
        layout: dict[str, Any] = {"transformer": model_dir, "pooling": "mean", "normalize": False}
    else:
        modules = _read_json(modules_file)
        if not isinstance(modules, list):
            raise ModelError(f"{modules_file}: not a list of modules")
        layout = {"transformer": None, "pooling": None, "normalize": False}
        for position, module in enumerate(modules):
            kind = str(module.get("type", "")).rsplit(".", 1)[-1]
            path = model_dir / str(module.get("path", ""))
            if kind == "Transformer" and position == 0:
                layout["transformer"] = path
            elif kind == "Pooling" and layout["transformer"] is not None and not layout["pooling"]:
                layout["pooling"] = _pooling_mode(_read_json(path / "config.json"), path)
            elif kind == "Normalize" and layout["pooling"]:
                layout["normalize"] = True
            else:
                raise ModelError(
                    f"{model_dir}: module {module.get('type')!r} at position {position} is not "
                    "supported by the ONNX query encoder (only Transformer, Pooling, Normalize); "
                    "set query_encoder = torch"
                )
        if layout["transformer"] is None or layout["pooling"] is None:
            raise ModelError(f"{modules_file}: needs a Transformer followed by a Pooling module")
    sbert_file = Path(layout["transformer"]) / "sentence_bert_config.json"
    sbert = _read_json(sbert_file) if sbert_file.is_file() else {}
    task = sbert.get("transformer_task", "feature-extraction")
    if task != "feature-extraction":
        raise ModelError(
            f"{sbert_file}: transformer_task {task!r} is not supported by the ONNX query encoder"
        )
    layout["sbert"] = sbert
    return layout


# --- export --------------------------------------------------------------------------------------


def export_query_encoder(model_dir: Path, out_dir: Path, *, threads: int) -> dict[str, Any]:
    """Export the model at `model_dir` into `out_dir`; returns the encoder.json dict."""
    layout = _read_layout(model_dir)
    transformer_dir: Path = layout["transformer"]
    sbert: dict[str, Any] = layout["sbert"]
    import numpy as np

    from rag.embedding import quiet_loading

    with quiet_loading():
        import torch
        from transformers import AutoModel, AutoTokenizer

    torch.set_num_threads(max(1, threads))
    try:
        with _quiet(), quiet_loading():
            model = AutoModel.from_pretrained(
                str(transformer_dir), local_files_only=True, attn_implementation="eager"
            )
            hf_tokenizer = AutoTokenizer.from_pretrained(
                str(transformer_dir), local_files_only=True
            )
    except Exception as exc:
        raise ModelError(
            f"cannot load embedding model {transformer_dir}: {one_line(exc)}"
        ) from None
    model.eval()
    backend = getattr(hf_tokenizer, "backend_tokenizer", None)
    if backend is None:
        raise ModelError(f"{transformer_dir}: no fast tokenizer, cannot build tokenizer.json")

    max_seq_length = _max_seq_length(sbert, hf_tokenizer, model.config, transformer_dir)
    settings = _tokenizer_settings(hf_tokenizer, max_seq_length)
    tokenizer = _standalone_tokenizer(backend, bool(sbert.get("do_lower_case")))
    _configure(tokenizer, settings)
    forward_params = inspect.signature(model.forward).parameters
    input_names = ["input_ids", "attention_mask"]
    if "token_type_ids" in forward_params and "token_type_ids" in hf_tokenizer.model_input_names:
        input_names.append("token_type_ids")

    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / CONFIG_FILE).unlink(missing_ok=True)  # until the end, the folder is "missing"
    with (
        _temp_path(out_dir, MODEL_FILE) as model_tmp,
        _temp_path(out_dir, TOKENIZER_FILE) as tok_tmp,
    ):
        dummy = _feeds(tokenizer, list(_CHECK_TEXTS), input_names)
        exporter, opset = _export(model, input_names, dummy, model_tmp, torch)
        tokenizer.save(str(tok_tmp))
        dim, gap = _check_export(
            model, model_tmp, tok_tmp, input_names, settings, layout["pooling"], threads, torch, np
        )
        _fsync(model_tmp)
        _fsync(tok_tmp)
        config: dict[str, Any] = {
            "format_version": FORMAT_VERSION,
            "kind": ENCODER_KIND,
            "pooling": layout["pooling"],
            "normalize": bool(layout["normalize"]),
            "max_seq_length": max_seq_length,
            "dim": dim,
            "tokenizer": settings,
            "inputs": input_names,
            "output": OUTPUT_NAME,
            "opset": opset,
            "exporter": exporter,
            "do_lower_case": bool(sbert.get("do_lower_case")),
            "model_sha256": file_sha256(model_tmp),
            "model_size": model_tmp.stat().st_size,
            "model_edge_sha256": edge_sha256(model_tmp),
            "tokenizer_sha256": file_sha256(tok_tmp),
            "tokenizer_size": tok_tmp.stat().st_size,
            "source_model": str(model_dir),
            "source_weights_sha256": _source_weights(transformer_dir),
            "export_max_abs_diff": gap,
        }
        os.replace(model_tmp, out_dir / MODEL_FILE)
        os.replace(tok_tmp, out_dir / TOKENIZER_FILE)
    with _temp_path(out_dir, CONFIG_FILE) as config_tmp:
        config_tmp.write_text(json.dumps(config, indent=2) + "\n", encoding="utf-8")
        _fsync(config_tmp)
        os.replace(config_tmp, out_dir / CONFIG_FILE)
    return config


@contextlib.contextmanager
def _quiet() -> Iterator[None]:
    """Silence tracer warnings and exporter chatter (both go to stdout/stderr otherwise)."""
    with warnings.catch_warnings(), contextlib.redirect_stdout(io.StringIO()):
        warnings.simplefilter("ignore")
        yield


@contextlib.contextmanager
def _temp_path(out_dir: Path, name: str) -> Iterator[Path]:
    """A fresh temporary file next to `name`; removed on exit unless it was moved into place."""
    path = out_dir / f".{name}.{os.getpid()}.{secrets.token_hex(4)}.tmp"
    path.touch(exist_ok=False)  # the umask's permissions, unlike mkstemp's 0600
    try:
        yield path
    finally:
        path.unlink(missing_ok=True)


def _fsync(path: Path) -> None:
    with path.open("rb") as handle:
        os.fsync(handle.fileno())


def _max_seq_length(sbert: dict[str, Any], tokenizer: Any, config: Any, where: Path) -> int:
    """As sentence-transformers decides it: the configured value, else the tokenizer's limit
    capped at the model's position embeddings."""
    configured = sbert.get("max_seq_length")
    if isinstance(configured, int) and configured > 0:
        return configured
    limits = [int(tokenizer.model_max_length)] if tokenizer.model_max_length < 1_000_000 else []
    positions = getattr(config, "max_position_embeddings", None)
    if isinstance(positions, int) and positions > 0:
        limits.append(positions)
    if not limits:
        raise ModelError(f"{where}: cannot tell the maximum sequence length (no max_seq_length)")
    return min(limits)


def _standalone_tokenizer(backend: Any, lowercase: bool) -> Any:
    from tokenizers import Tokenizer, normalizers

    tokenizer = Tokenizer.from_str(backend.to_str())
    if lowercase:  # what sentence-transformers does for do_lower_case
        current = tokenizer.normalizer
        parts = [normalizers.Lowercase()] + ([current] if current is not None else [])
        tokenizer.normalizer = normalizers.Sequence(parts)
    tokenizer.no_padding()
    tokenizer.no_truncation()
    return tokenizer


def _tokenizer_settings(hf_tokenizer: Any, max_seq_length: int) -> dict[str, Any]:
    """How the HF tokenizer pads and truncates (as sentence-transformers calls it)."""
    pad_id = hf_tokenizer.pad_token_id
    return {
        "max_seq_length": max_seq_length,
        "pad_id": int(pad_id) if pad_id is not None else 0,
        "pad_token": str(hf_tokenizer.pad_token) if hf_tokenizer.pad_token else "[PAD]",
        "pad_type_id": int(getattr(hf_tokenizer, "pad_token_type_id", 0) or 0),
        "padding_side": str(getattr(hf_tokenizer, "padding_side", "right") or "right"),
        "truncation_side": str(getattr(hf_tokenizer, "truncation_side", "right") or "right"),
    }


def _configure(tokenizer: Any, settings: dict[str, Any]) -> None:
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


def _feeds(tokenizer: Any, texts: list[str], input_names: Sequence[str]) -> dict[str, Any]:
    import numpy as np

    encodings = tokenizer.encode_batch(texts)
    columns = {
        "input_ids": [e.ids for e in encodings],
        "attention_mask": [e.attention_mask for e in encodings],
        "token_type_ids": [e.type_ids for e in encodings],
    }
    return {name: np.asarray(columns[name], dtype=np.int64) for name in input_names}


class _LastHiddenState:
    """Factory for the torch module that maps positional inputs to last_hidden_state."""

    @staticmethod
    def build(model: Any, input_names: Sequence[str], torch: Any) -> Any:
        names = list(input_names)

        class Wrapper(torch.nn.Module):
            def __init__(self) -> None:
                super().__init__()
                self.model = model

            def forward(self, *inputs: Any) -> Any:
                output = self.model(**dict(zip(names, inputs, strict=True)))
                hidden = getattr(output, OUTPUT_NAME, None)
                return hidden if hidden is not None else output[0]

        return Wrapper().eval()


def _export(
    model: Any, input_names: list[str], dummy: dict[str, Any], target: Path, torch: Any
) -> tuple[str, int]:
    """Export with the TorchScript exporter, else the dynamo one; returns (exporter, opset)."""
    wrapper = _LastHiddenState.build(model, input_names, torch)
    args = tuple(torch.from_numpy(dummy[name]) for name in input_names)
    axes = {name: {0: "batch", 1: "sequence"} for name in [*input_names, OUTPUT_NAME]}
    batch, sequence = torch.export.Dim("batch"), torch.export.Dim("sequence")
    shapes = (tuple({0: batch, 1: sequence} for _ in input_names),)  # forward(*inputs)
    errors = []
    for exporter, opset in (("torchscript", OPSET), ("dynamo", DYNAMO_OPSET)):
        dynamic: dict[str, Any] = (
            {"dynamic_axes": axes} if exporter == "torchscript" else {"dynamic_shapes": shapes}
        )
        try:
            with _quiet(), torch.no_grad():
                torch.onnx.export(
                    wrapper,
                    args,
                    str(target),
                    input_names=input_names,
                    output_names=[OUTPUT_NAME],
                    opset_version=opset,
                    do_constant_folding=True,
                    dynamo=exporter == "dynamo",
                    external_data=False,
                    **dynamic,
                )
            return exporter, opset
        except Exception as exc:
            errors.append(f"{exporter}: {one_line(exc)}")
    raise ModelError(
        f"cannot export {model.config.model_type or 'this'} model to ONNX ({'; '.join(errors)}); "
        "set query_encoder = torch"
    )


def _check_export(
    model: Any,
    onnx_path: Path,
    tokenizer_path: Path,
    input_names: list[str],
    settings: dict[str, Any],
    pooling: str,
    threads: int,
    torch: Any,
    np: Any,
) -> tuple[int, float]:
    """Run ONNX and torch on a padded batch and a truncated text; returns (dim, max |diff|)."""
    from tokenizers import Tokenizer

    tokenizer = Tokenizer.from_file(str(tokenizer_path))
    _configure(tokenizer, settings)
    session = _session(onnx_path, threads)
    long_text = " ".join(["the militia attacked the base"] * int(settings["max_seq_length"]))
    gap = 0.0
    dim = 0
    for texts in (list(_CHECK_TEXTS), [_CHECK_TEXTS[1]], [long_text]):
        feeds = _feeds(tokenizer, texts, input_names)
        ours = _pool(session.run([OUTPUT_NAME], feeds)[0], feeds["attention_mask"], pooling)
        with torch.no_grad():
            output = model(**{name: torch.from_numpy(value) for name, value in feeds.items()})
        hidden = getattr(output, OUTPUT_NAME, None)
        theirs = _pool(
            (hidden if hidden is not None else output[0]).numpy(), feeds["attention_mask"], pooling
        )
        gap = max(gap, float(np.abs(ours - theirs).max()))
        dim = int(ours.shape[1])
    if gap > 1e-3:
        raise ModelError(
            f"ONNX export of {model.config.model_type} differs from torch by {gap:.2g}; "
            "set query_encoder = torch"
        )
    return dim, gap


def _source_weights(transformer_dir: Path) -> str | None:
    from rag.embedding import weights_sha256

    try:
        return weights_sha256(transformer_dir)
    except ModelError:
        return None


# --- run time ------------------------------------------------------------------------------------


def _session(path: Path, threads: int) -> Any:
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


def _pool(hidden: np.ndarray, mask: np.ndarray, pooling: str) -> np.ndarray:
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
            _configure(tokenizer, config["tokenizer"])
        except Exception as exc:
            raise _broken(out_dir, f"{TOKENIZER_FILE} does not load ({one_line(exc)})") from None
        try:
            session = _session(out_dir / MODEL_FILE, threads)
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
            feeds = _feeds(self._tokenizer, [texts[i] for i in chunk], self._inputs)
            hidden = self._session.run([OUTPUT_NAME], feeds)[0]
            result[chunk] = _pool(hidden, feeds["attention_mask"], self._pooling)
        return result
