"""The home of digits_mlp: spec.py declares its graded items and generates their hidden checks (train's
still by hand there); reference: reference/digits_mlp.py."""
