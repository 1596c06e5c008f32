"""IPython magics and shell escapes in a correct notebook: full marks, and the same item scores
in nbgrader's kernel as in the sandbox.

Students write ``%matplotlib inline``, ``%time y = f(x)`` (and use ``y``), ``x = %time f(1)``, a
``%%time`` or ``%%capture`` cell that defines a graded function, ``%%writefile`` a module they
import, ``files = !ls``, ``?np.clip``... The grader turns each cell into Python with IPython's own
transformer (autograder/notebook/code_cells.py), and in the sandbox ``get_ipython()`` is a shell
that runs no command and needs no IPython (autograder/sandbox/inside/ipython_shell.py). Here the
same notebooks are graded by ``grade_notebook`` and run in a real Jupyter kernel (the way
``nbgrader autograde`` does, its test cells calling ``hidden_score``), and the two must agree,
item by item.
"""
import ast
import builtins
import copy
import json
import linecache
import re
import shutil
import subprocess
import sys
import time

import pytest

from autograder.course import ASSIGNMENTS
from autograder.grade import grade_notebook
from autograder.notebook.code_cells import python_only, read_notebook, trusted_grading_code
from autograder.sandbox.inside.calls import error_summary
from autograder.sandbox.inside.ipython_shell import ZMQInteractiveShell
from autograder.sandbox.sandbox import INSIDE_PROGRAMS
from conftest import ROOT
from submissions import cell_source, code_cell, load_notebook, report, write_submission

FULL = {a: {g.name: float(g.points) for g in graded} for a, graded in ASSIGNMENTS.items()}


def with_cells(notebook, replace=None, before=None, append=()):
    """A copy of ``notebook``: cells replaced by grade_id ({grade_id: source}), new code cells
    inserted before cells ({grade_id: [sources]}) and appended at the end."""
    notebook = copy.deepcopy(notebook)
    replace, before = dict(replace or {}), dict(before or {})
    cells = []
    for cell in notebook["cells"]:
        grade_id = cell.get("metadata", {}).get("nbgrader", {}).get("grade_id")
        cells += [code_cell(source) for source in before.pop(grade_id, ())]
        if grade_id in replace:
            cell["source"] = replace.pop(grade_id)
        cells.append(cell)
    assert not replace and not before, f"no cells with grade_id {sorted({**replace, **before})}"
    notebook["cells"] = cells + [code_cell(source) for source in append]
    return notebook


def solution(assignment, item):
    return cell_source(assignment, f"{item}-solution")


# --- correct notebooks in the IPython style ---------------------------------------------------

LR = "logistic_regression"
LR_SETUP = """\
%load_ext autoreload
%autoreload 2
%config InlineBackend.figure_format = 'retina'
%matplotlib inline
%who
%pdb on
?np.clip
np.clip?
files = !ls
assert isinstance(files, list)
!echo hi
"""
LR_GRADIENT = """\
%pdb off
assert "loss is defined" in captured.stdout  # %%capture bound its output
x_demo = np.array([[1.0, 2.0], [-1.0, 0.5], [0.3, -2.0]])
t_demo = np.array([[1.0], [0.0], [1.0]])
w_demo = np.array([[0.5, -0.5]])
s = %time logistic(0.0)
assert s == 0.5
if True:
    %time y_demo = nn(x_demo, w_demo)
    assert y_demo.shape == (3, 1)

"""
LR_DELTA_W = """\
%time g_demo = gradient(w_demo, \\
                        x_demo, t_demo)
assert g_demo.shape == (1, 2)
%timeit gradient(w_demo, x_demo, t_demo)

"""
LR_WRITEFILE = """\
%%writefile xor_weights.py
import numpy as np


def xor_feature_weights():
    '''v for z = -5 + 10 x1 + 10 x2 - 20 x1 x2: -5 at (0,0) and (1,1), +5 at (0,1) and (1,0).'''
    return np.array([-5.0, 10.0, 10.0, -20.0])
"""


