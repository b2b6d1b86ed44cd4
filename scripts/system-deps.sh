#!/usr/bin/env bash
# The Debian packages mineral-analysis needs beyond Python: a browser for the HTML checks, poppler for reading
# PDFs back, pango for WeasyPrint. One list, used by `make test`, `make report` and `.ci/run`.
#   scripts/system-deps.sh build|test          install what that step needs and is missing (as root: one
#                                              `apt-get update`, then `apt-get install`); as another user: print
#                                              the exact command and exit 1
#   scripts/system-deps.sh build|test --check  only report what is missing (exit 1 if anything is)
# `build` is what `make report` needs: WeasyPrint's pango, and HarfBuzz's subsetter, with which WeasyPrint cuts the
# fonts it embeds (without it, WeasyPrint falls back to fontTools, deprecated, which doubles each PDF's time);
# `test` adds Chromium and poppler for the checks, and Debian's own python3: the schedule's test re-creates .venv
# with an interpreter other than the project's, as a careless `make` under cron once did.
set -euo pipefail

build=(libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz-subset0 fontconfig)
case "${1:-}" in
  build) packages=("${build[@]}") ;;
  test) packages=("${build[@]}" chromium poppler-utils python3) ;;
  *) echo "usage: $0 build|test [--check]" >&2; exit 2 ;;
esac

missing=()
for package in "${packages[@]}"; do
  status=$(dpkg-query -W -f='${Status}' "$package" 2>/dev/null || true)
  [[ "$status" == "install ok installed" ]] || missing+=("$package")
done

if [[ ${#missing[@]} -eq 0 ]]; then
  exit 0
fi
command="apt-get update && apt-get install -y --no-install-recommends ${missing[*]}"
if [[ "${2:-}" == "--check" ]]; then
  echo "missing Debian packages: ${missing[*]}; install them with: sudo sh -c '$command'" >&2
  exit 1
fi
if [[ $(id -u) -ne 0 ]]; then
  echo "error: these Debian packages are needed and missing: ${missing[*]}" >&2
  echo "install them (as root) with:  sudo sh -c '$command'" >&2
  exit 1
fi
echo "installing Debian packages: ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
