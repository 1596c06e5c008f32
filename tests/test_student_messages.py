"""Messages the hidden checks show students: every placeholder is filled in."""
import re

from submissions import failures, grade, report, submission

PLACEHOLDER = re.compile(r"\{[A-Za-z_]\w*\}")  # "{k}" left by a string that is not an f-string


def test_graded_mutant_gets_the_filled_in_shape_hint(tmp_path):
    """momentum_update returns new_params['W1'] transposed: the feedback names W1."""
    replace = {"momentum_update-solution": (
        "def momentum_update(params, grads, velocities, learning_rate, momentum):\n"
        "    new_velocities = {k: momentum * velocities[k] - learning_rate * grads[k] for k in params}\n"
        "    new_params = {k: params[k] + new_velocities[k] for k in params}\n"
        "    new_params['W1'] = new_params['W1'].T\n"
        "    return new_params, new_velocities\n")}
    result = grade(submission(tmp_path, "digits_mlp", replace=replace))
    feedback = failures(result, "momentum_update")
    assert "It should have the shape of params['W1']." in feedback, report(result)
    for test in result.tests:
        assert not PLACEHOLDER.search(test.output or ""), f"{test.name}: {test.output}"
