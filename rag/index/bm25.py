"""BM25 over passages: built with bm25s, queried with numpy alone.

`build_bm25` scores the corpus with bm25s (Lucene variant) and saves its sparse matrix as plain
`.npy` files plus a JSON vocabulary, no pickle. `Bm25Index.load` reads those files back with
numpy and scores a query by summing the matrix columns of its tokens — exactly what bm25s does
— so the query path never imports bm25s or scipy (about 0.5 s of start-up).

The tokenizer is deliberately plain: lower-case words and numbers (letters of any script), English
stop words removed, a light English suffix stemmer. Other languages are tokenised but neither
stemmed nor stripped of stop words, and scripts written without spaces (Chinese, Japanese) are
not split into words.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from rag.errors import IndexUnreadable
from rag.text.tokens import tokenize

_FILES = ("data.csc.index.npy", "indices.csc.index.npy", "indptr.csc.index.npy")


def build_bm25(texts: Sequence[str], out_dir: Path) -> None:
    """Score `texts` with bm25s and save the index files into `out_dir`."""
    import bm25s

    corpus = [tokenize(t) or ["\u2205"] for t in texts]
    retriever = bm25s.BM25(method="lucene")
    retriever.index(corpus, show_progress=False)
    retriever.save(str(out_dir), allow_pickle=False)


def _check_arrays(data: np.ndarray, indices: np.ndarray, indptr: np.ndarray, n: int) -> None:
    """ValueError unless the arrays form a CSC matrix over `n` passages (1-D, numbers, column
    pointers rising from 0 to the number of entries, row ids in range)."""
    if any(a.ndim != 1 for a in (data, indices, indptr)) or n < 0:
        raise ValueError("BM25 arrays are not one-dimensional")
    if data.dtype.kind != "f" or indices.dtype.kind not in "iu" or indptr.dtype.kind not in "iu":
        raise ValueError("BM25 arrays have the wrong types")
    if len(data) != len(indices) or len(indptr) == 0 or indptr[0] != 0:
        raise ValueError("BM25 arrays disagree in length")
    if indptr[-1] != len(indices) or np.any(np.diff(indptr) < 0):
        raise ValueError("BM25 column pointers are out of order")
    if len(indices) and (indices.min() < 0 or indices.max() >= n):
        raise ValueError("BM25 passage ids out of range")


@dataclass
class Bm25Index:
    vocab: dict[str, int]
    data: np.ndarray
    indices: np.ndarray
    indptr: np.ndarray
    num_docs: int

    @classmethod
    def load(cls, folder: Path) -> Bm25Index:
        try:
            # Mapped first, so a header claiming more data than the file holds fails here
            # instead of allocating it (10^11 elements: 373 GiB).
            arrays = [
                np.array(np.load(folder / name, mmap_mode="r", allow_pickle=False))
                for name in _FILES
            ]
            vocab = json.loads((folder / "vocab.index.json").read_text(encoding="utf-8"))
            params = json.loads((folder / "params.index.json").read_text(encoding="utf-8"))
            num_docs = int(params["num_docs"])
            _check_arrays(arrays[0], arrays[1], arrays[2], num_docs)
            if not isinstance(vocab, dict) or not all(type(i) is int for i in vocab.values()):
                raise ValueError("vocabulary ids are not integers")
        except (OSError, ValueError, KeyError, TypeError, RecursionError, EOFError) as exc:
            # numpy's own message suggests loading with pickle: never pass that advice on.
            detail = exc.strerror if isinstance(exc, OSError) else type(exc).__name__
            raise IndexUnreadable(f"BM25 index in {folder} is unreadable ({detail})") from None
        columns = len(arrays[2]) - 1  # bm25s may list a token (the empty one) with no column
        vocab = {token: i for token, i in vocab.items() if 0 <= i < columns}
        return cls(vocab, arrays[0], arrays[1], arrays[2], num_docs)

    def document_frequency(self, token: str) -> int:
        """How many passages contain `token` (0 when it is not in the vocabulary)."""
        i = self.vocab.get(token)
        return 0 if i is None else int(self.indptr[i + 1] - self.indptr[i])

    def scores(self, query: str) -> np.ndarray:
        """BM25 score of every passage for `query` (zeros where no query word occurs)."""
        ids = sorted({self.vocab[t] for t in tokenize(query) if t in self.vocab})
        scores = np.zeros(self.num_docs, dtype=np.float32)
        for token_id in ids:
            start, end = self.indptr[token_id], self.indptr[token_id + 1]
            np.add.at(scores, self.indices[start:end], self.data[start:end])
        return scores
