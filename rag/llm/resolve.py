"""Finding a model file: a name from the catalogue, a local GGUF path, or `hf:OWNER/REPO/FILE.gguf`.

`resolve_model_path` turns a model spec into a verified local GGUF file (rag.llm.gguf checks it);
`hf:` specs are fetched with `huggingface_hub.hf_hub_download` into the normal Hugging Face
cache (a cached copy also works offline). Nothing is downloaded except an explicit `hf:` spec.
Not here: loading the model (rag.llm.runtime).
"""

from __future__ import annotations

import os
import re
import socket
from pathlib import Path
from urllib.parse import urlsplit

from rag.errors import InputError, ModelError, one_line
from rag.llm.gguf import check_gguf_file

_HF_SPEC = re.compile(r"^hf:([^/\s]+)/([^/\s]+)/(\S+\.gguf)$", re.IGNORECASE)


def resolve_model_path(spec: str, models_dir: Path | None = None) -> Path:
    """A verified local GGUF file for `spec`: an installed model's name (rag.llm.catalogue), a path,
    or `hf:OWNER/REPO/FILE.gguf`. `models_dir` is where a model in parts is assembled.

    Raises `InputError` for an empty or malformed spec and `ModelError` when the file is
    missing, not a GGUF file, truncated, not the pinned file, or cannot be downloaded.
    """
    from rag.llm import catalogue

    spec = spec.strip()
    if not spec:
        raise InputError(
            "no model given: pass an installed model's name (rag models), a GGUF file path "
            "or hf:OWNER/REPO/FILE.gguf"
        )
    if spec.lower().startswith("hf:"):
        path = _download_hf(spec)
    else:
        path = Path(spec).expanduser()
        if catalogue.is_model_name(spec) and not path.exists():
            from rag.config import Settings

            folder = models_dir if models_dir is not None else Settings().models_dir
            path = catalogue.model_file(spec, folder)
        elif not path.exists() and "/" not in spec and not spec.lower().endswith(".gguf"):
            known = ", ".join(catalogue.CATALOGUE)
            raise ModelError(
                f"unknown model {spec!r}: not a file, and not a model name ({known}); "
                "rag models lists the installed ones"
            )
    check_gguf_file(path)
    return path


def model_display_name(spec: str, path: Path) -> str:
    """How a model is named to users: its catalogue name, else the file's stem."""
    from rag.llm import catalogue

    return spec.strip().lower() if catalogue.is_model_name(spec) else path.stem


def _download_hf(spec: str) -> Path:
    match = _HF_SPEC.match(spec)
    if match is None:
        raise InputError(
            f"malformed model spec {spec!r}: expected hf:OWNER/REPO/FILE.gguf "
            "(for example hf:Qwen/Qwen2.5-0.5B-Instruct-GGUF/qwen2.5-0.5b-instruct-q4_k_m.gguf)"
        )
    owner, repo, filename = match.groups()
    if any(part in ("", ".", "..") for part in filename.split("/")):
        raise InputError(f"malformed model spec {spec!r}: bad file name {filename!r}")
    advice = "download the file yourself and pass its path"
    try:
        from huggingface_hub import constants, hf_hub_download
    except ImportError as exc:
        raise ModelError(
            f"cannot download {spec}: huggingface_hub is not installed ({one_line(exc)}); " + advice
        ) from exc
    repo_id = f"{owner}/{repo}"
    try:  # a cached copy needs no network
        return Path(hf_hub_download(repo_id=repo_id, filename=filename, local_files_only=True))
    except (OSError, ValueError) as exc:  # not in the cache (LocalEntryNotFoundError) or unusable
        cache_miss = one_line(exc)
    if constants.HF_HUB_OFFLINE:
        reason = "no network (HF_HUB_OFFLINE is set and the file is not in the Hugging Face cache)"
        raise ModelError(f"cannot download {spec}: {reason}; {advice}")
    unreachable = _unreachable(str(constants.ENDPOINT))
    if unreachable is not None:
        raise ModelError(f"cannot download {spec}: no network ({unreachable}); {advice}")
    try:
        return Path(hf_hub_download(repo_id=repo_id, filename=filename))
    except Exception as exc:  # any download failure reads the same to a user
        name = type(exc).__name__
        if "NotFound" in name and "Local" not in name:
            reason = f"not found on the Hugging Face Hub ({name}: {one_line(exc)})"
        else:
            reason = f"no network ({name}: {one_line(exc)}; cache: {cache_miss})"
        raise ModelError(f"cannot download {spec}: {reason}; {advice}") from exc


def _unreachable(endpoint: str, timeout: float = 5.0) -> str | None:
    """Why `endpoint` cannot be reached, or None if a TCP connection works (or a proxy is set).

    huggingface_hub retries a failing connection with back-off for about half a minute; this
    quick probe turns "no network at all" into an immediate error instead.
    """
    if any(os.environ.get(v) for v in ("HTTPS_PROXY", "https_proxy", "ALL_PROXY", "all_proxy")):
        return None
    url = urlsplit(endpoint)
    host = url.hostname
    if not host:
        return None
    port = url.port or (80 if url.scheme == "http" else 443)
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return None
    except OSError as exc:
        return f"cannot reach {host}: {one_line(exc)}"
