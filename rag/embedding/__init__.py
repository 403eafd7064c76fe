"""Embedding: the `Embedder` protocol and the bundled MiniLM's folder and hash (model), the
sentence-transformers adapter used to build the index (torch_encoder), its ONNX export (onnx_export,
layout) and the onnxruntime query encoder that `rag ask` uses (onnx_encoder).

Only this package imports sentence_transformers, torch and onnxruntime for embedding.
"""
