"""The hidden checks of digits_mlp (reference: reference/digits_mlp.py)."""
