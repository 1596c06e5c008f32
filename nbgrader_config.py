"""nbgrader configuration of the course, used as shipped from the repository root."""
import os
import sys

ROOT = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, ROOT)  # so nbgrader finds the kit's own preprocessors

from nbgrader.preprocessors import (  # noqa: E402
    CheckCellMetadata, ClearHiddenTests, ClearMarkScheme, ClearSolutions, ComputeChecksums,
    IncludeHeaderFooter, InstantiateTests, LockCells, SaveCells,
)

from autograder.release_figures import ClearOutputKeepFigures  # noqa: E402

c = get_config()  # noqa: F821 (provided by nbgrader)

c.CourseDirectory.root = ROOT
c.CourseDirectory.source_directory = "source"
c.CourseDirectory.release_directory = "release"
# Releases are built straight into release/<assignment>/, without a course id folder.
c.CourseDirectory.course_id = ""

# The contract's stub, word for word.
c.ClearSolutions.code_stub = {"python": "# YOUR CODE HERE\nraise NotImplementedError()"}
c.ClearSolutions.text_stub = "YOUR ANSWER HERE"
c.ClearSolutions.enforce_metadata = True

# Same steps as nbgrader's default, with ClearOutput swapped for one that keeps the
# figures of cells tagged "figure" (see autograder/release_figures.py).
c.GenerateAssignment.preprocessors = [
    IncludeHeaderFooter, InstantiateTests, LockCells, ClearSolutions, ClearOutputKeepFigures,
    CheckCellMetadata, ComputeChecksums, SaveCells, ClearHiddenTests, ClearMarkScheme,
    ComputeChecksums, CheckCellMetadata,
]

# A cell that runs longer than this is stopped and its test scores nothing.
c.Execute.timeout = 120
