"""The home of logistic_regression: spec.py declares its graded items and generates their hidden checks
(reference: reference/logistic_regression.py)."""
