"""Export a trained reader to ONNX and quantise it to int8, as the run-time reader reads it.

`torch.onnx.export` with inputs input_ids, attention_mask, token_type_ids (int64, dynamic batch
and sequence axes) and one output `logit` (batch,), then onnxruntime's `quantize_dynamic` with
QInt8 weights; the float export is removed. The tokenizer is saved as `tokenizer.json`.
Not here: the card (card) or training (train). Imports torch and onnxruntime.quantization.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch
from onnxruntime.quantization import QuantType, quantize_dynamic

from rag.answer.reader_training.train import MeanPoolReader, encode

MODEL = "reader.int8.onnx"
TOKENIZER = "tokenizer.json"
INPUTS = ["input_ids", "attention_mask", "token_type_ids"]


def export(model: MeanPoolReader, tokenizer: Any, folder: Path, max_length: int) -> Path:
    """`folder`/reader.int8.onnx and `folder`/tokenizer.json; returns the model's path."""
    folder.mkdir(parents=True, exist_ok=True)
    sample = encode(tokenizer, [("Who?", "Someone did it. [SEP] Title | ⟨⟩ after")] * 2, max_length)
    inputs = tuple(torch.from_numpy(sample[k]) for k in INPUTS)
    float_path = folder / "reader.float.onnx"
    axes = {0: "batch", 1: "sequence"}
    with torch.no_grad():
        torch.onnx.export(
            model.eval(),
            inputs,
            str(float_path),
            input_names=INPUTS,
            output_names=["logit"],
            dynamic_axes={**{k: axes for k in INPUTS}, "logit": {0: "batch"}},
            opset_version=17,
            do_constant_folding=True,
            dynamo=False,
            external_data=False,
        )
    out = folder / MODEL
    quantize_dynamic(str(float_path), str(out), weight_type=QuantType.QInt8)
    float_path.unlink()
    tokenizer.backend_tokenizer.save(str(folder / TOKENIZER))
    return out
