"""Answering: what the question asks for (question), the reader seam that decides which sentence
answers and whether any does (reader, with the logistic reader as its first implementation), the
extractive answerer (extractive), the short answer (short_answer), abstention (abstention), and
model answers: the prompt (prompt), the generative answerer (generative) and the attribution of
each sentence a model writes (attribution).

Not here: loading a language model (rag.llm) or retrieving paragraphs (rag.retrieval).
"""
