"""The article parser: roles, numbering, sentences, ids, and bad files.

Unit tier: no subprocess, no real model, no server; runs in seconds.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from rag.documents.parse import parse_text
from rag.documents.sources import collect_sources, read_document
from rag.errors import RagWarning, SourceError
from rag.text.sentences import split_sentences

from ..fakes import ARTICLE


@pytest.fixture(scope="module")
def article():
    return read_document(ARTICLE)


def test_roles_follow_the_article_layout(article) -> None:
    roles = [p.role for p in article.paragraphs]
    assert roles[:3] == ["headline", "standfirst", "caption"]
    assert article.paragraph(1).text.startswith("Iraqi government rejects")
    assert article.paragraph(3).credit == "Reuters"
    assert article.paragraph(3).sentences[-1].text == "Reuters"
    assert article.boilerplate == ("Powered by automated translation",)
    assert [p.text for p in article.paragraphs if p.role == "subheading"] == ["Boost relations"]
    assert roles[-1] == "dateline" and article.dateline == "Updated: October 23, 2023, 12:47 PM"
    assert roles.count("body") == len(roles) - 5


def test_numbering_skips_boilerplate_and_starts_at_the_headline(article) -> None:
    assert [p.number for p in article.paragraphs] == list(range(1, len(article.paragraphs) + 1))
    assert article.paragraph(13).text.startswith("Mr Al Sudani, who took office")
    assert all("Powered by" not in p.text for p in article.paragraphs)


def test_sentence_offsets_are_exact(article) -> None:
    for paragraph in article.paragraphs:
        for sentence in paragraph.sentences:
            assert paragraph.text[sentence.start : sentence.end] == sentence.text
    # "Mr Al Sudani" must not end a sentence at "Mr".
    assert len(article.paragraph(13).sentences) == 2


def test_sentence_splitter_handles_quotes_and_abbreviations() -> None:
    text = "“We will,” he said. Mr Smith met Dr. Jones in the U.S. on Monday. It rained."
    assert [s.text for s in split_sentences(text)] == [
        "“We will,” he said.",
        "Mr Smith met Dr. Jones in the U.S. on Monday.",
        "It rained.",
    ]


def test_ids_are_stable_and_follow_content() -> None:
    a = parse_text("Title\n\nFirst paragraph here.\n\nSecond one.", "doc")
    b = parse_text("Title\n\nFirst paragraph here.\n\nSecond one changed.", "doc")
    assert a.paragraph(2).id == b.paragraph(2).id
    assert a.paragraph(3).id != b.paragraph(3).id
    assert a.paragraph(2).id.startswith("doc:")


def test_markdown_headings_and_wrapped_lines(tmp_path: Path) -> None:
    path = tmp_path / "story.md"
    path.write_text(
        "# A headline\n\nA body paragraph that is\nwrapped over two lines.\n\n"
        "## A section\n\nMore **bold** text with a [link](http://x).\n",
        encoding="utf-8",
    )
    doc = read_document(path)
    assert [(p.role, p.text) for p in doc.paragraphs] == [
        ("headline", "A headline"),
        ("standfirst", "A body paragraph that is wrapped over two lines."),
        ("subheading", "A section"),
        ("body", "More bold text with a link."),
    ]


@pytest.mark.parametrize(
    ("content", "message"),
    [(b"", "empty"), (b"  \n\n ", "empty"), (b"\x00\x01binary", "binary")],
)
def test_bad_files_are_refused(tmp_path: Path, content: bytes, message: str) -> None:
    path = tmp_path / "bad.txt"
    path.write_bytes(content)
    with pytest.raises(SourceError, match=message):
        read_document(path)


def test_missing_and_wrong_kind_of_source(tmp_path: Path) -> None:
    with pytest.raises(SourceError, match="no such file"):
        collect_sources([tmp_path / "nope.txt"])
    (tmp_path / "x.docx").write_bytes(b"PK")
    with pytest.raises(SourceError, match=r"only \.txt, \.md, \.html and \.pdf"):
        collect_sources([tmp_path / "x.docx"])
    with pytest.raises(SourceError, match=r"holds no \.txt"):
        collect_sources([tmp_path])


def test_invalid_utf8_is_decoded_with_a_warning(tmp_path: Path, capsys) -> None:
    path = tmp_path / "latin.txt"
    path.write_bytes("Headline\n\nCaf\xe9 owners met on Monday.".encode("latin-1"))
    with pytest.warns(RagWarning, match=r"latin\.txt: not valid UTF-8 \(byte 13\)"):
        doc = read_document(path)
    assert capsys.readouterr().err == ""  # the library warns; the CLI prints (test_cli)
    assert doc.paragraph(2).text.startswith("Caf\ufffd")


def test_folders_expand_to_sorted_text_files(tmp_path: Path) -> None:
    (tmp_path / "b.md").write_text("# B\n\nBody.", encoding="utf-8")
    (tmp_path / "a.txt").write_text("A\n\nBody.", encoding="utf-8")
    (tmp_path / "skip.json").write_text("{}", encoding="utf-8")
    assert [p.name for p in collect_sources([tmp_path])] == ["a.txt", "b.md"]


def test_short_paragraphs_one_per_line_are_not_merged(tmp_path: Path) -> None:
    path = tmp_path / "short.txt"
    path.write_text(
        "Headline here\nFirst short paragraph.\nSecond short one.\nThird short one.\n"
        "Fourth short one.\n",
        encoding="utf-8",
    )
    assert len(read_document(path).paragraphs) == 5


def test_hard_wrapped_text_is_joined(tmp_path: Path) -> None:
    path = tmp_path / "wrapped.txt"
    path.write_text(
        "Headline\n\nThis paragraph was wrapped at a\nfixed width by an editor so its\n"
        "lines end mid-sentence.\n\nA second paragraph, also\nwrapped.\n",
        encoding="utf-8",
    )
    texts = [p.text for p in read_document(path).paragraphs]
    assert texts[1] == (
        "This paragraph was wrapped at a fixed width by an editor so its lines end mid-sentence."
    )


def test_sentences_and_tokens_beyond_ascii() -> None:
    from rag.text.tokens import tokenize

    text = "Die Regierung tagte. Österreich stimmte zu. Él dijo que sí."
    assert [s.text for s in split_sentences(text)] == [
        "Die Regierung tagte.",
        "Österreich stimmte zu.",
        "Él dijo que sí.",
    ]
    assert "müller" in tokenize("Herr Müller sagte") and "київ" in tokenize("Київ")
