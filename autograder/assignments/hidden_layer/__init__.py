"""The home of hidden_layer: spec.py declares its graded items and generates their hidden checks
(reference: reference/hidden_layer.py)."""
