"""The index on disk: `ensure_index` (open it, building first when missing or stale: ensure),
building and repairing a broken query encoder (build), the opened `Index` (store), whether it is
stale (staleness), the `Manifest` type (manifest), documents.json (documents), file hashes
(files), the folder's lock, swap and cleanup (folder), the FAISS vectors (vectors) and BM25
(bm25).

Only this package imports faiss and bm25s. Not here: ranking for a question (rag.retrieval).
"""
