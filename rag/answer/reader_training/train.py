"""Training the cross-encoder reader: MiniLM reads (question, candidate sentence in context) and
gives a logit that corrects the logistic reader's log-odds of the same candidate.

The recipe (`Recipe`, written into card.json): per training question every positive candidate,
then up to `negatives` negatives (hard ones first, then the `logistic_negatives` the logistic
reader ranks highest, then seeded random others) from its `shortlist`; the bundled MiniLM with
mean pooling and a fresh one-logit head, all weights trained (AdamW, linear warm-up then decay;
the head at `head_lr`); the loss is binary cross-entropy on logit + logistic log-odds plus a
per-question softmax with a null option at 0 (`listwise`), whole questions batched together.
Seeded: the same data and recipe give the same model on CPU. Pairs come from
rag.answer.reader_pairs.text_pair, the format read at run time.

Not here: the data (data), figures (figures), export (export). Imports torch and transformers.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from transformers import AutoModel, AutoTokenizer

from rag.answer.cross_encoder_reader import PRIOR_CLIP
from rag.answer.reader_pairs import MAX_LENGTH, text_pair
from rag.answer.reader_training.data import Cand, Record


@dataclass(frozen=True)
class Recipe:
    negatives: int = 4
    logistic_negatives: int = 2
    epochs: float = 1.0
    lr: float = 8e-5
    head_lr: float = 1e-3
    warmup: float = 0.06
    weight_decay: float = 0.01
    batch_size: int = 16
    max_length: int = MAX_LENGTH
    max_questions: int = 0  # 0: all (else a seeded sample of the training questions)
    shortlist: int = 15  # candidates read per question: the logistic reader's top N
    pooling: str = "mean"
    offset: int = 1  # the model learns a correction of the logistic reader's log-odds
    listwise: float = 1.0
    seed: int = 13
    threads: int = 2


Example = tuple[tuple[str, str], float, int, float]  # pair, label, question number, prior


def encode(tokenizer: Any, pairs: Sequence[tuple[str, str]], max_length: int) -> dict[str, Any]:
    """A transformers tokenizer's batch (numpy, padded to the longest), the second text cut
    first, as the run-time reader's tokenizer does."""
    return dict(
        tokenizer(
            [p[0] for p in pairs],
            [p[1] for p in pairs],
            truncation="only_second",
            max_length=max_length,
            padding=True,
            return_tensors="np",
        )
    )


def prior(c: Cand) -> float:
    """The logistic reader's log-odds for a candidate (what the model corrects)."""
    p = min(max(c.logistic, PRIOR_CLIP), 1 - PRIOR_CLIP)
    return math.log(p / (1 - p))


def pair_of(record: Record, c: Cand) -> tuple[str, str]:
    return text_pair(record.question, c.paragraph, c.start, c.end, c.title)


def shortlisted(record: Record, n: int) -> list[Cand]:
    """The `n` candidates the logistic reader ranks highest, in retrieval order."""
    keep = sorted(range(len(record.candidates)), key=lambda i: (-record.candidates[i].logistic, i))
    return [record.candidates[i] for i in sorted(keep[:n])]


def training_pairs(records: Sequence[Record], recipe: Recipe) -> list[Example]:
    rng = random.Random(recipe.seed)
    out: list[Example] = []
    for q, r in enumerate(records):
        cands = shortlisted(r, recipe.shortlist)
        cands += [c for c in r.candidates if c.hard and c not in cands]
        negatives = [c for c in cands if not c.label]
        chosen = [c for c in negatives if c.hard]
        rest = sorted((c for c in negatives if not c.hard), key=lambda c: -c.logistic)
        take = max(0, min(recipe.logistic_negatives, recipe.negatives - len(chosen)))
        chosen += rest[:take]
        others = rest[take:]
        rng.shuffle(others)
        chosen += others[: max(0, recipe.negatives - len(chosen))]
        out += [(pair_of(r, c), 1.0, q, prior(c)) for c in cands if c.label]
        out += [(pair_of(r, c), 0.0, q, prior(c)) for c in chosen]
    return out


