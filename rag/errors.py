"""User-facing errors and warnings.

Every failure a person can cause or fix (bad input, missing files, a broken index or model) is a
`RagError`; the CLI prints it as one line (`error: …`) and exits with `exit_code`. Anything else
is a bug and is allowed to surface as one. A problem that does not stop the work is a
`RagWarning`, issued with `warnings.warn`: the library never prints; the CLI shows each as one
line (`warning: …`), and any other caller chooses with the `warnings` filters.
"""


class RagError(Exception):
    """Base class: a problem the user can act on, shown as one line."""

    exit_code = 1


class InputError(RagError):
    """The question or an argument is unusable (empty, too long, malformed)."""

    exit_code = 2


class SourceError(RagError):
    """A source document is missing, empty, unreadable or not text."""

    exit_code = 3


class IndexUnreadable(RagError):
    """The index on disk is missing parts, corrupt, or from another format version."""

    exit_code = 4


class ModelError(RagError):
    """An embedding or language model cannot be found, verified or loaded."""

    exit_code = 5


class RagWarning(UserWarning):
    """Something the user should know that did not stop the work (an undecodable byte)."""


def one_line(exc: BaseException, *, last: bool = False, limit: int = 240) -> str:
    """An exception's message as one line for `error: …`: its first non-blank line (or its last,
    for libraries such as FAISS that put the cause at the end), shortened to `limit`."""
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    text = (lines[-1] if last else lines[0]) if lines else type(exc).__name__
    return text if len(text) <= limit else text[: limit - 1] + "…"