def magic_logistic_regression(delta_w_prefix=LR_DELTA_W):
    return with_cells(load_notebook(LR), before={
        "logistic-solution": [LR_SETUP],
        "xor_feature_weights-solution": [LR_WRITEFILE],
    }, replace={
        "logistic-solution": "%%time\n" + solution(LR, "logistic"),
        "loss-solution": "%%capture captured\n" + solution(LR, "loss") + "\nprint('loss is defined')\n",
        "gradient-solution": LR_GRADIENT + solution(LR, "gradient"),
        "delta_w-solution": delta_w_prefix + solution(LR, "delta_w"),
        "xor_feature_weights-solution": "from xor_weights import xor_feature_weights\n",
    }, append=["%%html\n<b>All done.</b>\n", "%%markdown\n*All done.*\n", "%pdb off\n%who"])


HL = "hidden_layer"


def magic_hidden_layer():
    return with_cells(load_notebook(HL), before={
        "xor_network_weights-solution": ["%matplotlib inline\n%load_ext autoreload\n%autoreload 2\n"
                                         "files = !ls\n?np.clip\n"],
    }, replace={
        "xor_network_weights-solution": "%%time\n" + solution(HL, "xor_network_weights"),
        "backprop-solution": ("W1_demo, b1_demo, W2_demo, b2_demo = %time xor_network_weights()\n"
                              "assert W1_demo.shape == (2, 3)\n"
                              "%timeit -n 3 -r 1 xor_network_weights()\n\n" + solution(HL, "backprop")),
    })


# --- the sandbox and the kernel ---------------------------------------------------------------

def kernel_scores(path):
    """{item: score} of the notebook at ``path`` run in a Jupyter kernel in its folder, as
    ``nbgrader autograde`` runs it: the value of each ``hidden_score`` test cell, 0 if it failed;
    and the errors of the other cells."""
    import nbformat
    from nbclient import NotebookClient

    notebook = nbformat.read(str(path), as_version=4)
    NotebookClient(notebook, timeout=600, kernel_name="python3", allow_errors=True,
                   resources={"metadata": {"path": str(path.parent)}}).execute()
    scores, errors = {}, []
    for cell in notebook.cells:
        if cell.cell_type != "code":
            continue
        item = re.search(r'hidden_score\("([^"]+)"', cell.source)
        results = [o for o in cell.outputs if o.output_type == "execute_result"]
        if item:
            scores[item.group(1)] = float(results[0]["data"]["text/plain"]) if results else 0.0
        errors += [f"{cell.source[:60]!r}: {o.ename}: {o.evalue}" for o in cell.outputs if o.output_type == "error"]
    return scores, errors


CASES = {
    "logistic_regression": (LR, magic_logistic_regression, True),
    "hidden_layer": (HL, magic_hidden_layer, True),
    # %time re-raises, as IPython 9 does: the rest of the cell, delta_w's definition, is lost in both
    "logistic_regression-time-raises": (
        LR, lambda: magic_logistic_regression(LR_DELTA_W.replace("x_demo, t_demo)", "x_demo)")), False),
}


@pytest.mark.parametrize("case", CASES)
def test_kernel_and_sandbox_give_the_same_item_scores(case, tmp_path):
    assignment, make, correct = CASES[case]
    path = write_submission(tmp_path, assignment, make())
    result = grade_notebook(path)
    assert result.status == "graded", report(result)
    sandbox = result.item_scores()
    in_kernel, errors = kernel_scores(path)
    assert in_kernel == pytest.approx(sandbox, abs=1e-6), report(result)
    if correct:
        assert sandbox == pytest.approx(FULL[assignment], abs=1e-4), report(result)
        assert result.score == result.max_score, report(result)
        assert not errors, errors
    else:
        assert sandbox["delta_w"] == 0 and in_kernel["delta_w"] == 0
        assert {k: v for k, v in sandbox.items() if k != "delta_w"} == \
            pytest.approx({k: v for k, v in FULL[assignment].items() if k != "delta_w"}, abs=1e-4), report(result)
        assert any("TypeError" in error for error in errors), errors


# --- shell escapes run nothing -------------------------------------------------------------------

