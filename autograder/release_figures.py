"""nbgrader step that clears outputs, except the figures of cells tagged ``figure``.

The committed source notebooks are executed, so the release can show each plot a
learner should expect to see. Only image outputs of tagged, non-graded cells survive:
no text, no execution counts, nothing from a solution or test cell.
"""
from nbgrader.preprocessors import ClearOutput

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
