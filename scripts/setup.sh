#!/usr/bin/env bash
# Install everything ktp-gateway needs on a fresh Debian/Ubuntu machine, idempotently:
# Debian packages (pcscd, the vpcd virtual reader driver, what pyscard builds with), a virtual
# environment in .venv, and the package itself (editable). `--test` adds the test tools.
set -euo pipefail
cd "$(dirname "$0")/.."

extras=""
stamp=".venv/.ktp-gateway-installed"
if [ "${1:-}" = "--test" ]; then
  extras="[test]"
  stamp="$stamp-test"
fi

as_root() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }

python3 -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "ktp-gateway needs Python >= 3.11")'

# pcscd + vsmartcard-vpcd: the real PC/SC stack and its virtual readers (tests and demo use them);
# libpcsclite-dev, swig and gcc: pyscard builds from source against pcsc-lite.
packages=(pcscd vsmartcard-vpcd libpcsclite-dev swig gcc)
python3 -c 'import ensurepip, venv' 2>/dev/null || packages+=(python3-venv)
[ -f "$(python3 -c 'import sysconfig; print(sysconfig.get_paths()["include"])')/Python.h" ] \
  || packages+=(python3-dev)
# postgresql: the tests start a throwaway server for the shared return-data outbox (initdb, pg_ctl).
# prometheus: promtool checks and unit-tests the alert rules; the server scrapes a test gateway.
[ -n "$extras" ] && packages+=(postgresql prometheus)
# systemd: `systemd-analyze verify` checks deploy/systemd/ktp-gateway.service offline (no running
# systemd is needed).
[ -n "$extras" ] && packages+=(systemd)
# nodejs (with npm): Redocly CLI lints the contract, openapi.json (scripts/lint-contract.sh).
if [ -n "$extras" ] && ! command -v node >/dev/null; then packages+=(nodejs); fi

# `dpkg -s` also succeeds for removed packages whose config files remain: ask for "installed".
installed() { [ "$(dpkg-query -W -f='${db:Status-Status}' "$1" 2>/dev/null)" = installed ]; }
missing=()
for package in "${packages[@]}"; do
  installed "$package" || missing+=("$package")
done
if [ "${#missing[@]}" -gt 0 ]; then
  echo "setup: installing Debian packages: ${missing[*]}"
  as_root apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

# --clear: a .venv whose interpreter went away (Python upgraded, half-made copy) is made anew.
[ -x .venv/bin/python ] || python3 -m venv --clear .venv

# Re-install only when the project's requirements changed since the last run.
want="$(sha256sum pyproject.toml | cut -d' ' -f1)"
if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
  echo "setup: installing ktp-gateway${extras} into .venv"
  .venv/bin/python -m pip install -q --upgrade pip
  .venv/bin/python -m pip install -q -e ".${extras}"
  echo "$want" > "$stamp"
fi

if [ -n "$extras" ]; then
  # npm ships with nodejs from NodeSource; Debian's own nodejs has it as a separate package.
  command -v npm >/dev/null || as_root env DEBIAN_FRONTEND=noninteractive \
    apt-get install -y -qq --no-install-recommends npm
  # Redocly CLI, pinned by scripts/contract/package-lock.json, in scripts/contract/node_modules.
  lock="$(sha256sum scripts/contract/package-lock.json | cut -d' ' -f1)"
  if [ "$(cat scripts/contract/node_modules/.installed 2>/dev/null)" != "$lock" ]; then
    echo "setup: installing Redocly CLI (contract lint)"
    (cd scripts/contract && npm ci --no-audit --no-fund --loglevel=error)
    echo "$lock" > scripts/contract/node_modules/.installed
  fi
  # The contract tools in their own environment: openapi-python-client pins httpx below ours.
  want="$(sha256sum scripts/contract/requirements.txt | cut -d' ' -f1)"
  if [ "$(cat .venv-codegen/.installed 2>/dev/null)" != "$want" ]; then
    echo "setup: installing the contract tools (openapi-python-client, openapi-spec-validator) into .venv-codegen"
    [ -x .venv-codegen/bin/python ] || python3 -m venv --clear .venv-codegen
    .venv-codegen/bin/python -m pip install -q -r scripts/contract/requirements.txt
    echo "$want" > .venv-codegen/.installed
  fi
fi