def test_shell_escapes_run_no_command_and_cost_nothing(tmp_path):
    host_trace = tmp_path / "host_trace"
    shell = f"""\
!touch {host_trace}
!touch shell_ran_1
files = !touch shell_ran_2; ls
!!touch shell_ran_3
%sx touch shell_ran_4
%system touch shell_ran_5
!curl -s -o shell_ran_6 http://example.com
!pip install scipy
%pip install scipy
!sleep 1000
"""
    checked = """\
import os
assert files == [] and files.s == "", files
assert not [name for name in os.listdir(".") if name.startswith("shell_ran")], os.listdir(".")

"""
    notebook = with_cells(load_notebook(LR), before={"delta_w-solution": [
        shell, "get_ipython().system('touch shell_ran_7')\n", "%%bash\ntouch shell_ran_8\n",
        "%%script sh\ntouch shell_ran_9\n", "%%sh\nsleep 1000\n"]},
        replace={"delta_w-solution": checked + solution(LR, "delta_w")})
    started = time.monotonic()
    result = grade_notebook(write_submission(tmp_path, LR, notebook))
    assert result.status == "graded", report(result)
    assert result.item_scores() == pytest.approx(FULL[LR], abs=1e-4), report(result)
    assert time.monotonic() - started < 60  # no sleep ran, nor any timeout
    assert not host_trace.exists()


# --- what the grader sends: plain Python, on the cell's own lines; what the shell does with it ----

IPYTHON_CELLS = [
    "%matplotlib inline\nimport math\n",
    "%time g = math.sqrt(4.0)\nx = %time math.sqrt(9.0)\nassert (g, x) == (2.0, 3.0)\n",
    "%%time\ndef f(z):\n    return z + 1\n\nf(1)\n",
    "%%capture out\nprint('hello')\ndef k():\n    return 5\n",
    "assert out.stdout == 'hello\\n'\nfiles = !ls\n!echo hi\n?math.sqrt\nmath.sqrt?\n%who\n%pdb on\n",
    "if True:\n    %time y = f(1)\n    assert y == 2\ndef timed(z):\n    s = %time f(z)\n    return s\n",
    "%%writefile helper_mod.py\ndef h():\n    return 'h'\n",
    "import helper_mod\n",
    "%%timeit -n 3 a = 1\nb = a + 1\n",
    "%timeit c = 1\n%time --no-raise-error d = undefined_name\ne = 1\n",
    "%%html\n<b>x</b>\n",
    "list = [1]; eval = compile = print = None  # the shell needs none of the notebook's names\n"
    "%time z = 9\nkind = get_ipython().__class__.__name__\n",
]


def sandbox_like(cells):
    """Run ``cells`` (code the grader sends) as the student process does (submission.py): with
    ``get_ipython`` bound, each cell with its linecache entry; errors recorded by cell, as
    error_summary reports them."""
    namespace = {"__name__": "__main__", "__builtins__": builtins}
    namespace["get_ipython"] = ZMQInteractiveShell(namespace).get_ipython
    errors = {}
    for index, source in enumerate(cells):
        name = f"<cell {index}>"
        linecache.cache[name] = (len(source), None, source.splitlines(True), name)
        try:
            exec(compile(source, name, "exec"), namespace)
        except Exception as err:
            errors[index] = error_summary(err)
    return namespace, errors


def test_python_cells_are_sent_as_they_are():
    cells = ["x = 1\n", 'def f():\n    """Help:\n%not a magic\n!not a shell\n?"""\n    return 5 % 3\n',
             "y = (1,\n%2)\n", "s = 'a ? b'  # why?\n"]
    assert [python_only(cell) for cell in cells] == cells


@pytest.mark.parametrize("cell", IPYTHON_CELLS)
def test_each_cell_becomes_python_on_its_own_lines(cell):
    sent = python_only(cell)
    ast.parse(sent)
    lines, sent_lines = cell.splitlines(), sent.splitlines()
    if cell.startswith("%%"):  # one call, its body a literal on the body's own lines
        assert sent_lines[0].startswith("get_ipython().run_cell_magic(") and sent_lines[-1] == "''')"
        assert sent_lines[1:-1] == [line.replace("\\", "\\\\").replace("'", "\\'") for line in lines[1:]]
    else:  # Python lines as they are, each IPython line one call
        assert len(sent_lines) == len(lines)
        for line, sent_line in zip(lines, sent_lines):
            assert sent_line == line or re.search(r"get_ipython\(\)\.(run_line_magic|system|getoutput)\(", sent_line)


