"""The kit's grader: grades nbgrader notebooks of the neural-networks course."""
