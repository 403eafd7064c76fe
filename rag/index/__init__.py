"""The index on disk: `ensure_index` (open it, building first when missing or stale: ensure),
building (build), the opened `Index` (store), the manifest and documents.json as data (manifest),
file hashes (files), the folder's lock, swap and cleanup (folder), the FAISS vectors (vectors) and
BM25 (bm25).

Only this package imports faiss and bm25s. Not here: ranking for a question (rag.retrieval).
"""
