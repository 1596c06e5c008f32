"""Plotting imports that grading never uses are lazy in the student process, and still work.

The rewrite is checked on its own (which statements, line numbers kept), then in a real
sandbox: a student who plots anyway, or imports the library again, gets the real module.
"""
import ast

import numpy as np
import pytest

from autograder.course import ASSIGNMENTS
from autograder.notebook.program import assignment_modules, code_to_run, lazy_modules, source_notebook
from autograder.notebook.lazy_imports import unused_module_imports, with_lazy_imports
from autograder.sandbox.session import Session
from submissions import code, grade, report, submission

SETUP = "import numpy as np\nimport matplotlib.pyplot as plt\nimport scipy.stats as stats\nfrom math import pi\n"
GRADED = "def logistic(z):\n    return 1 / (1 + np.exp(-z))\n"
LAZY = {"plt": ("matplotlib.pyplot", False), "stats": ("scipy.stats", False)}


def test_only_module_imports_that_no_graded_cell_uses_are_lazy():
    assert unused_module_imports([SETUP, GRADED]) == LAZY  # np is used; `from` imports never are lazy
    assert unused_module_imports([SETUP, GRADED, "y = stats.norm.pdf(0.0)\n"]) == {"plt": LAZY["plt"]}
    assert unused_module_imports(["import matplotlib.pyplot\n"]) == {"matplotlib": ("matplotlib.pyplot", True)}
    assert unused_module_imports(["def broken(:\n", SETUP, GRADED]) == LAZY  # a cell that does not parse is skipped


def test_the_rewrite_keeps_every_line_where_it_was():
    cell = "x = 1\nimport matplotlib.pyplot as plt; y = 2\nimport scipy.stats as stats, \\\n    numpy\nz = 3\n"
    rewritten = with_lazy_imports(cell, LAZY)
    assert rewritten.splitlines()[1] == "plt = __lazy_module__('matplotlib.pyplot', 'plt', False); y = 2"
    assert rewritten.splitlines()[4] == "z = 3"
    assert "import scipy.stats as stats" in rewritten  # binds numpy too: left as it is
    tree = ast.parse(rewritten)
    assert [node.lineno for node in tree.body] == [1, 2, 2, 3, 5]


def test_an_import_that_binds_the_name_to_something_else_stays():
    for cell in ("import scipy.stats as plt\n", "from matplotlib import pyplot as plt\n",
                 "def f():\n    import matplotlib.pyplot as plt\n", "def broken(:\n"):
        assert with_lazy_imports(cell, LAZY) == cell


def test_offsets_count_bytes_not_characters():
    rewritten = with_lazy_imports("s = 'é'; import matplotlib.pyplot as plt  # ünïcode\n", LAZY)
    assert rewritten == "s = 'é'; plt = __lazy_module__('matplotlib.pyplot', 'plt', False)  # ünïcode\n"


def test_the_course_imports_its_plotting_libraries_lazily():
    for assignment in ASSIGNMENTS:
        assert "plt" in lazy_modules(assignment)
        assert assignment_modules(assignment) == ("numpy",)  # the warm runner preloads only numpy
        setup = code_to_run(source_notebook(assignment), assignment)[0]
        assert "plt = __lazy_module__('matplotlib.pyplot', 'plt', False)" in setup


PLOTTING_STUDENT = [
    with_lazy_imports(SETUP, LAZY),
    "def loaded():\n    import sys\n    return [m in sys.modules for m in ('matplotlib.pyplot', 'scipy.stats')]\n",
    "def figures():\n    plt.figure()\n    plt.plot([0, 1], [1, 0])\n    return float(len(plt.get_fignums()))\n",
    "def density():\n    return float(stats.norm.pdf(0.0))\n",
    "def same_module():\n    import matplotlib.pyplot\n    plt.xlim\n    return plt is matplotlib.pyplot and pi > 3\n",
]


def test_a_student_who_plots_anyway_gets_the_real_module_on_first_use():
    with Session(PLOTTING_STUDENT) as sandbox:
        answers = sandbox.call_batch([{"target": "loaded"}, {"target": "figures"}, {"target": "density"},
                                      {"target": "loaded"}, {"target": "same_module"}])
        assert [a.get("ok") for a in answers] == [[False, False], 1.0, pytest.approx(0.3989422804), [True, True],
                                                   True], answers
        assert sandbox.call_batch([{"target": "loaded"}])[0]["ok"] == [False, False]  # each batch starts afresh


def test_a_plot_in_a_graded_cell_costs_nothing(tmp_path):
    result = grade(submission(tmp_path, "logistic_regression", append=[code("""
        fig, ax = plt.subplots()
        ax.plot(np.linspace(-5, 5, 11), logistic(np.linspace(-5, 5, 11)))
        plt.close(fig)
        from matplotlib.colors import LogNorm
        norm = LogNorm()
    """)]))
    assert result.score == result.max_score, report(result)
    assert all("cell" not in t.output for t in result.tests), report(result)


def test_the_lazy_module_answers_like_the_module():
    with Session([with_lazy_imports("import numpy.linalg\nimport numpy as np\n", {"numpy": ("numpy.linalg", True)}),
                  "def norm():\n    return float(numpy.linalg.norm(np.ones(4)))\n"]) as sandbox:
        assert sandbox.call_batch([{"target": "norm"}])[0]["ok"] == np.linalg.norm(np.ones(4))