def test_the_shell_does_what_the_magics_mean(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # %%writefile writes there
    monkeypatch.setattr(sys, "path", list(sys.path))  # the shell makes the folder importable
    monkeypatch.delitem(sys.modules, "helper_mod", raising=False)
    namespace, errors = sandbox_like([python_only(cell) for cell in IPYTHON_CELLS])
    sys.modules.pop("helper_mod", None)
    assert errors == {}
    assert (namespace["g"], namespace["x"], namespace["y"], namespace["timed"](3)) == (2.0, 3.0, 2, 4)
    assert namespace["f"](1) == 2 and namespace["k"]() == 5  # defined by %%time and %%capture cells
    assert namespace["out"].stdout == "hello\n" and namespace["files"] == []
    assert namespace["helper_mod"].h() == "h"  # %%writefile, then import
    assert not {"a", "b", "c", "d"} & set(namespace)  # %timeit binds nothing; %time's error was shown
    assert namespace["e"] == 1 and namespace["z"] == 9 and namespace["kind"] == "ZMQInteractiveShell"
    assert not {k for k in namespace if k.startswith("__") and k.endswith("__")} - {"__name__", "__builtins__"}


def test_the_shell_needs_no_ipython_nor_any_installed_package(tmp_path):
    """The sandbox runs the code with the standard library only and its own programs (here a
    copy of them, without site-packages)."""
    runner, home = tmp_path / "runner", tmp_path / "home"
    runner.mkdir()
    home.mkdir()
    for path in INSIDE_PROGRAMS:
        shutil.copy(path, runner)
    program = (
        f"import builtins, json, sys; sys.path.insert(0, {str(runner)!r})\n"
        "from ipython_shell import ZMQInteractiveShell\n"
        "cells = json.loads(sys.stdin.read())\n"
        "namespace = {'__name__': '__main__', '__builtins__': builtins}\n"
        "namespace['get_ipython'] = ZMQInteractiveShell(namespace).get_ipython\n"
        "for index, source in enumerate(cells):\n"
        "    exec(compile(source, f'<cell {index}>', 'exec'), namespace)\n"
        "print(json.dumps([namespace['g'], namespace['helper_mod'].h(), namespace['kind'], "
        "sorted(m for m in sys.modules if 'IPython' in m or 'numpy' in m)]))\n")
    done = subprocess.run([sys.executable, "-I", "-S", "-c", program], cwd=home, capture_output=True, text=True,
                          input=json.dumps([python_only(cell) for cell in IPYTHON_CELLS]), timeout=60)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout.splitlines()[-1]) == [2.0, "h", "ZMQInteractiveShell", []]


def test_errors_cite_the_line_the_student_wrote():
    cells = ["%%time\n\ndef bad():\n    return 1 / 0\n",
             "def f():\n    %time q = undefined_q\n    return q\n",
             "%time y = undefined_y\nnever = 1\n"]
    namespace, errors = sandbox_like([python_only(cell) for cell in cells])
    assert errors[2]["raised"] == "NameError" and "never" not in namespace
    assert errors[2]["where"] == "cell 2, line 1: get_ipython().run_line_magic('time', 'y = undefined_y')"
    with pytest.raises(ZeroDivisionError) as err:
        namespace["bad"]()
    assert error_summary(err.value)["where"] == "cell 0, line 4: return 1 / 0"
    assert error_summary(err.value)["function"] == "bad"
    with pytest.raises(NameError) as err:
        namespace["f"]()
    assert error_summary(err.value)["where"] == \
        "cell 1, line 2: get_ipython().run_line_magic('time', 'q = undefined_q')"


def test_a_flood_of_magics_cannot_keep_the_grader_busy():
    """IPython's transformer reads the whole cell again for each magic: the notebook's budget
    bounds that work; beyond it, IPython-only lines are dropped."""
    cell = "\n".join(["x = 1"] * 300 + ["!ls", "%time y = 2"] * 20)
    source = {"cells": [{"cell_type": "code", "source": cell, "id": f"c{i}",
                         "metadata": {"nbgrader": {}, "tags": []}} for i in range(300)]}
    started = time.monotonic()
    sent = trusted_grading_code(source, source)
    assert time.monotonic() - started < 20
    assert len(sent) == 300 and all(_parses(code) for code in sent)
    assert "get_ipython" not in sent[-1] and "%time" not in sent[-1]  # dropped, past the budget


def _parses(code):
    try:
        ast.parse(code)
    except SyntaxError:
        return False
    return True


def test_the_source_notebooks_setup_cell_is_run_not_dropped():
    source = read_notebook(ROOT / "source" / LR / f"{LR}.ipynb")
    setup = trusted_grading_code(source, source)[0]
    assert setup.splitlines()[0] == "get_ipython().run_line_magic('matplotlib', 'inline')"
