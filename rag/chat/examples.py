"""Example questions about a document, derived from the document itself.

Who the first person and organisation named in the body are, a follow-up about that person, the
date when the article carries one, and a question news text rarely answers (to show an
abstention). No document is special-cased; the examples are suggestions to click, not checked
to be answerable.
"""

from __future__ import annotations

from rag.documents.parse import Document
from rag.text.names import ORGANISATION, entities, is_person, name_part

ABSTENTION_EXAMPLE = "Who wrote this article?"  # news text rarely says; shows an abstention


def example_questions(document: Document) -> list[str]:
    people: list[str] = []
    organisations: list[str] = []
    for paragraph in document.paragraphs:
        if paragraph.role != "body":
            continue
        for span, titled in entities(paragraph.text):
            if is_person(span, titled) and len(span.split()) >= 2:
                people.append(span)
            elif ORGANISATION.search(span):
                organisations.append(span)
    examples = []
    if people:
        examples += [f"Who is {name_part(people[0])}?", "What did he say or do?"]
    if organisations:
        examples.append(f"What is {organisations[0]}?")
    if document.dateline:
        examples.append("When was the article updated?")
    examples.append(ABSTENTION_EXAMPLE)
    return examples
