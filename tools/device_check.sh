#!/usr/bin/env bash
# The prepared GPU check, as the device machine runs it from the repository root:
#   bash tools/device_check.sh [--budget-s S] [--dry-run] ...   (results under $OUT)
# PYTHON picks the interpreter (default python3, the one that holds the CUDA torch).
set -euo pipefail
cd "$(dirname "$0")/.."
exec "${PYTHON:-python3}" -m tools.device_check "$@"
