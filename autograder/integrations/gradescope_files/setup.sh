#!/usr/bin/env bash
# Gradescope runs this once, as root, when it builds the autograder image; the zip has
# been unpacked to /autograder/source. Choose Gradescope's Ubuntu 24.04 base image: the kit
# needs Python >= 3.11 (pyproject.toml) and 22.04 ships 3.10 (setup_python.sh checks).
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive

# System packages: Python, its venv module and pip, and bubblewrap for the sandbox
# (setpriv, the sandbox's uid drop, is in util-linux, which Ubuntu always has).
apt-get update
apt-get install -y --no-install-recommends python3 python3-venv python3-pip bubblewrap

# The Python part (a venv with the grader's pinned dependencies) is its own script so that
# it can be run and tested on its own.
bash "$(dirname "${BASH_SOURCE[0]}")/setup_python.sh"
