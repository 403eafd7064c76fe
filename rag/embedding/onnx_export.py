"""Exporting the embedding model to ONNX for the fast query encoder (index time, with torch).

`export_query_encoder` (run by every index build, including the one rag.index.build makes when
the saved export does not load; it imports torch and transformers, lazily, and gives torch back
its thread count) turns a local sentence-transformers model folder into
the small directory rag.embedding.onnx_encoder loads:

* `model.onnx` — the transformer alone, exported with the TorchScript exporter (`dynamo=False`:
  about 1.5 s for MiniLM, against 6 s for the dynamo exporter, which is only tried if the
  TorchScript one fails), dynamic batch and sequence axes, opset 17;
* `tokenizer.json` — the fast tokenizer sentence-transformers itself uses (AutoTokenizer's
  backend, with `do_lower_case` folded in), saved rather than copied byte for byte so that it is
  exactly what the index was embedded with;
* `encoder.json` — what rag.embedding.onnx_encoder reads back (format, pooling, sizes and hashes,
…).

Every file is written to a temporary name in the folder and moved into place with `os.replace`,
encoder.json last, so a crash leaves either the old encoder, a folder without encoder.json, or
files whose hashes do not match — never a half file that loads. Before anything is moved, the
ONNX graph is run on a padded batch and a truncated text and compared with the torch model.

Not supported (export raises `ModelError`): models whose layout rag.embedding.layout refuses
(anything beyond Transformer, Pooling and Normalize; pooling other than mean or cls; non
feature-extraction transformers), remote-code models, and architectures neither exporter can
trace. Not here: loading and running the export (rag.embedding.onnx_encoder).
"""

from __future__ import annotations

import contextlib
import inspect
import json
import os
import secrets
import warnings
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from rag.embedding.layout import max_seq_length, read_layout
from rag.embedding.model import file_sha256
from rag.embedding.onnx_encoder import (
    CONFIG_FILE,
    ENCODER_KIND,
    FORMAT_VERSION,
    MODEL_FILE,
    OUTPUT_NAME,
    TOKENIZER_FILE,
    configure_tokenizer,
    edge_sha256,
    model_inputs,
    open_session,
    pool,
)
from rag.errors import ModelError, one_line

OPSET = 17  # TorchScript exporter
DYNAMO_OPSET = 18  # the dynamo exporter's own opset (no version conversion)
_CHECK_TEXTS = (
    "Who ordered the security forces to pursue the perpetrators?",
    "Attacks hit a base.",
)


def export_query_encoder(model_dir: Path, out_dir: Path, *, threads: int) -> dict[str, Any]:
    """Export the model at `model_dir` into `out_dir`; returns the encoder.json dict. torch runs
    on `threads` threads meanwhile, and on as many as before afterwards."""
    layout = read_layout(model_dir)  # an unsupported model is refused before torch is imported
    from rag.embedding.torch_encoder import torch_threads

    with torch_threads(threads):
        return _write_export(model_dir, out_dir, layout, threads)


def _write_export(
    model_dir: Path, out_dir: Path, layout: dict[str, Any], threads: int
) -> dict[str, Any]:
    transformer_dir: Path = layout["transformer"]
    sbert: dict[str, Any] = layout["sbert"]
    import numpy as np

    from rag.embedding.torch_encoder import quiet_loading

    with quiet_loading():
        import torch
        from transformers import AutoModel, AutoTokenizer

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

    seq_length = max_seq_length(sbert, hf_tokenizer, model.config, transformer_dir)
    settings = _tokenizer_settings(hf_tokenizer, seq_length)
    tokenizer = _standalone_tokenizer(backend, bool(sbert.get("do_lower_case")))
    configure_tokenizer(tokenizer, settings)
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
        dummy = model_inputs(tokenizer, list(_CHECK_TEXTS), input_names)
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
            "max_seq_length": seq_length,
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
    """Silence tracer and deprecation warnings (stderr otherwise). The exporters' progress lines
    are turned off by `verbose=False` instead: sys.stdout is never swapped, as it is the whole
    process's. The warnings filter is restored on exit (Python 3.11 has no per-thread one)."""
    with warnings.catch_warnings():
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
                    verbose=False,  # no "[torch.onnx] ..." progress lines on stdout
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
    configure_tokenizer(tokenizer, settings)
    session = open_session(onnx_path, threads)
    long_text = " ".join(["the militia attacked the base"] * int(settings["max_seq_length"]))
    gap = 0.0
    dim = 0
    for texts in (list(_CHECK_TEXTS), [_CHECK_TEXTS[1]], [long_text]):
        feeds = model_inputs(tokenizer, texts, input_names)
        ours = pool(session.run([OUTPUT_NAME], feeds)[0], feeds["attention_mask"], pooling)
        with torch.no_grad():
            output = model(**{name: torch.from_numpy(value) for name, value in feeds.items()})
        hidden = getattr(output, OUTPUT_NAME, None)
        theirs = pool(
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
    from rag.embedding.model import weights_sha256

    try:
        return weights_sha256(transformer_dir)
    except ModelError:
        return None
