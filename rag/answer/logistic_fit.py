"""Fitting the logistic reader: an L2-regularised logistic regression by Newton's method.

Not here: the features (rag.answer.logistic_reader) or choosing answer_k, L2 and the threshold on
the gold set's dev half (rag.evaluation.fit_logistic).
"""

from __future__ import annotations

import math

import numpy as np


def logistic_fit(
    x: np.ndarray, y: np.ndarray, l2: float = 1.0, iterations: int = 50
) -> tuple[np.ndarray, float]:
    """Weights and bias of an L2-regularised logistic regression (Newton's method)."""
    n, d = x.shape
    design = np.hstack([x, np.ones((n, 1))])
    theta = np.zeros(d + 1)
    penalty = np.full(d + 1, l2)
    penalty[-1] = 0.0  # the bias is not shrunk
    for _ in range(iterations):
        p = 1.0 / (1.0 + np.exp(-(design @ theta)))
        gradient = design.T @ (p - y) + penalty * theta
        hessian = design.T @ (design * (p * (1 - p))[:, None]) + np.diag(penalty + 1e-9)
        step = np.linalg.solve(hessian, gradient)
        theta -= step
        if math.sqrt(float(step @ step)) < 1e-8:
            break
    return theta[:-1], float(theta[-1])
