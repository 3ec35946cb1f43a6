#!/usr/bin/env bash
# Creates (or reuses) the Python venv of the interop tests and benchmarks inside the build tree,
# target/py-venv, from tests/py/requirements.txt. Never installs anything system-wide.
# Usage: source scripts/py-venv.sh   (from the repository root; sets $venv)
venv=target/py-venv
if ! cmp -s tests/py/requirements.txt "$venv/requirements.txt" 2>/dev/null; then
  echo "== setting up $venv" >&2
  rm -rf "$venv"
  python3 -m venv "$venv"
  "$venv/bin/pip" install --disable-pip-version-check -q -r tests/py/requirements.txt
  cp tests/py/requirements.txt "$venv/requirements.txt"
fi
