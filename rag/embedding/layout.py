"""What a local sentence-transformers model folder is made of, read without loading it: the
transformer folder, the pooling, whether it ends in a Normalize module, its
sentence_bert_config, and the maximum sequence length as sentence-transformers decides it.

`read_layout` accepts only what the ONNX query encoder reproduces (Transformer, then Pooling by
mean or CLS, then optionally Normalize; a plain transformers folder counts as mean pooling) and
raises `ModelError` for the rest: Dense layers, routers, other poolings, tasks other than
feature extraction. Not here: loading the model or exporting it (rag.embedding.model,
rag.embedding.onnx_export).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from rag.embedding.onnx_encoder import SUPPORTED_POOLING
from rag.errors import ModelError, one_line

_LEGACY_POOLING_KEYS = {
    "pooling_mode_cls_token": "cls",
    "pooling_mode_mean_tokens": "mean",
    "pooling_mode_max_tokens": "max",
    "pooling_mode_mean_sqrt_len_tokens": "mean_sqrt_len_tokens",
    "pooling_mode_weightedmean_tokens": "weightedmean",
    "pooling_mode_lasttoken": "lasttoken",
}


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


def read_layout(model_dir: Path) -> dict[str, Any]:
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


def max_seq_length(sbert: dict[str, Any], tokenizer: Any, config: Any, where: Path) -> int:
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
