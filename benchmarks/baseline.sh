#!/usr/bin/env bash
# The baseline: the obvious way to publish every brief, one after another, each step a new process and a new
# kernel: papermill executes the notebook, then `jupyter nbconvert` makes the HTML (the project's registered
# brief_html exporter) and then the PDF (brief_pdf, WeasyPrint).
#
# Usage: baseline.sh BRIEFS_TSV OUT_DIR PROCESSED_DIR NOTEBOOKS_DIR BIN_DIR
#   BRIEFS_TSV  one line per brief: slug <TAB> notebook file <TAB> parameter name <TAB> value
#               ("-" as the parameter name for a notebook without one, e.g. the overview)
# Exit status: 0 when every brief produced its HTML and PDF, 1 otherwise (the loop goes on after a failure).
set -u -o pipefail

tsv=$1 out=$2 processed=$3 notebooks=$4 bin=$5
mkdir -p "$out"
failed=0
while IFS=$'\t' read -r slug notebook name value; do
  params=(-p processed_dir "$processed")
  if [ "$name" != "-" ]; then params+=(-p "$name" "$value"); fi
  if "$bin/papermill" "$notebooks/$notebook" "$out/$slug.ipynb" "${params[@]}" \
        --kernel python3 --cwd "$notebooks" --no-progress-bar --log-level WARNING \
     && "$bin/jupyter" nbconvert --to brief_html "$out/$slug.ipynb" --log-level WARN \
     && "$bin/jupyter" nbconvert --to brief_pdf "$out/$slug.ipynb" --log-level WARN; then
    echo "baseline: built $slug"
  else
    echo "baseline: FAILED $slug" >&2
    failed=$((failed + 1))
  fi
done < "$tsv"
echo "baseline: $failed failed"
[ "$failed" -eq 0 ]
