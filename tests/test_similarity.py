"""The similarity check (autograder/integrations/similarity/) on synthetic classes.

A synthetic class per assignment (``synthetic_class``) is made from the release notebook, as
students hand it in:

- independent students: each solution cell filled with one style of the grading corpus
  (tests/test_corpus_*.py: the reference solution, its correct variants, its single-bug
  mutants) or the textbook one-liners written here, no two students with the same choice for
  every cell, and no two with the same correct variant of the corpus (a correct variant is one
  student's own way of writing; the reference, the textbook and a bug can be anyone's), and
  scratch cells of their own put together at random from a pool of statements
  (arrays of random shapes, calls of the graded functions, loops, a helper of their own now
  and then, an IPython magic);
- planted copies of some of them (one original copied twice): every variable renamed,
  comments reworded, functions and methods reordered, scratch cells shuffled, one split in
  two, numbers changed, blank cells added, the original's bug copied along;
- two students who wrote only the textbook one-liners.

Grading results are made up from the corpus's own diagnoses (a mutant fails its item's check
with the mutant's diagnosis) and written as ``grade --out`` writes them; one test grades a few
notebooks for real. ``synthetic_class`` is also what benchmarks/similarity_speed.py times.
"""
import ast
import copy
import csv
import hashlib
import itertools
import json
import os
import random
import re
import shutil
import subprocess
import sys
import textwrap
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from autograder.course import ASSIGNMENTS
from autograder.integrations.similarity import THRESHOLD
from autograder.integrations.similarity.pairs import Student, score_pairs
from autograder.integrations.similarity.winnow import student_fingerprints
from autograder.integrations.similarity.written import Release, written_cells
from autograder.notebook.code_cells import read_notebook

ROOT = Path(__file__).resolve().parent.parent
STUB = re.compile(r"^( *)# YOUR CODE HERE\n *raise NotImplementedError\(\)\n?", re.M)


def _release(assignment):
    return json.loads((ROOT / "release" / assignment / f"{assignment}.ipynb").read_text())


def _cell_source(notebook, grade_id):
    for cell in notebook["cells"]:
        if cell.get("metadata", {}).get("nbgrader", {}).get("grade_id") == grade_id:
            return "".join(cell["source"]) if isinstance(cell["source"], list) else cell["source"]
    raise KeyError(grade_id)


def filled(assignment, grade_id, *bodies):
    """The release cell ``grade_id`` with its stubs filled, in order, by ``bodies`` (as a
    student fills them in; each body is indented like the stub it replaces)."""
    source = _cell_source(_release(assignment), grade_id)
    stubs = list(STUB.finditer(source))
    assert len(stubs) == len(bodies), f"{grade_id} has {len(stubs)} stubs"
    for stub, body in reversed(list(zip(stubs, bodies))):
        indent = stub.group(1)
        text = "".join(indent + line + "\n" if line else "\n" for line in body.strip("\n").splitlines())
        source = source[:stub.start()] + text + source[stub.end():]
    return source


def reference_body(assignment, grade_id, which=0):
    """The body of the ``which``-th solution region of the source cell ``grade_id``, dedented."""
    source = json.loads((ROOT / "source" / assignment / f"{assignment}.ipynb").read_text())
    regions = re.findall(r"### BEGIN SOLUTION\n(.*?)\n *### END SOLUTION", _cell_source(source, grade_id), re.S)
    return textwrap.dedent(regions[which])


# --- the styles a student's solution cell can take -----------------------------------------

