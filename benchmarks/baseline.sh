#!/usr/bin/env bash
# The baseline: the obvious way to publish every brief, each step a new process and a new kernel: papermill
# executes the notebook, then `jupyter nbconvert` makes the HTML (the project's registered brief_html exporter)
# and then the PDF (brief_pdf, WeasyPrint). One brief after another, or JOBS at a time (`xargs -P`: the fair
# parallel peer of the build on a machine with JOBS cores).
#
# Usage: baseline.sh BRIEFS_TSV OUT_DIR PROCESSED_DIR NOTEBOOKS_DIR BIN_DIR [JOBS]
#   BRIEFS_TSV  one line per brief: slug <TAB> notebook file <TAB> parameter name <TAB> value
#               ("-" as the parameter name for a notebook without one, e.g. the overview)
#   JOBS        briefs built at once (default 1)
# Exit status: 0 when every brief produced its HTML and PDF, 1 otherwise (the loop goes on after a failure).
set -u -o pipefail

if [ "${1:-}" = "--one" ]; then  # one brief: --one OUT PROCESSED NOTEBOOKS BIN "slug<TAB>notebook<TAB>name<TAB>value"
  out=$2 processed=$3 notebooks=$4 bin=$5
  IFS=$'\t' read -r slug notebook name value <<< "$6"
  params=(-p processed_dir "$processed")
  if [ "$name" != "-" ]; then params+=(-p "$name" "$value"); fi
  if "$bin/papermill" "$notebooks/$notebook" "$out/$slug.ipynb" "${params[@]}" \
        --kernel python3 --cwd "$notebooks" --no-progress-bar --log-level WARNING \
     && "$bin/jupyter" nbconvert --to brief_html "$out/$slug.ipynb" --log-level WARN \
     && "$bin/jupyter" nbconvert --to brief_pdf "$out/$slug.ipynb" --log-level WARN; then
    echo "baseline: built $slug"
  else
    echo "baseline: FAILED $slug" >&2
    exit 1
  fi
  exit 0
fi

tsv=$1 out=$2 processed=$3 notebooks=$4 bin=$5 jobs=${6:-1}
mkdir -p "$out"
failed=0
if [ "$jobs" -gt 1 ]; then
  xargs -d '\n' -P "$jobs" -I{} bash "$0" --one "$out" "$processed" "$notebooks" "$bin" {} < "$tsv" || failed=1
else
  while IFS= read -r line; do
    bash "$0" --one "$out" "$processed" "$notebooks" "$bin" "$line" || failed=$((failed + 1))
  done < "$tsv"
fi
echo "baseline: failures: $failed"
[ "$failed" -eq 0 ]
