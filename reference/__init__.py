"""Reference NumPy solutions of every graded name, one module per assignment.

The hidden checks compare a submission with these functions; the source notebooks'
solution cells must behave exactly as they do (``tests/test_source_matches_reference.py``).
"""