def textbook():
    """{assignment: {grade_id: (source, mutant whose bug it has, or None)}}: the textbook
    one-liners, as a student who looked them up writes them (what cannot be one line, as the
    reference writes it)."""
    lr, hl, dm = "logistic_regression", "hidden_layer", "digits_mlp"
    return {
        lr: {
            "logistic-solution": (filled(lr, "logistic-solution", "return 1 / (1 + np.exp(-z))"),
                                  "logistic-naive-overflows"),
            "loss-solution": (filled(lr, "loss-solution", "return -np.mean(t * np.log(y) + (1 - t) * np.log(1 - y))"),
                              "loss-not-clipped"),
            "gradient-solution": (filled(lr, "gradient-solution", "return (nn(x, w) - t).T @ x / len(x)"), None),
            "delta_w-solution": (filled(lr, "delta_w-solution", "return learning_rate * gradient(w_k, x, t)"), None),
            "xor_feature_weights-solution": (filled(lr, "xor_feature_weights-solution",
                                                    "return np.array([-5.0, 10.0, 10.0, -20.0])"), None),
        },
        hl: {
            "xor_network_weights-solution": (filled(hl, "xor_network_weights-solution", """
W1 = np.array([[20.0, 20.0, -20.0], [20.0, 20.0, -20.0]])
b1 = np.array([-10.0, -30.0, 30.0])
W2 = np.array([20.0, -20.0, 20.0])
return W1, b1, W2, -30.0"""), None),
            "backprop-solution": (filled(hl, "backprop-solution", """
h = logistic(X @ params["W1"] + params["b1"])
y = logistic(h @ params["W2"] + params["b2"])
d2 = (y - t) / len(X)
d1 = d2 @ params["W2"].T * h * (1 - h)
return {"W1": X.T @ d1, "b1": d1.sum(axis=0), "W2": h.T @ d2, "b2": d2.sum(axis=0)}"""), None),
        },
        dm: {
            "LinearUpdate-solution": (filled(dm, "LinearUpdate-solution",
                                             "return self.W @ gY, A @ gY.T, gY.sum(axis=1, keepdims=True)"), None),
            "LogisticUpdate-solution": (filled(dm, "LogisticUpdate-solution", "return grad_out * Y * (1 - Y)"), None),
            "SoftmaxClassifier-solution": (filled(
                dm, "SoftmaxClassifier-solution", "return -np.mean(np.log(P[T, np.arange(len(T))]))",
                "return (P - one_hot(T, P.shape[0])) / P.shape[1]"), "cross-entropy-not-clipped"),
            "Layer-solution": (filled(dm, "Layer-solution",
                                      "return self.linear.backward(A, self.logistic.backward(Y, grad_out))"), None),
            "Network-solution": (filled(dm, "Network-solution",
                                        "return lam / 2 * sum(np.sum(l.W ** 2) for l in self.linears())",
                                        reference_body(dm, "Network-solution", 1)), None),
            # momentum_update and train are no one-liners: the textbook writes them as the reference does
            "momentum_update-solution": (filled(dm, "momentum_update-solution",
                                                reference_body(dm, "momentum_update-solution")), None),
            "train-solution": (filled(dm, "train-solution", reference_body(dm, "train-solution")), None),
        },
    }


@dataclass(frozen=True)
class Style:
    """One way to fill one solution cell: its source, and the check it fails (None: correct)."""

    name: str
    source: str
    mistake: tuple = None  # (check name, output) as the grader writes them


def corpus_styles(assignment):
    """{grade_id: [Style, ...]} of an assignment: reference, textbook, the corpus's correct
    variants and single-bug mutants; the first is the reference, the second the textbook."""
    import importlib

    corpus = importlib.import_module(f"test_corpus_{assignment}")
    source = json.loads((ROOT / "source" / assignment / f"{assignment}.ipynb").read_text())
    book = textbook()[assignment]
    styles = {}
    for grade_id, (text, bug) in book.items():
        styles[grade_id] = [Style("reference", _cell_source(source, grade_id)),
                            Style("textbook", text, _mistake(corpus.MUTANTS[bug]) if bug else None)]
    for name, replace in corpus.CORRECT.items():
        for grade_id, text in replace.items():
            styles[grade_id].append(Style(name, text))
    for name, (item, diagnosis, replace) in corpus.MUTANTS.items():
        for grade_id, text in replace.items():
            styles[grade_id].append(Style(name, text, _mistake((item, diagnosis, replace))))
    return styles


def _mistake(mutant):
    item, diagnosis, _ = mutant
    return (f"{item}: matches the reference", f"{item} returned the wrong values. Likely mistake: {diagnosis}.")


# --- scratch work of a student's own ----------------------------------------------------------

WORDS = ("val", "tmp", "res", "out", "arr", "check", "guess", "grad", "err", "mine", "probe", "acc",
         "diff", "trial", "sample", "mat", "vec", "data", "foo", "bar", "seen", "step", "pred", "size")
CALLS = {
    "logistic_regression": ["logistic({a})", "loss(logistic({a}), {a})", "gradient({a}, {a}, {a})",
                            "delta_w({a}, {a}, {a}, {n})", "xor_feature_weights()", "nn({a}, {a})"],
    "hidden_layer": ["xor_network_weights()", "backprop({a}, {a}, {{'W1': {a}, 'b1': {a}, 'W2': {a}, 'b2': {a}}})",
                     "logistic({a})", "forward({a}, params)"],
    "digits_mlp": ["LinearUpdate({n}, {n}).backward({a}, {a})", "LogisticUpdate().backward({a}, {a})",
                   "SoftmaxClassifier().cross_entropy(softmax({a}), np.array([{n}, {n}]))",
                   "Layer({n}, {n}).backward({a}, {a}, {a})", "Network({n}, {n}, {n}, {n}).gradients({a}, {a})",
                   "momentum_update({{'w': {a}}}, {{'w': {a}}}, {{'w': {a}}}, {n}, {n})"],
}


