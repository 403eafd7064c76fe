"""The English rules of rag.text.names and rag.text.numbers: what each accepts and rejects.

Unit tier: no subprocess, no real model, no server; runs in seconds.
"""

from __future__ import annotations

from rag.text.names import (
    NOT_NAMES,
    TITLES,
    entities,
    finds,
    is_adjective,
    is_person,
    name_part,
    name_runs,
    name_spans,
    names_in,
    not_a_name,
)
from rag.text.numbers import (
    date_spans,
    figures,
    is_month_or_weekday,
    number_key,
    number_spans,
)


def _cut(text: str, spans: list[tuple[int, int]]) -> list[str]:
    return [text[a:b] for a, b in spans]


def test_number_spans_keep_hedge_currency_percentage_and_scale() -> None:
    text = "Nearly 5,000 fled, $2.6 billion was spent, 40 per cent voted and two died."
    assert _cut(text, number_spans(text)) == ["Nearly 5,000", "$2.6 billion", "40 per cent", "two"]


def test_number_spans_leave_out_dates_and_the_total_of_out_of() -> None:
    text = "On October 7, 2023 the bloc won 138 out of 329 seats."
    assert _cut(text, number_spans(text)) == ["138"]
    assert number_spans("No figure here, and twenty-one is not read.") == []


def test_date_spans_of_each_shape() -> None:
    text = (
        "October 7, 2023; 7 October; in May 2022; by mid-2022; the 1980s; on Monday; "
        "last week; yesterday"
    )
    assert _cut(text, date_spans(text)) == [
        "October 7, 2023",
        "7 October",
        "May 2022",
        "mid-2022",
        "1980s",
        "Monday",
        "last week",
        "yesterday",
    ]
    assert date_spans("may be in the spring of 1850") == []  # lower case "may", years before 1900


def test_months_and_weekdays_are_capitalised_full_names() -> None:
    assert is_month_or_weekday("May") and is_month_or_weekday("Sunday")
    assert not is_month_or_weekday("may")
    assert not is_month_or_weekday("Sept")
    assert not is_month_or_weekday("Mayor")


def test_figures_compare_without_thousands_commas() -> None:
    assert figures("2,500 troops, 2.6 billion, in 2023.") == ["2,500", "2.6", "2023"]
    assert number_key("2,500") == number_key("2500.") == "2500"
    assert number_key("2.6") != number_key("26")


def test_names_in_drops_openers_stop_words_and_titles_at_the_start() -> None:
    assert names_in("Under the deal, Ann Lee met The National.") == ["Ann Lee", "National"]
    assert names_in("However, Prime Minister Mohammed Shia Al Sudani said") == [
        "Mohammed Shia Al Sudani"
    ]
    assert names_in("Since Washington and Mayor Ann Lee") == ["Washington and Mayor Ann Lee"]
    assert names_in("Mayor Ann Lee spoke") == ["Ann Lee"]
    assert names_in("the Co-ordination Framework of Iraq") == ["Co-ordination Framework of Iraq"]
    assert names_in("nothing capitalised here") == []


def test_names_in_keeps_months_but_name_spans_drop_spans_starting_with_one() -> None:
    text = "October Ann Lee met Ain Al Asad"
    assert names_in(text) == ["October Ann Lee", "Ain Al Asad"]
    assert _cut(text, name_spans(text)) == ["Ain Al Asad"]
    text = "President Joe Biden spoke"
    assert _cut(text, name_spans(text)) == ["Joe Biden"]


def test_not_names_hold_stop_words_openers_and_titles() -> None:
    for word in ("The", "However", "Since", "Mr", "Prime", "Secretary", "Mayor"):
        assert not_a_name(word), word
    for word in ("Iraq", "Hamas", "Ann", "October"):
        assert not not_a_name(word), word
    assert TITLES <= NOT_NAMES


def test_entities_say_whether_a_title_comes_first() -> None:
    assert entities("analyst Hadi Jalo Marie said") == [("Hadi Jalo Marie", False)]
    assert entities("said Prime Minister Mohammed Shia Al Sudani") == [
        ("Mohammed Shia Al Sudani", True)
    ]
    assert entities("He met Dr. Jones and spokesman Yahya Rasool.") == [
        ("Jones", True),
        ("Yahya Rasool", True),
    ]


def test_entities_leave_out_openers_months_adjectives_and_sentence_starts() -> None:
    assert entities("the Iran-backed militias") == []
    assert entities("It was in October.") == []
    assert entities("Security forces met Hamas.") == [("Hamas", False)]
    assert entities("Security.") == [("Security", False)]  # a lone word is all there is


def test_adjectives_made_from_names_are_not_names() -> None:
    for word in ("Iran-backed", "Tehran-allied", "US-led", "Washington-friendly", "Basra-based"):
        assert is_adjective(word), word
    for word in ("Co-ordination", "Al-Sudani", "Iran", "well-known"):
        assert not is_adjective(word), word
    assert entities("the Iran-backed militias and Washington-friendly cabinet") == []


def test_is_person_and_name_part() -> None:
    assert is_person("Hadi Jalo Marie", False)
    assert is_person("Jones", True)
    assert not is_person("Jones", False)
    assert not is_person("Co-ordination Framework", True)
    assert not is_person("Iraq", True)
    assert name_part("Iraqi Prime Minister Mohammed Shia Al Sudani") == "Mohammed Shia Al Sudani"
    assert name_part("Dhi Qar Governor Khalid Al Rikabi") == "Khalid Al Rikabi"
    assert name_part("Hadi Jalo Marie") == "Hadi Jalo Marie"


def test_name_runs_join_single_spaces_and_drop_honorifics() -> None:
    assert name_runs("Hamas launched an attack on Israel.") == [("Israel", ["israel"])]
    assert name_runs("Al Sudani met US troops.") == [
        ("Al Sudani", ["al", "sudani"]),
        ("US", ["us"]),
    ]
    assert name_runs("Mr Al Sudani, US", skip_first=False) == [
        ("Mr Al Sudani", ["al", "sudani"]),
        ("US", ["us"]),
    ]


def test_finds_a_word_that_begins_or_is_begun_by_another() -> None:
    assert finds("iraq", {"iraqi"}) and finds("iraqi", {"iraq"})
    assert finds("america", {"american", "troop"})
    assert finds("us", {"us"})  # exact matches need no length
    assert not finds("us", {"usa"})  # too short to match by its start
    assert not finds("iraq", {"iran"})
    assert not finds("bank", {"ban"})  # both must have four letters
