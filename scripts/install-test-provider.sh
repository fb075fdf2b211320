#!/usr/bin/env bash
# Installs the identity tests' OpenID provider (tests/identity/provider: panva/oidc-provider, pinned by
# its package-lock.json) with Debian's Node.js. `make test` and .ci/run call it; nothing else uses it.
set -euo pipefail
cd "$(dirname "$0")/../tests/identity/provider"
if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
  echo "install-test-provider: Node.js and npm are missing: apt-get install nodejs npm" >&2
  exit 1
fi
# oidc-provider 9 needs Node.js 20.19 or later (package.json "engines"). Debian 12's own nodejs is 18: the
# machines this project runs on carry NodeSource's 20 (as Debian 13's nodejs is); say so plainly instead of
# letting npm fail deep inside an install.
version="$(node --version | sed 's/^v//')"
major="${version%%.*}"; rest="${version#*.}"; minor="${rest%%.*}"
if [ "$major" -lt 20 ] || { [ "$major" -eq 20 ] && [ "$minor" -lt 19 ]; }; then
  echo "install-test-provider: Node.js $version is too old for the test OpenID provider (needs 20.19 or later)." >&2
  exit 1
fi
# Already installed from this very lock file: nothing to do.
if cmp -s package-lock.json node_modules/.installed-from-lock 2>/dev/null; then
  exit 0
fi
npm ci --no-audit --no-fund --loglevel=error
cp package-lock.json node_modules/.installed-from-lock