class Scratch:
    """Random scratch code of one student: names, numbers and shapes of their own."""

    def __init__(self, assignment, rng):
        self.calls, self.rng = CALLS[assignment], rng

    def name(self):
        return self.rng.choice(WORDS) + self.rng.choice(["", "2", "_x", "_new", "s", "_1"])

    def number(self):
        return repr(round(self.rng.uniform(-3, 5), self.rng.choice([0, 1, 2])))

    def array(self):
        kind = self.rng.randrange(5)
        if kind == 0:
            rows = [", ".join(self.number() for _ in range(self.rng.randint(1, 4)))
                    for _ in range(self.rng.randint(1, 3))]
            return "np.array([" + ", ".join(f"[{r}]" for r in rows) + "])"
        if kind == 1:
            return f"np.{self.rng.choice(['zeros', 'ones'])}(({self.rng.randint(1, 5)}, {self.rng.randint(1, 5)}))"
        if kind == 2:
            rows, columns = self.rng.randint(1, 6), self.rng.randint(1, 4)
            return f"np.random.default_rng({self.rng.randint(0, 99)}).normal(size=({rows}, {columns}))"
        if kind == 3:
            return f"np.linspace({self.number()}, {self.number()}, {self.rng.randint(2, 9)})"
        return f"np.eye({self.rng.randint(2, 5)})"

    def call(self):
        template = self.rng.choice(self.calls)
        while "{a}" in template or "{n}" in template:
            template = template.replace("{a}", self.array(), 1).replace("{n}", str(self.rng.randint(1, 6)), 1)
        return template.replace("{{", "{").replace("}}", "}")

    def statement(self, names):
        """One statement; ``names`` are the names bound so far (a new one is added when bound)."""
        v, r = self.name(), self.rng
        used = r.choice(names) if names else self.array()
        kind = r.randrange(12)
        if kind in (0, 2, 5, 6, 8):
            names.append(v)
        if kind == 0:
            return f"{v} = {self.array()}"
        if kind == 1:
            return f"print({used}.shape, {used}.dtype)"
        if kind == 2:
            return f"{v} = {self.call()}"
        if kind == 3:
            return f"print({self.call()})"
        if kind == 4:
            return f'assert np.allclose({self.call()}, {used}), "{self.name()} is off"'
        if kind == 5:
            i = r.choice("ijkn")
            body = r.sample([f"{v} = {v} * {self.number()} + {i}", f"print({i}, {self.call()})",
                             f"{v} += np.sum({used} ** {r.randint(2, 3)})",
                             f"if {i} % {r.randint(2, 4)} == 0:\n        continue"],
                            r.randint(1, 3))
            return f"{v} = {self.number()}\nfor {i} in range({r.randint(2, 20)}):\n    " + "\n    ".join(body)
        if kind == 6:
            return f"{v} = np.max(np.abs({used} - {self.array()}))"
        if kind == 7:
            return f'if np.any(np.isnan({used})):\n    print("{self.name()}: nan")'
        if kind == 8:
            return f"{v} = [{self.call()} for _ in range({r.randint(2, 5)})]"
        if kind == 9:
            return f'plt.plot(np.ravel({used}))\nplt.title("{self.name()} {self.name()}")\nplt.show()'
        if kind == 10:
            return f"%timeit {self.call()}"
        return self.helper(names)

    def helper(self, names):
        """A small function of the student's own, and a call of it."""
        r, h, p, q, acc = self.rng, self.name() + "_fn", self.name(), self.name(), self.name()
        body = [f"{acc} = {r.choice(['0.0', f'np.zeros_like({p})', f'{p}.copy()'])}"]
        for _ in range(r.randint(1, 3)):
            body.append(r.choice([f"{acc} = {acc} + {q} * {p}",
                                  f"{acc} = np.where({p} > {self.number()}, {acc}, -{acc})",
                                  f"for row in {p}:\n        {acc} = {acc} + np.sum(row) / {self.number()}",
                                  f"{acc} = {acc} / max(1, np.linalg.norm({q}))"]))
        body.append(f"return {acc}" if r.random() < 0.8 else f"return {acc}, {q}")
        names.append(h)
        return f"def {h}({p}, {q}={self.number()}):\n    " + "\n    ".join(body) + f"\n\n\nprint({h}({self.array()}))"

    def cells(self):
        """Two to four scratch cells of two to five statements each."""
        names = []
        return ["\n".join(self.statement(names) for _ in range(self.rng.randint(2, 5)))
                for _ in range(self.rng.randint(2, 4))]


# --- planted copies ---------------------------------------------------------------------------

COMMENTS = ("# my version", "# worked this out on paper first", "# TODO tidy up", "# vectorised",
            "# this took a while", "# check the shapes here", "# from the lecture", "# simplified")


def _kept_names(assignment):
    """Names a copier cannot rename: what the release defines or binds at the top level
    (graded functions and classes, given helpers, data), and every method name."""
    kept = set()
    for cell in _release(assignment)["cells"]:
        if cell["cell_type"] != "code":
            continue
        text = "".join(cell["source"]) if isinstance(cell["source"], list) else cell["source"]
        try:
            tree = ast.parse("\n".join("" if l.lstrip().startswith("%") else l for l in text.splitlines()))
        except SyntaxError:
            continue
        for node in ast.walk(tree):
            if isinstance(node, (ast.FunctionDef, ast.ClassDef)):
                kept.add(node.name)
        kept.update(n.id for node in tree.body if not isinstance(node, (ast.FunctionDef, ast.ClassDef))
                    for n in ast.walk(node) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store))
    return kept | {"np", "plt", "math", "self"}


