"""The hidden checks of logistic_regression (reference: reference/logistic_regression.py)."""
