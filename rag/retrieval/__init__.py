"""Retrieval: the paragraphs most likely to answer a question, dense (MiniLM cosine) and BM25
rankings fused by reciprocal rank (retriever).

Not here: deciding whether they answer (rag.answer).
"""
