#!/usr/bin/env bash
# Full Frictionless validation of a release (every row of every resource, foreign keys too).
# Usage: bench/validate_release.sh [release folder, default data/published/latest]
# The test suite validates the first 50 000 rows of each resource; this checks them all.
set -euo pipefail
frictionless="$(cd "$(dirname "$0")/.." && pwd)/.venv/bin/frictionless"
release="${1:-data/published/latest}"
cd "$release"
time "$frictionless" validate datapackage.json --parallel
