#!/usr/bin/env bash
# Create .venv (if needed) and install the requirements into it. Sourced by run_tests.sh and demo.sh.
# Re-installs only when requirements*.txt change. Override the interpreter with PYTHON=python3.12.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
venv="$root/.venv"
python="${PYTHON:-python3}"
if [ ! -x "$venv/bin/python" ]; then
  echo "[setup] creating $venv with $($python --version 2>&1)"
  "$python" -m venv "$venv"
fi
stamp="$venv/.requirements.sha"
# requirements-export.txt (onnx, onnxruntime) is optional for users, installed here so the tests cover export.py.
want="$(cat "$root/requirements.txt" "$root/requirements-dev.txt" "$root/requirements-export.txt" "$root/.ci/pip-constraints.txt" | sha256sum | cut -d' ' -f1)"
if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
  echo "[setup] installing requirements (torch is large: a minute or two on first run)"
  # visdom builds from source on Python 3.11+ and needs setuptools<81 (see .ci/pip-constraints.txt)
  PIP_CONSTRAINT="$root/.ci/pip-constraints.txt" "$venv/bin/python" -m pip install -q --disable-pip-version-check \
    -r "$root/requirements.txt" -r "$root/requirements-dev.txt" -r "$root/requirements-export.txt"
  echo "$want" > "$stamp"
fi
