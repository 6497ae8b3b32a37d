#!/usr/bin/env bash
# Install everything, then run one officer's tap end to end on the virtual stack.
# Arguments go to `ktp-gateway demo` (e.g. --json, --person siti).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
exec .venv/bin/ktp-gateway demo "$@"
