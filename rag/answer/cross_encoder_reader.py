"""The reader `cross-encoder`: a MiniLM cross-encoder, trained here on SQuAD 2.0 articles, reads
each (question, candidate sentence in its paragraph) pair and gives the probability that the
sentence answers the question.

The model ships inside the package (rag/answer/cross_encoder/): `reader.int8.onnx` (the
fine-tuned MiniLM, exported to ONNX and quantised to int8), its `tokenizer.json`, and `card.json`
(the files' sha256, the pair length, how many candidates it reads, the abstention threshold and
answer_k chosen on dev, and how it was trained; MODEL_CARD.md says the same for people). Both
files are hashed on load: a missing, truncated or altered file is one ModelError line. The ONNX
session is made on the first question, not when the pipeline opens.

Reading every sentence of five paragraphs costs too much on two cores, so the logistic reader
(rag.answer.logistic_reader, cheap) first picks the `shortlist` most likely candidates; those
are read by the model and the others get probability 0. The model was trained as a correction
of the logistic reader: a shortlisted candidate's probability is sigmoid(model logit + the
logistic log-odds of the same candidate), so it starts from the logistic reader's judgement and
moves it by what reading the pair together adds. Pairs are built by
rag.answer.reader_pairs, the format it was trained on. Runs on onnxruntime, tokenizers and
numpy: no torch. Not here: training (rag.answer.reader_training).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from rag.answer.logistic_reader import LogisticReader
from rag.answer.reader import Question
from rag.answer.reader_pairs import text_pair
from rag.embedding.model import Embedder
from rag.embedding.onnx_encoder import open_session
from rag.errors import ModelError
from rag.index.store import Index
from rag.retrieval.candidates import Candidate

FOLDER = Path(__file__).with_name("cross_encoder")
FORMAT = "rag cross-encoder reader v1"
BATCH_SIZE = 32
PRIOR_CLIP = 1e-4  # the logistic probability is clipped to [1e-4, 1 - 1e-4] before its log-odds


@dataclass(frozen=True)
class ReaderCard:
    """card.json: what the shipped model is and the choices made with it on dev."""

    folder: Path
    model: str
    sha256: str
    tokenizer: str
    tokenizer_sha256: str
    max_length: int
    shortlist: int
    threshold: float
    answer_k: int
    raw: dict[str, Any]

    @classmethod
    def read(cls, folder: Path = FOLDER) -> ReaderCard:
        path = folder / "card.json"
        try:
            raw = json.loads(path.read_text(encoding="utf-8"))
            if raw.get("format") != FORMAT:
                raise ValueError(f"not a {FORMAT} card")
            return cls(
                folder,
                str(raw["model"]),
                str(raw["sha256"]),
                str(raw["tokenizer"]),
                str(raw["tokenizer_sha256"]),
                int(raw["max_length"]),
                int(raw["shortlist"]),
                float(raw["threshold"]),
                int(raw["answer_k"]),
                raw,
            )
        except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
            raise ModelError(
                f"the cross-encoder reader's card {path} is unreadable ({exc})"
            ) from None

    def checked(self, name: str, sha256: str) -> Path:
        """The file `name` of the folder, after its sha256 matched the card's."""
        path = self.folder / name
        try:
            digest = hashlib.sha256(path.read_bytes()).hexdigest()
        except OSError as exc:
            raise ModelError(
                f"the cross-encoder reader's {path} cannot be read ({exc.strerror})"
            ) from None
        if digest != sha256:
            raise ModelError(
                f"the cross-encoder reader's {path} is damaged or replaced (sha256 {digest[:12]}…, "
                f"expected {sha256[:12]}…): reinstall rag"
            )
        return path


class CrossEncoderReader:
    name = "cross-encoder"

    def __init__(
        self, index: Index, embedder: Embedder | None, card: ReaderCard, threads: int = 1
    ) -> None:
        self.index = index
        self.card = card
        self.threads = threads
        self.first_cut = LogisticReader.load(index, embedder)
        self._titles = {d.name: d.headline for d in index.documents}
        self._model_path = card.checked(card.model, card.sha256)
        self._tokenizer_path = card.checked(card.tokenizer, card.tokenizer_sha256)
        self._session: Any = None
        self._tokenizer: Any = None

    @classmethod
    def load(
        cls, index: Index, embedder: Embedder | None, threads: int = 1, folder: Path = FOLDER
    ) -> CrossEncoderReader:
        return cls(index, embedder, ReaderCard.read(folder), threads)

    @property
    def threshold(self) -> float:
        return self.card.threshold

    @property
    def answer_k(self) -> int:
        return self.card.answer_k

    def score(self, question: Question, candidates: Sequence[Candidate]) -> np.ndarray:
        probabilities = np.zeros(len(candidates))
        if not candidates:
            return probabilities
        cheap = self.first_cut.score(question, candidates)
        chosen = np.argsort(-cheap, kind="stable")[: self.card.shortlist]
        pairs = []
        for i in chosen.tolist():
            c = candidates[i]
            paragraph = self.index.paragraph(c.doc, c.paragraph).text
            pairs.append(text_pair(question.text, paragraph, c.start, c.end, self._titles[c.doc]))
        # The model was trained as a correction of the logistic reader: its logit is added to
        # the logistic log-odds of the same candidate.
        prior = np.clip(cheap[chosen], PRIOR_CLIP, 1.0 - PRIOR_CLIP)
        z = self.logits(pairs).astype(np.float64) + np.log(prior / (1.0 - prior))
        probabilities[chosen] = 1.0 / (1.0 + np.exp(-z))
        return probabilities

    def logits(self, pairs: Sequence[tuple[str, str]]) -> np.ndarray:
        """The model's logit for each (question, context) pair."""
        self._open()
        out = np.zeros(len(pairs), dtype=np.float32)
        order = np.argsort([len(a) + len(b) for a, b in pairs], kind="stable")
        for start in range(0, len(pairs), BATCH_SIZE):
            rows = order[start : start + BATCH_SIZE]
            feed = self._encode([pairs[j] for j in rows])
            out[rows] = self._session.run(["logit"], feed)[0]
        return out

    def _open(self) -> None:
        if self._session is not None:
            return
        from tokenizers import Tokenizer

        try:
            tokenizer = Tokenizer.from_file(str(self._tokenizer_path))
            tokenizer.no_padding()
            tokenizer.enable_truncation(self.card.max_length, strategy="only_second")
            session = open_session(self._model_path, self.threads)
        except Exception as exc:  # onnxruntime and tokenizers raise their own kinds
            raise ModelError(f"the cross-encoder reader cannot be loaded ({exc})") from None
        self._tokenizer, self._session = tokenizer, session

    def _encode(self, pairs: Sequence[tuple[str, str]]) -> dict[str, np.ndarray]:
        encodings = self._tokenizer.encode_batch(list(pairs))
        width = max(len(e.ids) for e in encodings)
        ids = np.zeros((len(pairs), width), dtype=np.int64)
        mask, types = np.zeros_like(ids), np.zeros_like(ids)
        for i, e in enumerate(encodings):
            n = len(e.ids)
            ids[i, :n], mask[i, :n], types[i, :n] = e.ids, e.attention_mask, e.type_ids
        return {"input_ids": ids, "attention_mask": mask, "token_type_ids": types}
