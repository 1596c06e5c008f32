"""The home of logistic_regression: spec.py declares its graded items and generates their hidden checks,
mistakes.py is their catalogue of mistakes; reference: reference/logistic_regression.py."""
