#!/usr/bin/env bash
# Regenerate the hashed lock files in requirements/ from pyproject.toml (pip-tools' pip-compile).
#
#   tools/lock.sh            # keep the current pins where pyproject.toml still allows them
#   tools/lock.sh --upgrade  # move every pin to the newest release pyproject.toml allows
#
# requirements/dev.lock         core + dev + deep: what `make run` and `make test` install
# src/civicml/deploy/locks/serve.lock       core + scale: the image `civicml deploy generate` builds
# src/civicml/deploy/locks/serve-deep.lock  core + scale + deep: the image for a model that embeds text
#
# The serve locks are constrained to dev.lock's versions, so a model trained in the dev
# environment is served with exactly the packages it was trained with.
# tests/test_lock.py fails when pyproject.toml and the locks disagree.
set -euo pipefail
cd "$(dirname "$0")/.."
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
python3 -m venv "$work/venv"
"$work/venv/bin/pip" install --quiet --disable-pip-version-check "pip-tools==7.7.0"
compile() {  # OUTPUT EXTRA... (the remaining options come from the caller's environment)
  local out="$1"; shift
  "$work/venv/bin/pip-compile" --quiet --allow-unsafe --generate-hashes --strip-extras \
    --no-emit-index-url --no-emit-find-links \
    "$@" ${UPGRADE:-} -o "$out" pyproject.toml
}
export CUSTOM_COMPILE_COMMAND="tools/lock.sh"
UPGRADE=""
[ "${1:-}" = "--upgrade" ] && UPGRADE="--upgrade"
compile requirements/dev.lock --extra dev --extra deep
grep -E '^[A-Za-z0-9_.-]+==' requirements/dev.lock | sed 's/ \\$//' > "$work/dev-pins.txt"
compile src/civicml/deploy/locks/serve.lock --extra scale -c "$work/dev-pins.txt" --no-annotate
compile src/civicml/deploy/locks/serve-deep.lock --extra scale --extra deep -c "$work/dev-pins.txt" --no-annotate
echo "Wrote requirements/dev.lock and src/civicml/deploy/locks/serve.lock, serve-deep.lock"
