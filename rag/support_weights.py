"""The support model's weights, fitted on the gold dev half by scripts/train_support.py.

Generated; do not edit by hand. Run `python scripts/train_support.py --write` again
after changing rag.support's features or the gold set.
"""

# L2 0.1; answer_k, threshold and L2 chosen by 5-fold cross-validation on dev (balanced 0.758).
#   dense                +0.572
#   paragraph_dense      +1.975
#   coverage             +0.253
#   paragraph_coverage   -0.846
#   focus_words          +3.085
#   focus_meaning        +3.810
#   names_found          -0.277
#   kind_present         -1.411
#   kind_missing         -4.958
#   kind_near            +1.842
#   new_words            +2.621
#   rank                 +1.350
#   dense_gap            +4.042
#   coverage_gap         +4.852
WEIGHTS = (
    0.5719,
    1.9754,
    0.2533,
    -0.8455,
    3.0853,
    3.8103,
    -0.2773,
    -1.4109,
    -4.9581,
    1.8417,
    2.6211,
    1.3499,
    4.0416,
    4.8523,
)
BIAS = -6.3903
THRESHOLD = 0.29
ANSWER_K = 5
