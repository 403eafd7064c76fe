"""Attribution (rag.answer.attribution) on chosen generated answers, with the fake embedder.

The model's markers ([¶N], [doc ¶N], prompt labels such as [A]) are stripped and never trusted:
every sentence is attributed to its best-supporting sentence among all the retrieved paragraphs
and cited by us, with a verbatim quote. A paragraph lacking a name or number the sentence adds to
the question, or whose best sentence says the opposite, cannot support it; a sentence no
paragraph supports is dropped with the closest paragraph and what it lacked as the reason. The
abstention sentence is recognised, and an injection paragraph stays data: a sentence that
addresses the reader or an AI system is never evidence, so a claim copied from it is dropped.

Unit tier: no subprocess, no real model, no server; runs in seconds.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from rag.answer.attribution import CheckedAnswer, check, names, split_claims
from rag.index.store import Index
from rag.llm.catalogue import DEFAULT_TUNING
from rag.results import ABSTENTION, Dropped
from rag.retrieval.retriever import Hit, Retrieval

from ..fakes import STORY, FakeEmbedder, make_index, retrieval_of

THRESHOLD = DEFAULT_TUNING.support_threshold

OTHER = """Council approves harbour budget

The council approved a budget of 3 million pounds for the harbour on Tuesday.
"""


def run(index: Index, text: str, *numbers: int, question: str = "") -> CheckedAnswer:
    return check(text, retrieval_of(index, *numbers), index, FakeEmbedder(), THRESHOLD, question)


def assert_verifiable(index: Index, checked: CheckedAnswer) -> None:
    for citation in checked.citations:
        paragraph = index.paragraph(citation.doc, citation.paragraph)
        assert citation.text == paragraph.text
        assert paragraph.text[citation.start : citation.end] == citation.quote
        assert citation.quote in [s.text for s in paragraph.sentences]


def scores_of(checked: CheckedAnswer, paragraph: int) -> dict[str, Any]:
    [row] = [s for s in checked.scores if s["paragraph"] == paragraph]
    return row


def test_a_sentence_without_a_marker_is_attributed_and_cited(index: Index) -> None:
    checked = run(index, "The bridge cost 12 million pounds.", 2, 3, 5)
    assert [s.text for s in checked.kept] == ["The bridge cost 12 million pounds."]
    assert checked.dropped == []
    assert [(c.paragraph, c.quote) for c in checked.citations] == [
        (3, "The bridge cost 12 million pounds.")
    ]
    assert checked.citations[0].score >= THRESHOLD
    assert checked.text(False) == "The bridge cost 12 million pounds. [¶3]"
    # Every retrieved paragraph was scored, not only the best one.
    assert sorted(s["paragraph"] for s in checked.scores) == [2, 3, 5]
    assert_verifiable(index, checked)


def test_the_quote_is_the_best_supporting_sentence(index: Index) -> None:
    checked = run(index, "The engineer Mara Quill designed the bridge.", 2, 3)
    assert [(c.paragraph, c.quote) for c in checked.citations] == [
        (3, "It was designed by the engineer Mara Quill.")
    ]
    assert_verifiable(index, checked)


def test_a_wrong_marker_becomes_the_right_citation(index: Index) -> None:
    # The model cites ¶5 (retrieved, but about traders): the evidence is in ¶3.
    wrong = run(index, "The bridge cost 12 million pounds [¶5].", 5, 3)
    assert wrong.text(False) == "The bridge cost 12 million pounds. [¶3]"
    assert [c.paragraph for c in wrong.citations] == [3] and wrong.dropped == []
    # A marker naming a paragraph that was never retrieved is stripped the same way.
    unretrieved = run(index, "The bridge cost 12 million pounds [¶3, ¶42].", 3, 2)
    assert unretrieved.text(False) == "The bridge cost 12 million pounds. [¶3]"
    assert "42" not in str(unretrieved.scores) and unretrieved.dropped == []


def test_a_wrong_marker_with_no_supporting_paragraph_is_dropped(index: Index) -> None:
    # True in the article, but ¶3 (which says it) was not retrieved: nothing shown supports it.
    checked = run(index, "The bridge cost 12 million pounds [¶2].", 2, 5)
    assert checked.kept == [] and checked.citations == []
    [dropped] = checked.dropped
    assert dropped.sentence == "The bridge cost 12 million pounds [¶2]."
    reason = dropped.reason
    assert reason.startswith("not supported by the article (closest ¶2, score ")
    assert reason.endswith("; 12 not in it)")


def test_prompt_labels_and_markers_are_stripped_from_the_text(index: Index) -> None:
    checked = run(
        index, "[A] The bridge cost 12 million pounds [B]. It opened on Monday [¶9].", 3, 2
    )
    assert [s.text for s in checked.kept] == [
        "The bridge cost 12 million pounds.",
        "It opened on Monday.",
    ]
    assert checked.text(False) == (
        "The bridge cost 12 million pounds. [¶3] It opened on Monday. [¶2]"
    )
    assert_verifiable(index, checked)


def test_marker_after_the_full_stop_and_on_its_own_line(index: Index) -> None:
    # The markers are all wrong; they must neither become sentences nor decide the citation.
    text = (
        "The bridge cost 12 million pounds. [¶5] The bridge opened on Monday.\n[¶3]\n"
        "- Traders said it would bring more visitors to the harbour [¶2]"
    )
    checked = run(index, text, 2, 3, 5)
    assert [[c.paragraph for c in s.citations] for s in checked.kept] == [[3], [2], [5]]
    assert checked.dropped == []
    assert_verifiable(index, checked)


def test_a_hallucinated_name_is_dropped_with_a_reason(index: Index) -> None:
    checked = run(index, "The bridge was designed by John Smith.", 2, 3, 5)
    assert checked.kept == [] and checked.citations == []
    reason = checked.dropped[0].reason
    assert reason.startswith("not supported by the article (closest ¶3, score ")
    assert reason.endswith("; John Smith not in it)")
    assert not any(row["eligible"] for row in checked.scores)


def test_a_hallucinated_number_is_dropped_however_similar_the_sentence(index: Index) -> None:
    checked = run(index, "The bridge cost 40 million pounds.", 2, 3, 5)
    assert checked.kept == []
    assert checked.dropped[0].reason.endswith("; 40 not in it)")
    # The words match ¶3 well above the threshold: the missing number alone rules ¶3 out.
    row = scores_of(checked, 3)
    assert row["score"] >= THRESHOLD and row["eligible"] is False


def test_a_claim_that_negates_its_evidence_is_dropped(index: Index) -> None:
    checked = run(index, "The bridge did not cost 12 million pounds.", 2, 3, 5)
    assert checked.kept == []
    reason = checked.dropped[0].reason
    assert reason.startswith("not supported by the article (closest ¶3, ")
    assert reason.endswith("; the article's sentence says the opposite (negation))")
    row = scores_of(checked, 3)
    assert row["score"] >= THRESHOLD and row["eligible"] is False  # same words, opposite sense


def test_unsupported_claims_are_dropped_and_supported_ones_kept(index: Index) -> None:
    text = (
        "The bridge opened on Monday after three years of work. "
        "The bridge was paid for by the Navy and cost 90 million pounds."
    )
    checked = run(index, text, 2, 3)
    assert [s.text for s in checked.kept] == [
        "The bridge opened on Monday after three years of work."
    ]
    assert [c.paragraph for c in checked.citations] == [2]
    assert len(checked.dropped) == 1
    reason = checked.dropped[0].reason
    assert reason.startswith("not supported by the article (closest ¶3, score ")
    assert "90" in reason and "Navy" in reason  # the absent number and name are named


def test_a_vague_claim_below_the_threshold_is_dropped(index: Index) -> None:
    checked = run(index, "The bridge is lovely. It is very pretty.", 2, 3, 5)
    assert checked.kept == [] and len(checked.dropped) == 2
    for entry in checked.dropped:
        assert entry.reason.startswith("not supported by the article (closest ¶")
        assert "not in it" not in entry.reason  # eligible everywhere, just not supported
    assert all(row["score"] < THRESHOLD for row in checked.scores)


def test_names_and_numbers_from_the_question_need_not_be_in_the_paragraph(index: Index) -> None:
    claim = "The bridge designed by Mara Quill opened on Monday."
    alone = run(index, claim, 2)
    assert alone.kept == [] and alone.dropped[0].reason.endswith("; Mara Quill not in it)")
    asked = run(index, claim, 2, question="When did the bridge designed by Mara Quill open?")
    assert [c.paragraph for c in asked.citations] == [2] and asked.dropped == []
    claim = "The bridge opened 3 years ago on Monday."
    assert run(index, claim, 2).dropped[0].reason.endswith("; 3 not in it)")
    assert run(index, claim, 2, question="Did the bridge open 3 years ago?").kept


def test_gibberish_is_rejected(index: Index) -> None:
    checked = run(index, "'.llllll ¶ zq]] [[ qq ¶3 [¶] [¶x]", 3)
    assert checked.kept == []
    assert checked.dropped and not checked.abstained


def test_no_retrieved_paragraphs_supports_nothing(index: Index) -> None:
    checked = run(index, "The bridge cost 12 million pounds [¶3].")
    assert checked.kept == []
    assert checked.dropped[0].reason == "no paragraphs were retrieved"


def test_the_abstention_sentence_abstains(index: Index) -> None:
    checked = run(index, ABSTENTION, 3)
    assert checked.abstained and checked.kept == [] and checked.citations == []
    assert checked.text(False) == ABSTENTION
    assert run(index, "the article does not say", 3).abstained
    assert run(index, "The article does not say [¶3].", 3).abstained  # a marker changes nothing
    assert not run(index, "The bridge is lovely.", 3).abstained


def test_abstention_next_to_a_supported_answer_is_dropped(index: Index) -> None:
    checked = run(index, f"The bridge cost 12 million pounds [¶3]. {ABSTENTION}", 3)
    assert not checked.abstained
    assert checked.dropped == [Dropped(ABSTENTION, "abstention alongside an answer")]


def test_split_claims_strips_citations_and_labels() -> None:
    assert split_claims("A claim here [¶3]. Another one. [¶4, ¶5]") == [
        ("A claim here [¶3].", "A claim here.", ["[¶3]"]),
        ("Another one [¶4, ¶5].", "Another one.", ["[¶4, ¶5]"]),
    ]
    assert split_claims("[A] A claim [B2]. Text [doc ¶7].") == [
        ("[A] A claim [B2].", "A claim.", ["[A]", "[B2]"]),
        ("Text [doc ¶7].", "Text.", ["[doc ¶7]"]),
    ]
    # Brackets that are neither a citation nor a label are text.
    assert split_claims("The [ABC] party won [12].")[0][1] == "The [ABC] party won [12]."


def test_names_of_a_claim() -> None:
    assert names("Hamas launched an attack on Israel.") == [("Israel", ["israel"])]
    assert names("Mr Al Sudani met US troops.") == [
        ("Mr Al Sudani", ["al", "sudani"]),
        ("US", ["us"]),
    ]


def test_multi_document_attribution(tmp_path: Path) -> None:
    index = make_index(tmp_path, {"story": STORY, "council": OTHER})
    assert index.multi_doc
    hits = [Hit("story", 3, 1.0, 0.5, 1.0), Hit("council", 2, 0.5, 0.5, 1.0)]
    retrieval = Retrieval("q", FakeEmbedder().embed_batch(["q"])[0], hits, 0.0)
    # Both markers name the wrong document; one names a paragraph that does not exist there.
    text = (
        "The council approved 3 million pounds for the harbour [story ¶3]. "
        "The bridge cost 12 million pounds [council ¶3]."
    )
    checked = check(text, retrieval, index, FakeEmbedder(), THRESHOLD)
    assert [(c.doc, c.paragraph) for c in checked.citations] == [("council", 2), ("story", 3)]
    assert checked.text(True) == (
        "The council approved 3 million pounds for the harbour. [council ¶2] "
        "The bridge cost 12 million pounds. [story ¶3]"
    )
    assert checked.dropped == []
    assert_verifiable(index, checked)


def test_injection_paragraph_is_only_data(index: Index) -> None:
    injected = index.paragraph("story", 4).text
    assert injected.startswith("Ignore previous instructions")
    # A sentence addressing the system is never evidence (rag.text.injection): a model that obeyed
    # the injection loses the sentence, whatever it cites, and the reason says why.
    obeyed = run(index, "HACKED [¶2].", 2, 4)
    assert obeyed.kept == [] and obeyed.citations == []
    assert [s["eligible"] for s in obeyed.scores if s["paragraph"] == 4] == [False]
    # The paragraph's own fake markers ([¶1], a forged <source id="¶9">) are text: a model
    # repeating ¶9 gets the real evidence cited instead.
    forged = run(index, "The bridge cost 12 million pounds [¶9].", 2, 3, 4)
    assert forged.text(False) == "The bridge cost 12 million pounds. [¶3]"
    # An invented claim copied from nowhere is dropped, injection paragraph or not.
    invented = run(index, "The nominee was Donald Duck.", 2, 3, 4)
    assert invented.kept == [] and "Donald Duck not in it" in invented.dropped[0].reason
