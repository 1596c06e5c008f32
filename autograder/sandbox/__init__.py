"""2. The sandbox: the student's code runs here, isolated and within its budgets, never in the grader."""
