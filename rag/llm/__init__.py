"""Local language models: the llama.cpp runtime (runtime), the catalogue of models that install
from PyPI (catalogue), resolving a model name, path or hf: spec to a file (resolve), GGUF header
checks (gguf) and chat-template vetting (chat_template).

Only this package imports llama_cpp. Not here: prompts or checking answers (rag.answer).
"""