class MeanPoolReader(torch.nn.Module):
    """MiniLM + mean pooling over the pair's tokens + one linear logit."""

    def __init__(self, bert: Any) -> None:
        super().__init__()
        self.bert = bert
        self.dropout = torch.nn.Dropout(0.1)
        self.classifier = torch.nn.Linear(bert.config.hidden_size, 1)
        torch.nn.init.normal_(self.classifier.weight, std=0.02)
        torch.nn.init.zeros_(self.classifier.bias)

    def forward(self, input_ids: Any, attention_mask: Any, token_type_ids: Any) -> Any:
        hidden = self.bert(
            input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids
        ).last_hidden_state
        mask = attention_mask.unsqueeze(-1).to(hidden.dtype)
        pooled = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1.0)
        return self.classifier(self.dropout(pooled))[:, 0]


def grouped_batches(examples: Sequence[Example], recipe: Recipe, epoch: int) -> list[list[int]]:
    """Whole questions, shuffled (seeded), packed into batches of about `batch_size` pairs."""
    rng = random.Random(recipe.seed * 1000 + epoch)
    groups: dict[int, list[int]] = {}
    for j, example in enumerate(examples):
        groups.setdefault(example[2], []).append(j)
    order = list(groups.values())
    rng.shuffle(order)
    out: list[list[int]] = []
    current: list[int] = []
    for g in order:
        if current and len(current) + len(g) > recipe.batch_size:
            out.append(current)
            current = []
        current += g
    return out + ([current] if current else [])


def listwise_loss(logits: Any, target: Any, question: list[int]) -> Any:
    """Per question, a softmax over its candidates and a null option at logit 0: the positives'
    share for an answerable question, the null's for an unanswerable one."""
    losses = []
    ids = torch.tensor(question)
    zero = torch.zeros(1)
    for q in dict.fromkeys(question):
        mask = ids == q
        z, y = logits[mask], target[mask]
        everything = torch.logsumexp(torch.cat([zero, z]), 0)
        good = torch.logsumexp(z[y > 0.5], 0) if bool((y > 0.5).any()) else zero[0]
        losses.append(everything - good)
    return torch.stack(losses).mean()


def train(
    examples: Sequence[Example], recipe: Recipe, base: Path, say: Callable[[str], None]
) -> tuple[MeanPoolReader, Any]:
    """The trained model and its tokenizer, seeded by `recipe.seed`."""
    torch.set_num_threads(recipe.threads)
    torch.manual_seed(recipe.seed)
    tokenizer = AutoTokenizer.from_pretrained(base)
    model = MeanPoolReader(AutoModel.from_pretrained(base, add_pooling_layer=False))
    no_decay = ("bias", "LayerNorm.weight")
    groups = [
        {
            "params": [
                p
                for n, p in model.named_parameters()
                if n.startswith("classifier.") == is_head and any(k in n for k in no_decay) == plain
            ],
            "weight_decay": 0.0 if plain else recipe.weight_decay,
            "lr": recipe.head_lr if is_head else recipe.lr,
        }
        for is_head in (False, True)
        for plain in (False, True)
    ]
    optimizer = torch.optim.AdamW([g for g in groups if g["params"]], lr=recipe.lr)
    bce = torch.nn.BCEWithLogitsLoss()
    per_epoch = len(grouped_batches(examples, recipe, 0))
    total = max(1, round(per_epoch * recipe.epochs))
    warm = max(1, int(total * recipe.warmup))
    schedule = torch.optim.lr_scheduler.LambdaLR(
        optimizer, lambda s: min((s + 1) / warm, max(0.0, (total - s) / max(1, total - warm)))
    )
    step, epoch = 0, 0
    while step < total:
        for ids in grouped_batches(examples, recipe, epoch)[: total - step]:
            model.train()
            batch = encode(tokenizer, [examples[j][0] for j in ids], recipe.max_length)
            logits = model(**{k: torch.from_numpy(v) for k, v in batch.items()})
            if recipe.offset:
                logits = logits + torch.tensor([examples[j][3] for j in ids])
            target = torch.tensor([examples[j][1] for j in ids], dtype=torch.float32)
            loss = bce(logits, target)
            if recipe.listwise > 0:
                loss = loss + recipe.listwise * listwise_loss(
                    logits, target, [examples[j][2] for j in ids]
                )
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            optimizer.step()
            schedule.step()
            optimizer.zero_grad()
            step += 1
            if step % 25 == 0 or step == total:
                say(f"step {step}/{total} loss {float(loss.detach()):.4f}")
        epoch += 1
    return model.eval(), tokenizer
