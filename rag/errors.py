"""User-facing errors.

Every failure a person can cause or fix (bad input, missing files, a broken index or model) is a
`RagError`; the CLI prints it as one line (`error: …`) and exits with `exit_code`. Anything else
is a bug and is allowed to surface as one.
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
