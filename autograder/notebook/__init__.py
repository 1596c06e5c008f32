"""1. The submitted notebook, reduced to the code the sandbox runs."""
