"""Example questions about a document, derived from the document itself.

Who the first person and organisation named in the body are, what that person said, and the
date when the article carries one. Each stands alone (no "he" without a referent). No document is
special-cased; these are candidates: `Pipeline.example_questions` offers only those the pipeline
itself answers with support.
"""

from __future__ import annotations

from rag.documents.parse import Document
from rag.text.names import ORGANISATION, entities, is_person, name_part


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
        examples += [f"Who is {name_part(people[0])}?", f"What did {name_part(people[0])} say?"]
    if organisations:
        examples.append(f"What is {organisations[0]}?")
    if document.dateline:
        examples.append("When was the article updated?")
    return examples
