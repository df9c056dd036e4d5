#!/usr/bin/env bash
# Install and start what the test suite needs beyond Python packages:
#   - PostgreSQL (apt) and a throwaway server on 127.0.0.1 (store tests run on both backends)
#   - Chromium (apt) for the checkout page tests
#   - Node.js/npm (apt, when missing) and the npm packages of the compatibility tests
# Writes ./.test-env with the environment the tests read. Idempotent.
set -euo pipefail
cd "$(dirname "$0")/.."
SUDO=""
if [ "$(id -u)" != 0 ]; then SUDO="sudo"; fi

need_apt=()
ls -d /usr/lib/postgresql/*/bin >/dev/null 2>&1 || need_apt+=(postgresql)
command -v chromium >/dev/null 2>&1 || need_apt+=(chromium)
command -v npm >/dev/null 2>&1 || need_apt+=(nodejs npm)
if [ ${#need_apt[@]} -gt 0 ]; then
  echo "test-deps: installing ${need_apt[*]} with apt-get" >&2
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${need_apt[@]}" >/dev/null
fi

pg_env="$(scripts/start-test-postgres.sh)"

for dir in tests/compat/node tests/e2e/web tests/e2e/js; do
  if [ -f "$dir/package.json" ]; then
    if [ ! -d "$dir/node_modules" ] || [ "$dir/package.json" -nt "$dir/node_modules" ]; then
      echo "test-deps: npm install in $dir" >&2
      (cd "$dir" && npm install --no-audit --no-fund --loglevel=error >/dev/null)
      touch "$dir/node_modules"
    fi
  fi
done

{
  echo "$pg_env"
  echo "export LAVA_CHROMIUM=$(command -v chromium)"
} > .test-env
echo "test-deps: ready (.test-env written)" >&2
