"""Numbers, months, weekdays and dates in English text.

- `number_spans(text)`: figures with their hedge, currency, percentage and scale ("nearly 5,000",
  "$2.6 billion", "40 per cent", "two"), not the digits of a date ("October 7") nor the 329 of
  "138 out of 329";
- `date_spans(text)`: dates as news text writes them ("October 7, 2023", "7 October", "mid-2022",
  "the 1980s", "Monday", "last week", "yesterday");
- `figures(text)` and `number_key`: the digit runs of a text ("2,500", "2.6") and the form two of
  them are compared in ("2,500" = "2500");
- `HEDGES`: the words that soften a figure ("about", "nearly", "at least").

English only: month and weekday names, number words up to twelve (and "dozens", "hundreds") and
the scales million to trillion. Not done: ordinals ("the seventh"), fractions ("two thirds"),
compound number words ("twenty-five"), dates in other orders or calendars.
"""

from __future__ import annotations

import re

MONTHS = (
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
)
WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
HEDGES = (
    "about",
    "around",
    "nearly",
    "almost",
    "roughly",
    "more than",
    "over",
    "some",
    "up to",
    "at least",
)

MONTH = rf"(?:{'|'.join(MONTHS)})"
WEEKDAY = rf"(?:{'|'.join(WEEKDAYS)})"
DIGITS = r"\d[\d,]*(?:\.\d+)?"  # 5, 2,500, 2.6
_NUMBER_WORDS = (
    r"(?:two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|dozens?|hundreds?)\b"
)
_DATE_SPAN = re.compile(
    rf"\b{MONTH}\s+\d{{1,2}},\s+\d{{4}}\b|\b{MONTH}\s+\d{{1,2}}\b|\b\d{{1,2}}\s+{MONTH}"
    rf"(?:\s+\d{{4}})?\b|\b{MONTH}(?:\s+\d{{4}})?\b|\b(?:early|mid|late)-?\d{{4}}\b|"
    rf"\b(?:19|20)\d\d(?:s)?\b|\b{WEEKDAY}\b|\b(?:last|next|this) (?:week|month|year)\b|"
    r"\byesterday\b|\btoday\b"
)
_NUMBER_SPAN = re.compile(  # "nearly 5,000", "$2.6 billion", "40 per cent"
    rf"(?:(?:{'|'.join(HEDGES)})\s+)?"
    rf"(?:[$€£]\s?)?(?:{DIGITS}|{_NUMBER_WORDS})"
    r"(?:\s?(?:%|per cent|percent))?"
    r"(?:\s+(?:million|billion|trillion|thousand))?",
    re.IGNORECASE,
)
_FIGURE = re.compile(DIGITS)
_OUT_OF = re.compile(r"\d\s+out\s+of\s+$")
_MONTH_OR_WEEKDAY = re.compile(rf"{MONTH}|{WEEKDAY}")


def date_spans(text: str) -> list[tuple[int, int]]:
    """Character spans of the dates in `text`."""
    return [m.span() for m in _DATE_SPAN.finditer(text)]


def number_spans(text: str) -> list[tuple[int, int]]:
    """Character spans of the figures in `text`, leaving out a date's digits ("October 7") and
    the total of "138 out of 329"."""
    dates = [m.span() for m in _DATE_SPAN.finditer(text) if re.search(r"\d", m.group())]
    return [
        m.span()
        for m in _NUMBER_SPAN.finditer(text)
        if not any(s < m.end() and m.start() < e for s, e in dates)
        and not _OUT_OF.search(text[: m.start()])
    ]


def is_month_or_weekday(word: str) -> bool:
    """Whether `word` is an English month or weekday name, capitalised ("May", "Monday")."""
    return bool(_MONTH_OR_WEEKDAY.fullmatch(word))


def figures(text: str) -> list[str]:
    """The digit runs of `text` as written ("2,500", "2.6", "2023")."""
    return _FIGURE.findall(text)


def number_key(figure: str) -> str:
    """A figure as compared with another: "2,500" and "2500." are the same number."""
    return figure.replace(",", "").rstrip(".")
