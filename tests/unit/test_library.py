"""The library of the index folder (rag.index.library) and the pipeline that follows it
(rag.live), with the fake embedder: add, list, remove, limits, conflicts and reopening.

Unit tier: no subprocess, no real model, no server; runs in seconds.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from rag.config import Settings
from rag.errors import InputError, SourceError
from rag.index.build import IndexChanged, build_index
from rag.index.folder import current_build
from rag.index.library import Library, documents_of
from rag.index.manifest import read_manifest
from rag.index.store import open_index
from rag.live import LivePipeline
from rag.pipeline import Pipeline

from ..fakes import STORY, FakeEmbedder
from ..news_page import PAGE, PDF

OTHER = """Valley school reopens after the flood

The primary school in Lowmere reopened on Tuesday, six weeks after the river flooded it.

The repairs cost 300,000 pounds and were paid by the county council.
"""


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    story = tmp_path / "sources" / "story.txt"
    story.parent.mkdir()
    story.write_text(STORY, encoding="utf-8")
    settings = Settings.load({"index_dir": tmp_path / "index", "sources": (story,)}, env={})
    build_index(settings, [story], embedder=FakeEmbedder())
    return settings


@pytest.fixture
def library(settings: Settings) -> Library:
    return Library(settings, embedder=FakeEmbedder())


def upload(tmp_path: Path, name: str, data: bytes | str) -> Path:
    """A file as the web server receives it: in a temporary folder of its own."""
    folder = tmp_path / "upload" / name
    folder.mkdir(parents=True)
    path = folder / name
    if isinstance(data, str):
        path.write_text(data, encoding="utf-8")
    else:
        path.write_bytes(data)
    return path


def listed(settings: Settings) -> list[tuple[str, int]]:
    return [(d.id, d.paragraphs) for d in documents_of(open_index(settings))]


def test_added_documents_are_indexed_listed_and_kept_in_the_index_folder(
    settings: Settings, library: Library, tmp_path: Path
) -> None:
    added = library.add(upload(tmp_path, "school.txt", OTHER))
    assert (added.id, added.title, added.paragraphs) == (
        "school",
        "Valley school reopens after the flood",
        3,
    )
    assert added.size == len(OTHER.encode()) and added.source == "school.txt"
    page = library.add(PAGE)
    assert page.id == "news_page" and page.paragraphs >= 14
    assert page.title.startswith("Harbour town votes to rebuild its sea wall")
    pdf = library.add(PDF)
    assert pdf.id == "news_page-2"  # the name is taken: the copy gets a free one
    assert listed(settings) == [
        ("story", 5),
        ("school", 3),
        ("news_page", page.paragraphs),
        ("news_page-2", pdf.paragraphs),
    ]
    for source in read_manifest(settings.index_dir / "current").sources[1:]:
        assert Path(source.path).is_relative_to(settings.index_dir / "uploads")
    index = open_index(settings)
    assert index.multi_doc and index.paragraph("news_page-2", 1).page == 1


def test_a_binary_renamed_pdf_is_refused_and_nothing_changes(
    settings: Settings, library: Library, tmp_path: Path
) -> None:
    before = current_build(settings.index_dir)
    png = upload(tmp_path, "story.pdf", b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 40)
    with pytest.raises(SourceError, match=r"^story\.pdf: not a PDF"):
        library.add(png)
    text = upload(tmp_path, "photo.txt", b"\x89PNG\r\n\x1a\n\x00\x00binary")
    with pytest.raises(SourceError, match=r"^photo\.txt: binary file"):
        library.add(text)
    with pytest.raises(SourceError, match=r"only \.txt, \.md, \.html and \.pdf"):
        library.add(upload(tmp_path, "sheet.xlsx", "a,b"))
    assert current_build(settings.index_dir) == before
    assert list((settings.index_dir / "uploads").iterdir()) == []  # no copy left behind


def test_limits_on_size_count_and_repeats(settings: Settings, tmp_path: Path) -> None:
    small = Library(settings.replace(max_upload_mb=1, max_documents=2), embedder=FakeEmbedder())
    big = upload(tmp_path, "big.txt", "The harbour wall was rebuilt. " * 40_000)
    with pytest.raises(SourceError, match=r"1\.1 MiB is over the 1 MiB limit .*RAG_MAX_UPLOAD_MB"):
        small.add(big)
    small.add(upload(tmp_path, "school.txt", OTHER))
    with pytest.raises(InputError, match=r"holds 2 documents, the most .*RAG_MAX_DOCUMENTS=2"):
        small.add(upload(tmp_path, "more.txt", OTHER + "\nMore text.\n"))
    again = Library(settings, embedder=FakeEmbedder())
    with pytest.raises(SourceError, match=r"copy\.txt: already in the library, as 'school'"):
        again.add(upload(tmp_path, "copy.txt", OTHER))
    assert [name for name, _ in listed(settings)] == ["story", "school"]


def test_removing_a_document_deletes_its_copy_and_keeps_the_rest(
    settings: Settings, library: Library, tmp_path: Path
) -> None:
    library.add(upload(tmp_path, "school.txt", OTHER))
    kept = Path(read_manifest(settings.index_dir / "current").sources[1].path)
    library.remove("school")
    assert listed(settings) == [("story", 5)]
    assert not kept.parent.exists()
    assert (tmp_path / "sources" / "story.txt").is_file()  # the user's own file is never touched
    with pytest.raises(InputError, match="no document 'school' in the library"):
        library.remove("school")
    with pytest.raises(InputError, match="only document"):
        library.remove("story")


def test_a_build_based_on_a_replaced_index_writes_nothing(
    settings: Settings, library: Library, tmp_path: Path
) -> None:
    old = current_build(settings.index_dir)
    assert old is not None
    library.add(upload(tmp_path, "school.txt", OTHER))
    new = current_build(settings.index_dir)
    with pytest.raises(IndexChanged):
        build_index(settings, [PAGE], embedder=FakeEmbedder(), based_on=old)
    assert current_build(settings.index_dir) == new


def test_a_change_made_by_another_process_meanwhile_is_kept(
    settings: Settings, library: Library, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Another `rag index` swaps in its build while the library works out its change: the
    change is worked out again from that build, and both are in the library."""
    import rag.index.library as module

    school = upload(tmp_path, "school.txt", OTHER)
    story = tmp_path / "sources" / "story.txt"
    real = module.build_index
    calls = []

    def racing(*args, **named):  # the first attempt loses the race to another process
        calls.append(named["based_on"])
        if len(calls) == 1:
            real(settings, [story, PAGE], embedder=FakeEmbedder())
        return real(*args, **named)

    monkeypatch.setattr(module, "build_index", racing)
    library.add(school)
    assert len(calls) == 2 and calls[0] != calls[1]
    assert [name for name, _ in listed(settings)] == ["story", "news_page", "school"]


