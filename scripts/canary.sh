#!/usr/bin/env bash
# Install everything, then prove "no storage" on the virtual stack: canary identities through
# every real part, then a search of every place the gateway could have written (docs/no-storage.md).
# Arguments go to `ktp-gateway canary` (e.g. --verifications 100, --json, --keep).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
exec .venv/bin/ktp-gateway canary "$@"
