"""5. Reports rendered from the result model: feedback for the student, Gradescope JSON, CSV, the terminal table."""
