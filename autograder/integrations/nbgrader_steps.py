"""The kit's own nbgrader steps, each one small job (see nbgrader_config.py for where they run).

- ClearOutputKeepFigures (generate_assignment): the release shows the figures of cells tagged
  ``figure``, and no other output.
- StderrIsNotFailure (autograde): a warning or a debug print to stderr in a test cell does not
  zero it; only a real error does.
- HideHiddenTracebacks (generate_feedback): a failed hidden test shows its error message, never
  the hidden test's code.
"""
from nbgrader import utils
from nbgrader.preprocessors import ClearOutput, NbGraderPreprocessor

FIGURE_TAG = "figure"
IMAGE_TYPES = ("image/png", "image/svg+xml")


def is_graded_cell(cell):
    """True for nbgrader solution and test cells."""
    meta = cell.metadata.get("nbgrader", {})
    return bool(meta.get("solution") or meta.get("grade"))


def figure_outputs(cell):
    """The cell's image outputs, stripped of their text alternatives and metadata counts."""
    figures = []
    for output in cell.get("outputs", []):
        images = {k: v for k, v in output.get("data", {}).items() if k in IMAGE_TYPES}
        if output.get("output_type") in ("display_data", "execute_result") and images:
            figures.append({"output_type": "display_data", "data": images,
                            "metadata": {k: v for k, v in output.get("metadata", {}).items()
                                         if k in IMAGE_TYPES}})
    return figures


class ClearOutputKeepFigures(ClearOutput):
    """ClearOutput, but a ``figure``-tagged code cell keeps its images."""

    def preprocess_cell(self, cell, resources, cell_index):
        keep = (cell.cell_type == "code" and FIGURE_TAG in cell.metadata.get("tags", [])
                and not is_graded_cell(cell))
        figures = figure_outputs(cell) if keep else []
        cell, resources = super().preprocess_cell(cell, resources, cell_index)
        if figures:
            from nbformat import from_dict
            cell.outputs = [from_dict(f) for f in figures]
        return cell, resources


class StderrIsNotFailure(NbGraderPreprocessor):
    """nbgrader scores a test cell 0 when anything reached stderr; we count only errors."""

    def preprocess_cell(self, cell, resources, cell_index):
        if cell.cell_type == "code" and utils.is_grade(cell):
            for output in cell.outputs:
                if output.output_type == "stream" and output.name == "stderr":
                    output.name = "stdout"
        return cell, resources


class HideHiddenTracebacks(NbGraderPreprocessor):
    """Error outputs of test cells keep their message and lose the traceback (hidden code)."""

    def preprocess_cell(self, cell, resources, cell_index):
        if cell.cell_type == "code" and utils.is_grade(cell):
            for output in cell.outputs:
                if output.output_type == "error":
                    output.traceback = [f"{output.ename}: {output.evalue}"]
        return cell, resources