def test_the_live_pipeline_answers_from_a_build_swapped_in_underneath(
    settings: Settings, tmp_path: Path
) -> None:
    opened = Pipeline.open(settings, embedder=FakeEmbedder())
    live = LivePipeline(opened)
    school = tmp_path / "sources" / "school.txt"
    school.write_text(OTHER, encoding="utf-8")
    question = "How much did the school repairs cost?"
    assert live.ask(question).abstained  # the story does not say
    build_index(settings, [school], embedder=FakeEmbedder())  # `rag index` elsewhere
    assert opened.ask(question).abstained  # the pipeline opened before: still the story
    assert [d.name for d in live.documents] == ["school"]
    answer = live.ask(question)
    assert answer.citations[0].doc == "school" and "300,000" in answer.text


def test_questions_asked_while_the_new_build_opens_get_the_old_one(
    settings: Settings, tmp_path: Path
) -> None:
    live = LivePipeline(Pipeline.open(settings, embedder=FakeEmbedder()))
    school = tmp_path / "sources" / "school.txt"
    school.write_text(OTHER, encoding="utf-8")
    build_index(settings, [school], embedder=FakeEmbedder())
    with live._lock:  # another thread is opening the new build
        assert [d.name for d in live.documents] == ["story"]
    assert [d.name for d in live.current(wait=True).documents] == ["school"]


def test_a_new_build_that_does_not_open_keeps_the_old_one(
    settings: Settings, tmp_path: Path
) -> None:
    said: list[str] = []
    live = LivePipeline(Pipeline.open(settings, embedder=FakeEmbedder()), progress=said.append)
    school = tmp_path / "sources" / "school.txt"
    school.write_text(OTHER, encoding="utf-8")
    build = build_index(settings, [school], embedder=FakeEmbedder())
    shutil.copyfile(build / "manifest.json", build / "documents.json")  # damaged
    assert [d.name for d in live.documents] == ["story"]
    assert [d.name for d in live.documents] == ["story"]
    assert len(said) == 1 and said[0].startswith("warning: the new index does not open")


def test_a_kept_upload_over_the_source_limit_is_read_again_on_a_rebuild(
    settings: Settings, tmp_path: Path
) -> None:
    # The upload limit (here 2 MiB) is larger than a source's (here 1 MiB): the copy rag kept,
    # accepted under the first, is read again under it when the index is rebuilt from its
    # sources, as `rag ask` does after a source changed; a file of the user's is not.
    roomy = settings.replace(max_source_mb=1, max_upload_mb=2)
    big = OTHER + " " * 1_200_000 + "\nThe report came out on Monday.\n"  # padded: few passages
    assert 1 * 2**20 < len(big.encode()) < 2 * 2**20
    Library(roomy, embedder=FakeEmbedder()).add(upload(tmp_path, "report.txt", big))
    kept = [Path(s.path) for s in read_manifest(roomy.index_dir / "current").sources]
    build_index(roomy, kept, embedder=FakeEmbedder())  # the rebuild reads the kept copy
    assert [d.name for d in open_index(roomy).documents] == ["story", "report"]
    mine = tmp_path / "sources" / "mine.txt"
    mine.write_text(big, encoding="utf-8")
    with pytest.raises(SourceError, match="over the 1 MiB limit"):
        build_index(roomy, [*kept, mine], embedder=FakeEmbedder())
