#!/usr/bin/env bash
# `npm ci` when node_modules is missing or older than the lockfile; then checks the native engines.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  npm ci --no-audit --no-fund
fi
node scripts/install-native.js
