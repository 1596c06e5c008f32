"""Equivalent mutants: those that answer as the reference does, so no check could, or should, fail them.

Each mutant's item is called on many inputs, in a child process (mutant_process.py: mutant code
never runs in this one), and its answers are compared with the reference's
(``reference/<assignment>.py``, called the same way here) within the item's tolerance
(``Item.rtol``/``atol``, 1e-6 and 1e-8 by default). The inputs are the spec's own (the spec
says how an item's inputs are drawn): ``SEEDS`` draws of every entry of its ``dims`` (sizes
distinct), the numeric check's draw, the inputs of its cases (saturation: |z| = 1000, with
overflow as an error where the case asks for it) and its integer inputs.

A call's answer counts whole: its value, the error it raised (if the reference raises too),
and the arguments after the call (a mutant that changes its input in place is not equivalent).
"""
import importlib
import os
import subprocess
import sys
import types
from pathlib import Path

from autograder.checks.engine import Check, same
from autograder.notebook.code_cells import grading_code, imported_modules
from autograder.notebook.program import source_notebook
from autograder.sandbox import wire
from autograder.sandbox.inside import calls

SEEDS = 4  # draws of each entry of an item's dims: 12 random inputs for three entries
ROOT = Path(__file__).resolve().parents[3]


class Probes:
    """The calls that decide whether a mutant of an item is equivalent, and the reference's answers."""

    def __init__(self, specs, wants, rtol=1e-6, atol=1e-8):
        self.specs, self.wants, self.rtol, self.atol = specs, wants, rtol, atol

    def same_answers(self, answers):
        """None when ``answers`` equal the reference's, else the first difference, in a phrase."""
        if len(answers) != len(self.wants):
            return "it answered fewer calls"
        for spec, got, want in zip(self.specs, answers, self.wants):
            for key in ("ok", "raised", "args_after", "attributes"):
                tolerance = (0.0, 0.0) if key == "args_after" else (self.rtol, self.atol)
                if (key in got) != (key in want) or key in want and not same(got[key], want[key], *tolerance):
                    return f"{spec['target']} differs in its {key.replace('ok', 'result')}"
        return None


def item_specs(assignment):
    """{item name: spec Item} of the assignment's spec."""
    spec = importlib.import_module(f"autograder.assignments.{assignment}.spec")
    return {item.name: item for item in spec.ITEMS}


def drawn_calls(item, reference):
    """Call specs of ``item`` on inputs drawn as its spec says (see the module's docstring)."""
    specs = []
    for seed in range(SEEDS):
        check = Check(item, reference, types.SimpleNamespace(seed=seed), "mutation audit")
        inputs = [(check.draw(dims), False) for dims in item.dims]
        if item.numeric:
            inputs.append((check.draw(item.numeric.dims), False))
        for case in item.cases:
            if case.inputs:
                inputs += [(i, case.overflow_is_error) for i in case.inputs(check.rng)]
        if item.integers:
            made = item.integers(check.rng, check.typical())
            inputs += [(i, False) for _, i in (made if isinstance(made, list) else [("", made)])]
        specs += [check.call(i, overflow_is_error=flag).spec(return_args=bool(item.args)) for i, flag in inputs]
    return specs


def reference_answers(reference, specs):
    """The reference's answers of ``specs``, made as the sandbox makes them and read back from the wire."""
    namespace = dict(vars(reference))
    answers = [calls.run_call(namespace, spec) for spec in specs]
    return wire.unpack(wire.pack(answers)[wire.HEADER_BYTES:])


def probes_of(assignment, name):
    """The Probes of the graded item ``name``."""
    reference = importlib.import_module(f"reference.{assignment}")
    item = item_specs(assignment)[name]
    specs = drawn_calls(item, reference)
    return Probes(specs, reference_answers(reference, specs), item.rtol, item.atol)


def mutant_answers(assignment, requests, timeout_per_mutant=60):
    """{mutant id: answers, or a failure sentence} of ``requests`` [(id, code cells, call specs)],
    run in one child process (mutant_process.py), each mutant in a fork of its own."""
    modules = imported_modules(grading_code(source_notebook(assignment)))
    frame = wire.pack({"modules": modules, "mutants": [{"id": i, "cells": cells, "calls": specs}
                                                       for i, cells, specs in requests]})
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))}
    done = subprocess.run([sys.executable, "-m", "autograder.integrations.audit.mutant_process"], input=frame,
                          capture_output=True, cwd=ROOT, env=env, timeout=60 + timeout_per_mutant * len(requests))
    found, data = {}, done.stdout
    while (end := wire.frame_end(data)) is not None:
        message = wire.unpack(data[wire.HEADER_BYTES:end])
        found[message["id"]] = message.get("answers", message.get("failed"))
        data = data[end:]
    missing = {i for i, *_ in requests} - set(found)
    if missing:
        raise RuntimeError(f"the mutants' process stopped (exit status {done.returncode}) before answering "
                           f"{len(missing)} mutant(s): {done.stderr.decode()[-500:]}")
    return found


def equivalence(assignment, mutants, notebooks):
    """{mutant id: None when equivalent, else why not} for ``mutants``, whose notebooks (dicts as
    read_notebook reads them) are ``notebooks`` {mutant id: notebook}."""
    probes = {name: probes_of(assignment, name) for name in {n for m in mutants for n in m.items}}
    requests = [(m.id, grading_code(notebooks[m.id]), [s for name in m.items for s in probes[name].specs])
                for m in mutants]
    answers = mutant_answers(assignment, requests)
    verdicts = {}
    for mutant in mutants:
        got = answers[mutant.id]
        if isinstance(got, str):
            verdicts[mutant.id] = f"its notebook failed: {got}"
            continue
        difference, start = None, 0
        for name in mutant.items:
            count = len(probes[name].specs)
            difference = difference or probes[name].same_answers(got[start:start + count])
            start += count
        verdicts[mutant.id] = difference
    return verdicts
