"""Text bound for a terminal: control characters removed.

Document text, file names and questions reach the terminal through answers, quotes, progress
lines and errors. An escape sequence in any of them could retitle the terminal, move the cursor
or erase what the reader sees (`\\x1b]0;pwned\\x07`, backspaces), so everything the CLI prints
as text goes through `for_terminal`: C0 and C1 control characters and DEL are dropped, except
newline and tab; text that is not valid Unicode (lone surrogates from undecodable bytes) is
shown with replacement characters. JSON output needs none of this: json escapes controls.
"""

from __future__ import annotations

import re

_CONTROLS = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")
_SURROGATES = re.compile(r"[\ud800-\udfff]")


def for_terminal(text: str) -> str:
    return _SURROGATES.sub("\ufffd", _CONTROLS.sub("", text))
