"""Text rules, each English rule written once: the tokenizer and stemmer (tokens), the sentence
splitter (sentences), names, titles, numbers and months (names), and the filter for sentences that
address the assistant (injection).

Everything here is pure string work: no index, no model, no I/O. English is assumed for stop
words, stemming and names; other scripts are split into words and left as they are.
"""
