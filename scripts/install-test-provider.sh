#!/usr/bin/env bash
# Installs the identity tests' OpenID provider (tests/identity/provider: panva/oidc-provider, pinned by
# its package-lock.json) with Debian's Node.js. `make test` and .ci/run call it; nothing else uses it.
set -euo pipefail
cd "$(dirname "$0")/../tests/identity/provider"
if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
  echo "install-test-provider: Node.js and npm are missing: apt-get install nodejs npm" >&2
  exit 1
fi
# Already installed from this very lock file: nothing to do.
if cmp -s package-lock.json node_modules/.installed-from-lock 2>/dev/null; then
  exit 0
fi
npm ci --no-audit --no-fund --loglevel=error
cp package-lock.json node_modules/.installed-from-lock
