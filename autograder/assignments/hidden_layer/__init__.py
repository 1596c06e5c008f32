"""The home of hidden_layer: spec.py declares its graded items and generates their hidden checks,
mistakes.py is their catalogue of mistakes; reference: reference/hidden_layer.py."""
