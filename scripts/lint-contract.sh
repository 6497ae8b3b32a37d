#!/usr/bin/env bash
# Lint the committed contract (openapi.json) with Redocly CLI's recommended rules; any error
# fails. Installed by `scripts/setup.sh --test` (scripts/contract/package-lock.json).
set -euo pipefail
cd "$(dirname "$0")/.."
export REDOCLY_TELEMETRY=off REDOCLY_SUPPRESS_UPDATE_NOTICE=true  # a closed network: no calls out
exec scripts/contract/node_modules/.bin/redocly lint --config scripts/contract/redocly.yaml \
  --format stylish "${1:-openapi.json}"
