"""rag: ask a news article, get short answers with checkable [¶N] citations.

The package is a library first; `rag.cli` and `ui/` are thin layers over `rag.pipeline`.
Importing `rag` loads no heavy library (torch, sentence_transformers, faiss, llama_cpp, gradio).
"""

__version__ = "0.1.0"
