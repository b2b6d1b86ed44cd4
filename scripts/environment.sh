#!/usr/bin/env bash
# The project's Python environment (.venv): how `make env` makes and updates it, and how a scheduled run checks it
# without changing it. One list of the files it is installed from, one record of the interpreter that installed it.
#   scripts/environment.sh inputs   print the files the environment is installed from (make's prerequisites)
#   scripts/environment.sh install  no .venv: create it with $PYTHON; a .venv: update it with its own interpreter.
#                                   An existing .venv is never re-created: PYTHON=... naming another interpreter,
#                                   or a .venv whose Python no longer runs, stops with the fix named (exit 2)
#   scripts/environment.sh check    exit 0 when .venv runs, runs the interpreter that installed it and is newer than
#                                   every input; else say what is wrong and how to fix it (exit 2). Changes nothing.
# Variables: VENV (.venv), PYTHON (python3; used only to create), PYTHON_GIVEN (set by make when PYTHON was named),
# EXTRAS (the optional dependencies installed with the project).
set -euo pipefail
cd "$(dirname "$0")/.."

VENV=${VENV:-.venv}
PYTHON=${PYTHON:-python3}
EXTRAS=${EXTRAS:-all,test,dev}
STAMP=$VENV/.installed
INPUTS=(pyproject.toml requirements/constraints.txt setup.py)

fail() {
  # Off a terminal (cron, systemd) the line carries a UTC timestamp, as every line the commands write does.
  if [[ -t 2 || ${MINERAL_ANALYSIS_LOG:-} == plain ]]; then
    echo "error: $*" >&2
  else
    echo "$(date -u +%Y-%m-%dT%H:%M:%SZ) error: $*" >&2
  fi
  exit 2
}

# The real path of the interpreter a python command runs (a venv's bin/python is a link to it).
interpreter() { "$1" -c 'import os, sys; print(os.path.realpath(sys.executable))' 2>/dev/null; }

check() {
  [[ -x $VENV/bin/python ]] || fail "no environment at $VENV: run \`make env\` by hand (a scheduled run never installs)"
  local current recorded stale=()
  current=$(interpreter "$VENV/bin/python") ||
    fail "$VENV/bin/python does not run: remove $VENV (\`make distclean\`) and run \`make env\` by hand"
  [[ -f $STAMP ]] || fail "$VENV was never completely installed: run \`make env\` by hand"
  recorded=$(head -n 1 "$STAMP")
  # An empty record is a stamp from before interpreters were recorded: nothing to compare with.
  [[ -z $recorded || $recorded == "$current" ]] ||
    fail "$VENV was installed by $recorded but its python is now $current (re-created by another interpreter): remove $VENV (\`make distclean\`) and run \`make env\` by hand"
  for input in "${INPUTS[@]}"; do
    [[ $input -nt $STAMP ]] && stale+=("$input")
  done
  [[ ${#stale[@]} -eq 0 ]] ||
    fail "$VENV is older than ${stale[*]} (changed since it was installed): run \`make env\` by hand, then the schedule runs again"
  "$VENV/bin/python" -c 'import numpy, mineral_analysis' 2>/dev/null ||
    fail "$VENV cannot import numpy or mineral_analysis: run \`make env\` by hand"
}

install() {
  local python
  if [[ -e $VENV/pyvenv.cfg || -e $VENV/bin/python || -L $VENV/bin/python ]]; then
    local current wanted recorded
    current=$(interpreter "$VENV/bin/python") ||
      fail "$VENV exists but its python does not run: remove it (\`make distclean\`) and run \`make env\` again"
    if [[ -n ${PYTHON_GIVEN:-} ]]; then
      wanted=$(interpreter "$PYTHON") || fail "PYTHON=$PYTHON does not run"
      [[ $wanted == "$current" ]] ||
        fail "$VENV runs $current, not PYTHON=$PYTHON ($wanted); an environment is never re-created in place: remove it (\`make distclean\`) to change interpreter"
    fi
    recorded=$(head -n 1 "$STAMP" 2>/dev/null || true)
    [[ -z $recorded || $recorded == "$current" ]] ||
      fail "$VENV was installed by $recorded but its python is now $current: remove it (\`make distclean\`) and run \`make env\` again"
  else
    if ! "$PYTHON" -m uv --version >/dev/null 2>&1; then
      echo "installing uv into $PYTHON"
      "$PYTHON" -m pip install --quiet uv || true
    fi
    if "$PYTHON" -m uv --version >/dev/null 2>&1; then
      "$PYTHON" -m uv venv --quiet --python "$PYTHON" "$VENV"
    else
      echo "uv unavailable: creating $VENV with venv and pip"
      "$PYTHON" -m venv "$VENV"
    fi
  fi
  python=$VENV/bin/python
  local requirement=(-c requirements/constraints.txt -e ".[$EXTRAS]")
  if "$python" -m uv --version >/dev/null 2>&1; then
    "$python" -m uv pip install --quiet --python "$python" "${requirement[@]}"
  elif "$PYTHON" -m uv --version >/dev/null 2>&1; then
    "$PYTHON" -m uv pip install --quiet --python "$python" "${requirement[@]}"
  else
    "$python" -m pip install --quiet "${requirement[@]}"
  fi
  interpreter "$python" >"$STAMP"
}

case "${1:-}" in
  inputs) echo "${INPUTS[*]}" ;;
  check) check ;;
  install) install ;;
  *) echo "usage: $0 inputs|check|install" >&2; exit 2 ;;
esac