class _Renamer(ast.NodeTransformer):
    def __init__(self, mapping):
        self.mapping = mapping

    def visit_Name(self, node):
        node.id = self.mapping.get(node.id, node.id)
        return node

    def visit_arg(self, node):
        node.arg = self.mapping.get(node.arg, node.arg)
        return node

    def visit_FunctionDef(self, node):
        node.name = self.mapping.get(node.name, node.name)
        self.generic_visit(node)
        return node


def renaming(sources, kept, rng):
    """{old: new} for every name the cells ``sources`` bind, but the ``kept`` ones: a copier
    renames each of their variables, in every cell alike."""
    bound = set()
    for source in sources:
        try:
            tree = ast.parse("\n".join(l for l in source.splitlines() if not l.lstrip().startswith("%")))
        except SyntaxError:
            continue
        bound |= {n.id for n in ast.walk(tree) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store)}
        bound |= {a.arg for a in ast.walk(tree) if isinstance(a, ast.arg)}
        bound |= {f.name for f in tree.body if isinstance(f, ast.FunctionDef)}
    return {name: f"{rng.choice(WORDS)}_{rng.choice(['a', 'b', 'q', 'z'])}{i}"
            for i, name in enumerate(sorted(bound - kept))}


def disguised(source, mapping, rng, scratch=False):
    """``source`` as a copier hands it in: names renamed by ``mapping``, functions and methods
    reordered, comments reworded (the old ones gone), reformatted; in scratch, numbers changed."""
    lines = source.splitlines()
    magic = [l for l in lines if l.lstrip().startswith("%")]
    try:
        tree = ast.parse("\n".join(l for l in lines if not l.lstrip().startswith("%")))
    except SyntaxError:
        return source
    tree = _Renamer(mapping).visit(tree)
    for node in [tree, *[n for n in tree.body if isinstance(n, ast.ClassDef)]]:
        defs = [i for i, n in enumerate(node.body) if isinstance(n, (ast.FunctionDef, ast.ClassDef))]
        moved = rng.sample([node.body[i] for i in defs], len(defs))
        for i, n in zip(defs, moved):
            node.body[i] = n
    if scratch:
        for n in ast.walk(tree):
            if isinstance(n, ast.Constant) and isinstance(n.value, float):
                n.value = round(n.value * 2 + 1, 2)
    out = []
    for line in ast.unparse(tree).splitlines():
        if line.strip() and rng.random() < 0.2:
            out.append(" " * (len(line) - len(line.lstrip())) + rng.choice(COMMENTS))
        out.append(line)
    renamed_magic = [re.sub(r"\b\w+\b", lambda m: mapping.get(m.group(), m.group()), l) for l in magic]
    return "\n".join(renamed_magic + out) + "\n"


# --- the class --------------------------------------------------------------------------------

def _code_cell(source, rng):
    return {"cell_type": "code", "execution_count": None, "id": f"{rng.getrandbits(48):012x}", "metadata": {},
            "outputs": [], "source": source}


def _markdown_cell(source, rng):
    return {"cell_type": "markdown", "id": f"{rng.getrandbits(48):012x}", "metadata": {}, "source": source}


def notebook(assignment, solutions, scratch, rng, blanks=0):
    """The release notebook with solution cells replaced ({grade_id: source}) and the scratch
    cells (and ``blanks`` empty cells) put after random code cells."""
    nb = copy.deepcopy(_release(assignment))
    for cell in nb["cells"]:
        grade_id = cell.get("metadata", {}).get("nbgrader", {}).get("grade_id")
        if grade_id in solutions:
            cell["source"] = solutions[grade_id]
    extra = [_code_cell(s, rng) for s in scratch] + [(_code_cell if rng.random() < 0.5 else _markdown_cell)("", rng)
                                                       for _ in range(blanks)]
    for cell in extra:
        nb["cells"].insert(rng.randint(2, len(nb["cells"])), cell)
    return nb


@dataclass
class SyntheticClass:
    """Students' notebooks {student: notebook dict}, their made-up failed checks
    {student: [(name, output)]}, the planted pairs (frozensets of two students) and the two
    textbook-only students."""

    assignment: str
    notebooks: dict = field(default_factory=dict)
    mistakes: dict = field(default_factory=dict)
    planted: set = field(default_factory=set)
    textbook_pair: tuple = ()

    def write(self, folder, graded=None):
        """Write the class in nbgrader's submitted/ layout under ``folder`` (and, with ``graded``,
        results.json files as ``grade --out`` writes them); returns ``folder``."""
        for student, nb in self.notebooks.items():
            path = Path(folder) / student / self.assignment / f"{self.assignment}.ipynb"
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(json.dumps(nb, indent=1, ensure_ascii=False))
            if graded is not None:
                tests = [{"name": name, "score": 0.0, "max_score": 1.0, "output": output, "status": "failed"}
                         for name, output in self.mistakes.get(student, [])]
                tests.append({"name": "all: other checks", "score": 1.0, "max_score": 1.0, "output": "Passed.",
                              "status": "passed"})
                result = Path(graded) / student / self.assignment / "results.json"
                result.parent.mkdir(parents=True, exist_ok=True)
                result.write_text(json.dumps({"score": 1.0, "tests": tests}))
        return Path(folder)


