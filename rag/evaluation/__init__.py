"""Evaluation: gold Q&A files read and validated (gold) and the system scored on them
(scoring).
"""
