#!/usr/bin/env bash
# The README's test command: set up on a fresh machine, lint, type-check, build and run the whole suite.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup-system.sh --test
bash scripts/npm-install.sh
node scripts/install-native.js --check
npm run lint
npm run format:check
npm run typecheck
npm run build
mkdir -p test-output
status=0
npx jest --runInBand --json --outputFile=test-output/jest.json "$@" || status=$?
node -e '
  const r = require("./test-output/jest.json");
  console.log(`tests: ${r.numPassedTests} passed, ${r.numFailedTests} failed, ${r.numPendingTests} skipped`);
' || true
exit $status