def synthetic_class(assignment, independent=32, originals=3, seed=0, distinct=True):
    """A class of ``independent`` students, planted copies of ``originals`` of them (the first
    copied twice), and two textbook-only students: see the module docstring."""
    rng = random.Random(f"{assignment}-{seed}")
    styles = corpus_styles(assignment)
    kept = _kept_names(assignment)
    made = SyntheticClass(assignment)
    chosen, scratch_of, seen = {}, {}, set()
    taken = set()  # a correct style of the corpus's own is one student's way of writing
    for number in range(independent):
        for _ in range(100):
            pick = {g: _pick([o for o in options if (g, o.name) not in taken], rng) for g, options in styles.items()}
            key = tuple(s.name if s else "stub" for s in pick.values())
            if key not in seen or not distinct:
                break
        seen.add(key)
        taken.update((g, s.name) for g, s in pick.items() if s and s.name not in ("reference", "textbook")
                     and s.mistake is None)
        student = f"s{number:04d}"
        chosen[student], scratch_of[student] = pick, Scratch(assignment, rng).cells()
        made.notebooks[student] = notebook(assignment, {g: s.source for g, s in pick.items() if s},
                                           scratch_of[student], rng)
        made.mistakes[student] = [s.mistake for s in pick.values() if s and s.mistake]
    for number, original in enumerate(sorted(rng.sample(sorted(chosen), originals))):
        for copy_number in range(2 if number == 0 else 1):
            student = f"c{number}{copy_number}-{original}"
            mapping = renaming([s.source for s in chosen[original].values() if s] + scratch_of[original], kept, rng)
            solutions = {g: disguised(s.source, mapping, rng) for g, s in chosen[original].items() if s}
            scratch = [disguised(s, mapping, rng, scratch=True) for s in scratch_of[original]]
            rng.shuffle(scratch)
            parts = scratch[0].split("\nprint(", 1)
            if len(parts) == 2:  # one scratch cell split in two
                scratch[0:1] = [parts[0], "print(" + parts[1]]
            made.notebooks[student] = notebook(assignment, solutions, scratch, rng, blanks=3)
            made.mistakes[student] = list(made.mistakes[original])
            group = [s for s in made.notebooks if s == original or s.endswith(f"-{original}")]
            made.planted.update(frozenset((a, b)) for a in group for b in group if a < b)
    book = textbook()[assignment]
    for student in ("t-book1", "t-book2"):
        made.notebooks[student] = notebook(assignment, {g: text for g, (text, _) in book.items()}, [], rng)
        made.mistakes[student] = [styles[g][1].mistake for g in book if styles[g][1].mistake]
    made.textbook_pair = ("t-book1", "t-book2")
    return made


def _pick(options, rng):
    """A style for one cell: the reference or the textbook often, any other style of the
    corpus otherwise; now and then the stub left as it is (None)."""
    roll = rng.random()
    if roll < 0.03:
        return None
    if roll < 0.33:
        return options[0]
    if roll < 0.53:
        return options[1]
    return rng.choice(options[2:]) if len(options) > 2 else options[0]


# --- the tests ----------------------------------------------------------------------------------

NAMES = tuple(ASSIGNMENTS)


def similarity(*args):
    """Run ``python -m autograder similarity ARGS`` from the repository; the finished process."""
    return subprocess.run([sys.executable, "-m", "autograder", "similarity", *map(str, args)], cwd=ROOT,
                          capture_output=True, text=True, timeout=300)


