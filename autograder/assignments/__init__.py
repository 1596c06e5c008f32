"""One home per assignment: its hidden checks (and, in time, its spec and mistake catalogue)."""
