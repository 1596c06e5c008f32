"""nbgrader configuration of the course, used as shipped from the repository root."""
import os
import sys

ROOT = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, ROOT)  # so nbgrader finds the kit's own preprocessors

# nbgrader runs some of its tools as commands found on PATH: `alembic` when it creates
# gradebook.db (nbgrader/api.py). Run as `.venv/bin/nbgrader` with the venv not on PATH (as
# the README prints it), that fails with "No such file or directory: 'alembic'". This file runs
# inside nbgrader's own process, so put the folder of the interpreter running nbgrader (the
# venv's bin, where pip installed alembic beside nbgrader) first on PATH.
BIN = os.path.dirname(sys.executable)
if os.environ.get("PATH", "").split(os.pathsep)[0] != BIN:
    os.environ["PATH"] = os.pathsep.join(filter(None, [BIN, os.environ.get("PATH", "")]))

from nbconvert.preprocessors import ClearMetadataPreprocessor, CSSHTMLHeaderPreprocessor  # noqa: E402
from nbgrader.preprocessors import (  # noqa: E402
    AssignLatePenalties, CheckCellMetadata, ClearHiddenTests, ClearMarkScheme, ClearSolutions,
    ComputeChecksums, Execute, GetGrades, IgnorePattern, IncludeHeaderFooter, InstantiateTests,
    LimitOutput, LockCells, SaveAutoGrades, SaveCells,
)

from autograder.integrations.nbgrader_steps import (  # noqa: E402
    ClearOutputKeepFigures, HideHiddenTracebacks, StderrIsNotFailure,
)

c = get_config()  # noqa: F821 (provided by nbgrader)

c.CourseDirectory.root = ROOT
c.CourseDirectory.source_directory = "source"
c.CourseDirectory.release_directory = "release"
# The exchange (release_assignment, fetch_assignment, submit, collect) files work under this id;
# release/<assignment>/ itself does not depend on it.
c.CourseDirectory.course_id = "nn-from-scratch"
# The shared exchange folder: nbgrader's default, or NBGRADER_EXCHANGE (a local one for tests).
c.Exchange.root = os.environ.get("NBGRADER_EXCHANGE", "/srv/nbgrader/exchange")

# The contract's stub, word for word.
c.ClearSolutions.code_stub = {"python": "# YOUR CODE HERE\nraise NotImplementedError()"}
c.ClearSolutions.text_stub = "YOUR ANSWER HERE"
c.ClearSolutions.enforce_metadata = True

# Same steps as nbgrader's default, with ClearOutput swapped for one that keeps the
# figures of cells tagged "figure" (see autograder/integrations/nbgrader_steps.py).
c.GenerateAssignment.preprocessors = [
    IncludeHeaderFooter, InstantiateTests, LockCells, ClearSolutions, ClearOutputKeepFigures,
    CheckCellMetadata, ComputeChecksums, SaveCells, ClearHiddenTests, ClearMarkScheme,
    ComputeChecksums, CheckCellMetadata,
]

# A cell that runs longer than this is stopped and its test scores nothing.
c.Execute.timeout = 120

# nbgrader's autograde steps, with one added before the grades are saved: output on stderr
# (a warning, a debug print) no longer zeroes a test cell; only an error does.
c.Autograde.autograde_preprocessors = [
    Execute, IgnorePattern, ClearMetadataPreprocessor, LimitOutput, StderrIsNotFailure,
    SaveAutoGrades, AssignLatePenalties, CheckCellMetadata,
]

# Feedback shows our checks' messages, never the hidden tests' code or tracebacks.
c.GenerateFeedback.preprocessors = [GetGrades, HideHiddenTracebacks, ClearHiddenTests, CSSHTMLHeaderPreprocessor]