def read_rows(out):
    with open(Path(out) / "similarity.csv", newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


@pytest.fixture(scope="module")
def checked(tmp_path_factory):
    """The three synthetic classes in one submitted/ folder, with made-up grading results, and
    the command run on it with --graded and without: ({assignment: SyntheticClass},
    {True: (process, out), False: (process, out)})."""
    tmp = tmp_path_factory.mktemp("similarity")
    classes = {a: synthetic_class(a) for a in NAMES}
    for made in classes.values():
        made.write(tmp / "submitted", graded=tmp / "graded")
    runs = {True: (similarity(tmp / "submitted", "--out", tmp / "out-graded", "--graded", tmp / "graded"),
                   tmp / "out-graded"),
            False: (similarity(tmp / "submitted", "--out", tmp / "out"), tmp / "out")}
    for process, _ in runs.values():
        assert process.returncode == 0, process.stderr
    return classes, runs


def scores_of(out, assignment):
    """{frozenset pair: score} of one assignment in a similarity.csv; pairs not listed score 0."""
    return {frozenset((r["student_a"], r["student_b"])): float(r["score"])
            for r in read_rows(out) if r["assignment"] == assignment}


def independent_pairs(made):
    return [frozenset(p) for p in itertools.combinations(made.notebooks, 2) if frozenset(p) not in made.planted]


@pytest.mark.parametrize("graded", [True, False], ids=["with grading results", "without"])
@pytest.mark.parametrize("assignment", NAMES)
def test_every_planted_pair_ranks_above_every_independent_pair(checked, assignment, graded):
    classes, runs = checked
    made, scores = classes[assignment], scores_of(runs[graded][1], assignment)
    planted = {tuple(sorted(p)): scores.get(p, 0.0) for p in made.planted}
    highest = max(independent_pairs(made), key=lambda p: scores.get(p, 0.0))
    assert len(made.notebooks) >= 36 and len(planted) == 5
    assert min(planted.values()) > scores.get(highest, 0.0), (planted, sorted(highest), scores.get(highest))


@pytest.mark.parametrize("graded", [True, False], ids=["with grading results", "without"])
def test_precision_and_recall_at_the_default_threshold(checked, graded):
    classes, runs = checked
    flagged = {(r["assignment"], frozenset((r["student_a"], r["student_b"])))
               for r in read_rows(runs[graded][1]) if float(r["score"]) >= THRESHOLD}
    planted = {(a, p) for a, made in classes.items() for p in made.planted}
    precision = len(flagged & planted) / max(1, len(flagged))
    recall = len(flagged & planted) / len(planted)
    print(f"threshold {THRESHOLD}: precision {precision:.3f}, recall {recall:.3f} ({len(planted)} planted pairs)")
    assert precision == 1.0 and recall == 1.0, (sorted(flagged - planted), sorted(planted - flagged))


@pytest.mark.parametrize("assignment", NAMES)
def test_two_students_who_wrote_only_the_textbook_one_liners_score_below_the_threshold(checked, assignment):
    classes, runs = checked
    for graded in (True, False):
        score = scores_of(runs[graded][1], assignment).get(frozenset(classes[assignment].textbook_pair), 0.0)
        assert score < THRESHOLD, (graded, score)


def test_the_csv_has_the_contract_columns_highest_score_first_and_the_shared_mistakes(checked):
    classes, runs = checked
    rows = read_rows(runs[True][1])
    with open(runs[True][1] / "similarity.csv", encoding="utf-8") as f:
        assert f.readline().strip() == "assignment,student_a,student_b,score,shared_fragments,shared_mistakes"
    scores = [float(r["score"]) for r in rows]
    assert scores == sorted(scores, reverse=True) and all(0.0 <= s <= 1.0 for s in scores)
    assert all(r["student_a"] < r["student_b"] for r in rows)
    assert {r["assignment"] for r in rows} == set(NAMES)
    made = classes["logistic_regression"]
    for row in rows:
        pair = frozenset((row["student_a"], row["student_b"]))
        if row["assignment"] == made.assignment and pair in made.planted:
            original = sorted(pair)[0].split("-")[-1]  # c00-s0002 and s0002 are copies of s0002
            expected = "; ".join(sorted({name for name, _ in made.mistakes[original]}))
            assert "; ".join(sorted(row["shared_mistakes"].split("; "))) == expected
            assert int(row["shared_fragments"]) >= 3
    assert all(r["shared_mistakes"] == "" for r in read_rows(runs[False][1]))


def test_the_summary_is_one_line_that_says_it_is_no_verdict(checked):
    _, runs = checked
    process, out = runs[True]
    lines = process.stdout.strip().splitlines()
    assert len(lines) == 1, process.stdout
    assert "not a verdict" in lines[0] and "no score changed" in lines[0]
    assert f"over {THRESHOLD:g}" in lines[0] and str(out / "similarity.html") in lines[0]


def test_no_grading_result_is_changed(checked, tmp_path):
    classes, _ = checked
    made = classes["hidden_layer"]
    made.write(tmp_path / "submitted", graded=tmp_path / "graded")
    before = {p: hashlib.sha256(p.read_bytes()).hexdigest() for p in (tmp_path / "graded").rglob("*") if p.is_file()}
    process = similarity(tmp_path / "submitted", "--out", tmp_path / "out", "--graded", tmp_path / "graded")
    assert process.returncode == 0, process.stderr
    after = {p: hashlib.sha256(p.read_bytes()).hexdigest() for p in (tmp_path / "graded").rglob("*") if p.is_file()}
    assert before == after


def test_assignment_picks_one_assignment_of_a_submitted_folder(checked, tmp_path):
    _, runs = checked
    submitted = runs[True][1].parent / "submitted"
    process = similarity(submitted, "--out", tmp_path / "out", "--assignment", "hidden_layer")
    assert process.returncode == 0, process.stderr
    assert {r["assignment"] for r in read_rows(tmp_path / "out")} == {"hidden_layer"}
    assert "38 submission(s) of 1 assignment(s)" in process.stdout


def test_notebooks_named_otherwise_count_as_the_assignment_given(tmp_path):
    made = synthetic_class("hidden_layer", independent=2, originals=1)
    planted = min(sorted(pair) for pair in made.planted)  # an original and its copy
    paths = []
    for student in planted:
        path = tmp_path / student / "hw2.ipynb"
        path.parent.mkdir()
        path.write_text(json.dumps(made.notebooks[student]))
        paths.append(path)
    process = similarity(*paths, "--out", tmp_path / "out", "--assignment", "hidden_layer")
    assert process.returncode == 0, process.stderr
    [row] = read_rows(tmp_path / "out")
    assert (row["assignment"], row["student_a"], row["student_b"]) == ("hidden_layer", *planted)


def test_student_ids_and_code_are_escaped_in_the_pages(tmp_path):
    made = synthetic_class("logistic_regression", independent=1, originals=1)
    odd = SyntheticClass("logistic_regression", notebooks={"<b>ann": made.notebooks["s0000"],
                                                           "ben & co": made.notebooks["c00-s0000"]})
    process = similarity(odd.write(tmp_path / "submitted"), "--out", tmp_path / "out", "--threshold", "0")
    assert process.returncode == 0, process.stderr
    pages = [tmp_path / "out" / "similarity.html", *(tmp_path / "out" / "similarity-pairs").glob("*.html")]
    assert len(pages) == 2
    for page in pages:
        text = page.read_text(encoding="utf-8")
        assert "&lt;b&gt;ann" in text and "ben &amp; co" in text
        assert "<b>ann" not in text and "<script" not in text

# --- what is compared ---------------------------------------------------------------------------

def own_text(notebook, assignment):
    """The student's own lines of ``notebook``, cell by cell, as text."""
    release = Release.of(read_notebook(ROOT / "release" / assignment / f"{assignment}.ipynb"))
    return {c.label: "\n".join(c.source.splitlines()[i - 1] for i in sorted(c.own_lines))
            for c in written_cells(notebook, release)}


@pytest.mark.parametrize("assignment", NAMES)
def test_the_release_holds_nothing_of_a_students_own(assignment):
    assert own_text(read_notebook(ROOT / "release" / assignment / f"{assignment}.ipynb"), assignment) == {}


def test_only_solution_regions_and_added_cells_are_the_students(tmp_path):
    a = "logistic_regression"
    given = _cell_source(_release(a), "given-nn")  # a locked cell's code, pasted into a cell of one's own
    solution = filled(a, "gradient-solution", "err = nn(x, w) - t\nreturn err.T @ x / len(x)")
    nb = notebook(a, {"gradient-solution": solution}, [given + "\nprint(nn(x, w).shape)\n"], random.Random(0))
    path = tmp_path / "s" / a / f"{a}.ipynb"
    path.parent.mkdir(parents=True)
    path.write_text(json.dumps(nb))
    own = own_text(read_notebook(path), a)
    assert own == {"gradient-solution": "    err = nn(x, w) - t\n    return err.T @ x / len(x)",
                   "added cell 1": "print(nn(x, w).shape)"}


def fingerprints_of(source, assignment="logistic_regression"):
    """The fingerprints of one added cell holding ``source``."""
    nb = {"cells": [checked_cell_of(source)]}
    release = Release.of(read_notebook(ROOT / "release" / assignment / f"{assignment}.ipynb"))
    return set(student_fingerprints(written_cells(nb, release), release))


def checked_cell_of(source):
    return {"cell_type": "code", "source": source, "id": "abc", "metadata": {"nbgrader": {}, "tags": []}}


def test_renaming_literals_comments_layout_and_order_do_not_hide_a_copy():
    original = '''
def smooth(values, width=3):
    """Moving average."""
    kernel = np.ones(width) / width  # box filter
    return np.convolve(values, kernel, mode="same")


def spread(values):
    centre = np.mean(values)
    total = 0.0
    for value in values:
        total += (value - centre) ** 2
    return total / len(values)
'''
    disguised_copy = '''
def variance_of(xs):
    # how far the points are from their mean
    m = np.mean(xs)
    acc = 0
    for x in xs:
        acc += (x - m) ** 2
    return acc / len(xs)

def blur(arr, k=5):
    box = np.ones(k) / k
    return np.convolve(arr, box, mode='valid')
'''
    assert fingerprints_of(original) == fingerprints_of(disguised_copy)
    assert fingerprints_of(original) != fingerprints_of(original.replace("np.mean", "np.median"))


def test_pairs_that_share_nothing_rare_are_not_scored():
    students = [Student("a", {1: [], 2: [], 3: []}), Student("b", {1: [], 2: [], 4: []}),
                Student("c", {5: [], 6: []}), *[Student(f"x{i}", {3: [], 4: [], 7 + i: []}) for i in range(40)]]
    pairs = {(p.a.name, p.b.name) for p in score_pairs(students)}
    assert ("a", "b") in pairs  # 1 and 2: only these two have them
    assert not any("c" in pair for pair in pairs)  # c shares nothing
    assert not any(pair[0].startswith("x") and pair[1].startswith("x") for pair in pairs)  # 3, 4: everyone's


def test_unreadable_notebooks_and_unknown_assignments_are_skipped_with_a_reason(tmp_path):
    made = synthetic_class("logistic_regression", independent=3, originals=1)
    made.write(tmp_path / "submitted")
    (tmp_path / "submitted" / "broken" / "logistic_regression").mkdir(parents=True)
    (tmp_path / "submitted" / "broken" / "logistic_regression" / "logistic_regression.ipynb").write_text("{not json")
    (tmp_path / "submitted" / "zoe" / "essay").mkdir(parents=True)
    (tmp_path / "submitted" / "zoe" / "essay" / "essay.ipynb").write_text(json.dumps(made.notebooks["s0000"]))
    process = similarity(tmp_path / "submitted", "--out", tmp_path / "out")
    assert process.returncode == 0, process.stderr
    assert "broken" in process.stderr and "not a valid notebook" in process.stderr
    assert "'essay'" in process.stderr and "--assignment" in process.stderr
    assert "7 submission(s) of 1 assignment(s)" in process.stdout


# --- the pages in a browser ---------------------------------------------------------------------

def run_chromium(tmp_path, page, *args):
    """Headless Chromium (Debian's, as in tests/test_feedback.py) on the file ``page``."""
    browser = os.environ.get("CHROMIUM") or shutil.which("chromium") or shutil.which("chromium-browser")
    if not browser:
        pytest.fail("chromium is not installed: run `make env`", pytrace=False)
    profile = tmp_path / f"profile-{len(list(tmp_path.glob('profile-*')))}"
    return subprocess.run([browser, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
                           "--disable-background-networking", "--disable-component-update", "--disable-sync",
                           f"--user-data-dir={profile}", "--enable-logging=stderr", "--v=0", *args,
                           Path(page).as_uri()], capture_output=True, text=True, timeout=120)


def console_messages(stderr):
    return [line for line in stderr.splitlines() if ":CONSOLE" in line or "Uncaught" in line]


def test_the_pages_render_in_headless_chromium_without_script_errors(checked, tmp_path):
    _, runs = checked
    out = runs[True][1]
    pages = sorted((out / "similarity-pairs").glob("*.html"))
    assert len(pages) == 15  # the five planted pairs of each assignment
    for page in [out / "similarity.html", pages[0], pages[-1]]:
        process = run_chromium(tmp_path, page, "--dump-dom")
        assert process.returncode == 0, process.stderr[-3000:]
        assert not console_messages(process.stderr), console_messages(process.stderr)
        dom = process.stdout
        assert "never a verdict" in dom and "<script" not in dom
        if page.name == "similarity.html":
            assert dom.count('href="similarity-pairs/') == 15
        else:
            assert dom.count('<section class="side">') == 2 and '<mark class="rare"' in dom
    shot = tmp_path / "shot.png"
    process = run_chromium(tmp_path, pages[0], f"--screenshot={shot}", "--window-size=1200,1400")
    assert process.returncode == 0 and shot.stat().st_size > 20_000, process.stderr[-3000:]
    assert not console_messages(process.stderr)


# --- with real grading results ------------------------------------------------------------------

def test_a_bug_shared_with_the_same_diagnosis_is_read_from_real_grading_results(tmp_path):
    """Three notebooks graded in the sandbox: ann and her disguised copy (ben) share the bug
    "gradient-sum-not-mean"; cat wrote the reference. The pair's row names the failed checks."""
    import test_corpus_logistic_regression as corpus

    a, rng = "logistic_regression", random.Random(1)
    bug = corpus.MUTANTS["gradient-sum-not-mean"][2]["gradient-solution"]
    scratch = Scratch(a, rng).cells()
    mapping = renaming([bug, *scratch], _kept_names(a), rng)
    made = SyntheticClass(a, notebooks={
        "ann": notebook(a, {"gradient-solution": bug}, scratch, rng),
        "ben": notebook(a, {"gradient-solution": disguised(bug, mapping, rng)},
                        [disguised(s, mapping, rng, scratch=True) for s in scratch], rng, blanks=2),
        "cat": notebook(a, {}, Scratch(a, rng).cells(), rng)})
    submitted = made.write(tmp_path / "submitted")
    graded = subprocess.run([sys.executable, "-m", "autograder", "grade", str(submitted), "--out",
                             str(tmp_path / "graded"), "--quiet", "--workers", "1"], cwd=ROOT,
                            capture_output=True, text=True, timeout=600)
    assert graded.returncode == 0, graded.stderr
    process = similarity(submitted, "--out", tmp_path / "out", "--graded", tmp_path / "graded")
    assert process.returncode == 0, process.stderr
    rows = {(r["student_a"], r["student_b"]): r for r in read_rows(tmp_path / "out")}
    assert "gradient: matches the reference" in rows[("ann", "ben")]["shared_mistakes"].split("; ")
    assert float(rows[("ann", "ben")]["score"]) >= THRESHOLD
    assert all("gradient" not in r["shared_mistakes"] for pair, r in rows.items() if "cat" in pair)
