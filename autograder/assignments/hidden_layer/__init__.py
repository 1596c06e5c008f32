"""The hidden checks of hidden_layer (reference: reference/hidden_layer.py)."""
