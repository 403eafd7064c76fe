"""Text rules, each English rule written once: the tokenizer and stemmer (tokens), the sentence
splitter (sentences), names and the titles before them (names), numbers, months, weekdays and
dates (numbers), and the filter for sentences that address the assistant (injection).

Everything here is pure string work: no index, no model, no I/O. English is assumed for stop
words, stemming, names and numbers; other scripts are split into words and left as they are.
"""
