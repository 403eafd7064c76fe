"""Conversation: follow-up questions rewritten to stand alone (rewrite), `Conversation`, which
keeps its own turns (conversation), and the example questions offered for a document (examples).
"""
