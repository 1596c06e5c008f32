"""The home of digits_mlp: spec.py declares its graded items and generates their hidden checks,
mistakes.py is their catalogue of mistakes; reference: reference/digits_mlp.py."""
