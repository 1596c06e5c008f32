"""The kit's nbgrader steps, on cells as nbgrader's autograde and feedback see them."""
import nbformat
from nbgrader import utils

from autograder.integrations.nbgrader_steps import HideHiddenTracebacks, StderrIsNotFailure


def graded_cell(*outputs):
    cell = nbformat.v4.new_code_cell("hidden_score('gradient', globals())")
    cell.metadata["nbgrader"] = {"grade": True, "solution": False, "locked": True, "points": 3,
                                 "grade_id": "check-gradient", "schema_version": 3}
    cell.outputs = [nbformat.from_dict(o) for o in outputs]
    return cell


WARNING = {"output_type": "stream", "name": "stderr", "text": "UserWarning: still debugging\n"}
SCORE = {"output_type": "execute_result", "execution_count": 1, "metadata": {}, "data": {"text/plain": "2.25"}}
ERROR = {"output_type": "error", "ename": "NameError", "evalue": "name 'x' is not defined",
         "traceback": ["### BEGIN HIDDEN TESTS", "hidden_score('gradient', globals())", "NameError: ..."]}


def test_nbgrader_alone_zeroes_a_test_cell_that_wrote_to_stderr():
    assert utils.determine_grade(graded_cell(WARNING, SCORE)) == (0, 3)


def test_with_our_step_stderr_keeps_the_partial_credit():
    cell, _ = StderrIsNotFailure().preprocess_cell(graded_cell(WARNING, SCORE), {}, 0)
    assert utils.determine_grade(cell) == (2.25, 3)


def test_a_real_error_still_scores_zero():
    cell, _ = StderrIsNotFailure().preprocess_cell(graded_cell(WARNING, ERROR), {}, 0)
    assert utils.determine_grade(cell) == (0, 3)


def test_feedback_keeps_the_error_message_but_not_the_hidden_code():
    cell, _ = HideHiddenTracebacks().preprocess_cell(graded_cell(ERROR), {}, 0)
    assert cell.outputs[0].traceback == ["NameError: name 'x' is not defined"]
