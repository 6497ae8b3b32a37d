#!/usr/bin/env bash
# Install what the tests need, then lint, type-check and run the whole test suite through the real
# pcscd, virtual readers and simulator processes. Arguments go to pytest.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh --test
echo "== ruff"
.venv/bin/ruff check ktp_gateway ktp_gateway_dev tests bench
.venv/bin/ruff format --check ktp_gateway ktp_gateway_dev tests bench
echo "== mypy (strict)"
.venv/bin/mypy  # the packages, as pyproject's [tool.mypy] says
echo "== contract (Redocly CLI, recommended rules)"
scripts/lint-contract.sh
echo "== pytest"
status=0
.venv/bin/pytest -q -p no:cacheprovider "$@" || status=$?
if [ "$status" -eq 5 ]; then
  echo "test.sh: pytest collected no tests: that is a failure, not a pass" >&2
fi
exit "$status"
