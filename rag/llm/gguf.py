"""GGUF files read without llama.cpp: is this a whole, well-formed model file, and what context
length was it trained with.

`check_gguf_file` walks the header, the metadata and the tensor table (bounded: sizes checked
against the file, metadata arrays nested at most _GGUF_MAX_NESTING deep) and says in one line
what is wrong — not a GGUF file, an unsupported version, truncated — so a bad download never
reaches llama.cpp. `gguf_context_length` reads `<arch>.context_length`. Not here: loading or
running a model (rag.llm.runtime), or finding the file (rag.llm.resolve).
"""

from __future__ import annotations

import os
import struct
from pathlib import Path
from typing import BinaryIO

from rag.errors import ModelError, one_line

GGUF_MAGIC = b"GGUF"
# magic, version (uint32), tensor count (uint64), metadata key/value count (uint64)
GGUF_HEADER_SIZE = 24
_DEFAULT_ALIGNMENT = 32
# GGUF metadata value types: fixed sizes in bytes; 8 is a string, 9 an array.
_GGUF_SCALAR_SIZES = {0: 1, 1: 1, 2: 2, 3: 2, 4: 4, 5: 4, 6: 4, 7: 1, 10: 8, 11: 8, 12: 8}
_GGUF_STRING = 8
_GGUF_ARRAY = 9
_GGUF_MAX_NESTING = 8  # real models use flat arrays; llama.cpp itself allows no nesting
# ggml tensor types: (elements per block, bytes per block). Unknown types skip the size check.
_GGML_BLOCKS = {
    0: (1, 4), 1: (1, 2), 2: (32, 18), 3: (32, 20), 6: (32, 22), 7: (32, 24), 8: (32, 34),
    9: (32, 40), 10: (256, 84), 11: (256, 110), 12: (256, 144), 13: (256, 176), 14: (256, 210),
    15: (256, 292), 16: (256, 66), 17: (256, 74), 18: (256, 98), 19: (256, 50), 20: (32, 18),
    21: (256, 110), 22: (256, 82), 23: (256, 136), 24: (1, 1), 25: (1, 2), 26: (1, 4),
    27: (1, 8), 28: (1, 8), 29: (256, 56), 30: (1, 2), 34: (256, 54), 35: (256, 66),
    39: (32, 17),
}  # fmt: skip


class _Truncated(Exception):
    pass


def check_gguf_file(path: Path) -> None:
    """Raise `ModelError` unless `path` is a complete GGUF file (structure only, not weights)."""
    if not path.exists():
        raise ModelError(f"model file {path} is missing")
    if not path.is_file():
        raise ModelError(f"model path {path} is not a file")
    try:
        size = path.stat().st_size
        with path.open("rb") as f:
            magic = f.read(4)
            if magic != GGUF_MAGIC:
                raise ModelError(f"model file {path} is not a GGUF file (no GGUF magic bytes)")
            if size < GGUF_HEADER_SIZE:
                raise ModelError(f"model file {path} is truncated ({size} bytes, no full header)")
            try:
                needed = _gguf_required_size(f, size)
            except _Truncated:
                needed = None
            if needed is None or size < needed:
                at_least = "" if needed is None else f"; its header says at least {needed}"
                raise ModelError(
                    f"model file {path} is truncated ({size} bytes{at_least}); download it again"
                )
    except OSError as exc:
        raise ModelError(f"cannot read model file {path}: {one_line(exc)}") from exc


def gguf_context_length(path: Path) -> int | None:
    """The training context length in a GGUF file's metadata (`<arch>.context_length`), if any.

    Read before loading so llama.cpp is never asked for a larger context (it warns on stderr).
    """
    found: dict[str, int] = {}
    try:
        with Path(path).open("rb") as f:
            if f.read(4) != GGUF_MAGIC:
                return None
            _gguf_required_size(f, Path(path).stat().st_size, found)
    except (OSError, ModelError, _Truncated, struct.error):
        return None
    return found.get("context_length")


def _gguf_required_size(f: BinaryIO, size: int, meta: dict[str, int] | None = None) -> int:
    """Bytes a GGUF file must have according to its own tables (`f` is just past the magic).

    When `meta` is given, an integer `*.context_length` value is stored in it.
    """

    def read(n: int) -> bytes:
        data = f.read(n)
        if len(data) != n:
            raise _Truncated
        return data

    def skip(n: int) -> None:
        if f.tell() + n > size:
            raise _Truncated
        f.seek(n, os.SEEK_CUR)

    def u32() -> int:
        return int(struct.unpack("<I", read(4))[0])

    def u64() -> int:
        return int(struct.unpack("<Q", read(8))[0])

    def string() -> bytes:
        n = u64()
        if f.tell() + n > size:
            raise _Truncated
        return read(n)

    def skip_value(vtype: int, depth: int = 0) -> None:
        if vtype in _GGUF_SCALAR_SIZES:
            skip(_GGUF_SCALAR_SIZES[vtype])
        elif vtype == _GGUF_STRING:
            skip(u64())
        elif vtype == _GGUF_ARRAY:
            if depth >= _GGUF_MAX_NESTING:  # 5,000 nested array headers: RecursionError before
                raise ModelError(f"model file {f.name} nests metadata arrays too deeply")
            item_type, count = u32(), u64()
            if item_type in _GGUF_SCALAR_SIZES:
                skip(count * _GGUF_SCALAR_SIZES[item_type])
            else:
                for _ in range(count):
                    skip_value(item_type, depth + 1)
        else:
            raise ModelError(f"model file {f.name} is not a valid GGUF file (value type {vtype})")

    version = u32()
    if version not in (2, 3):
        raise ModelError(f"model file {f.name} has unsupported GGUF version {version}")
    n_tensors, n_kv = u64(), u64()
    alignment = _DEFAULT_ALIGNMENT
    for _ in range(n_kv):
        key = string()
        vtype = u32()
        if key == b"general.alignment" and vtype == 4:
            alignment = u32() or _DEFAULT_ALIGNMENT
        elif meta is not None and key.endswith(b".context_length") and vtype in (4, 10):
            meta["context_length"] = u32() if vtype == 4 else u64()
        else:
            skip_value(vtype)
    data_size = 0
    for _ in range(n_tensors):
        string()
        n_dims = u32()
        n_elements = 1
        for _ in range(n_dims):
            n_elements *= u64()
        ggml_type, offset = u32(), u64()
        block = _GGML_BLOCKS.get(ggml_type)
        nbytes = n_elements // block[0] * block[1] if block else 0
        data_size = max(data_size, offset + nbytes)
    data_start = -(-f.tell() // alignment) * alignment
    return data_start + data_size if n_tensors else f.tell()
