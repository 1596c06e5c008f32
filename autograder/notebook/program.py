"""The program the sandbox runs for a notebook: its trusted grading code, with the imports
grading never uses made lazy, and the modules to import before any submission."""
import functools
from pathlib import Path

from autograder.notebook.code_cells import grading_code, imported_modules, read_notebook, trusted_grading_code
from autograder.notebook.lazy_imports import unused_module_imports, with_lazy_imports

ROOT = Path(__file__).resolve().parent.parent.parent


def source_notebook(assignment):
    return read_notebook(ROOT / "source" / assignment / f"{assignment}.ipynb")


@functools.cache
def lazy_modules(assignment):
    """{name: (module, top)}: the module imports no graded cell of the source notebook uses
    (its plotting libraries), which the student process imports lazily (see lazy_imports)."""
    return unused_module_imports(grading_code(source_notebook(assignment)))


def code_to_run(notebook, assignment):
    """The code cells the student process runs for ``notebook``: the trusted grading code,
    with the imports grading does not use made lazy."""
    lazy = lazy_modules(assignment)
    return [with_lazy_imports(code, lazy) for code in trusted_grading_code(notebook, source_notebook(assignment))]


@functools.cache
def assignment_modules(assignment):
    """What the assignment's source notebook imports and grading uses: the sandbox imports it
    before any submission."""
    return tuple(imported_modules(code_to_run(source_notebook(assignment), assignment)))
