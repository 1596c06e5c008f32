"""The child process where mutants' code runs for the equivalence check: never the grader's.

    python -m autograder.integrations.audit.mutant_process  < one frame  > one frame per mutant

It reads one wire frame (autograder/sandbox/wire.py) from stdin: ``{"modules": [names to
import first], "mutants": [{"id", "cells": [code of a notebook], "calls": [call specs]}]}``.
For each mutant, in a fork of its own (its names and any state it leaves die with the fork; a
hang ends at ``SECONDS``), it runs the cells in a fresh namespace, makes the calls as the
sandbox makes them (autograder/sandbox/inside/calls.py, without stand-ins: the mutant's own
dependencies are the reference's, unchanged) and writes ``{"id", "answers": [...]}``, or
``{"id", "failed": reason}``, as one frame on stdout. What the cells print goes nowhere.
"""
import importlib
import os
import signal
import sys

from autograder.sandbox import wire
from autograder.sandbox.inside import calls
from autograder.sandbox.inside.ipython_shell import ZMQInteractiveShell

SECONDS = 60  # for one mutant's cells and calls (train's five-epoch runs take a second)


def answers_of(mutant):
    """The answers of the mutant's calls, after its cells ran in a namespace of their own."""
    namespace = {"__name__": "mutant"}
    namespace["get_ipython"] = ZMQInteractiveShell(namespace).get_ipython  # a source's %matplotlib
    for index, code in enumerate(mutant["cells"]):
        exec(compile(code, f"<cell {index}>", "exec"), namespace)
    return [calls.run_call(namespace, spec) for spec in mutant["calls"]]


def in_a_fork(mutant):
    """``answers_of(mutant)`` computed in a fork: the message to send back."""
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(read_end)
        signal.alarm(SECONDS)
        try:
            message = {"id": mutant["id"], "answers": answers_of(mutant)}
            frame = wire.pack(message)
        except BaseException as err:  # the cells raised, or an answer cannot be sent
            frame = wire.pack({"id": mutant["id"], "failed": f"{type(err).__name__}: {str(err)[:300]}"})
        wire.write_all(write_end, frame)
        os._exit(0)
    os.close(write_end)
    try:
        message = wire.read_frame(read_end)
    finally:
        os.close(read_end)
        os.waitpid(pid, 0)
    return message or {"id": mutant["id"], "failed": f"no answer within {SECONDS} s (a hang or a crash)"}


def main():
    frames = os.dup(1)  # stdout carries the frames; what the cells print goes to /dev/null
    quiet = os.open(os.devnull, os.O_WRONLY)
    os.dup2(quiet, 1)
    sys.stdout = open(os.devnull, "w")
    request = wire.read_frame(0)
    for name in request["modules"]:
        importlib.import_module(name)  # once, before the forks
    for mutant in request["mutants"]:
        wire.write_frame(frames, in_a_fork(mutant))


if __name__ == "__main__":
    main()
