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
rm -f test-output/jest.json
npx jest --runInBand --json --outputFile=test-output/jest.json "$@" || status=$?
# Jest force-exits with worker threads that hold native sessions (onnxruntime); now and then a native addon
# aborts (SIGABRT, 134) while the process is torn down, after every result is written. That alone does not
# fail the run; any failed or unfinished suite still does, and the abort is reported.
if [ "$status" -eq 134 ] && node -e '
  const r = require("./test-output/jest.json");
  process.exit(r.success && r.numFailedTestSuites === 0 && r.numRuntimeErrorTestSuites === 0 && r.numTotalTestSuites > 0 ? 0 : 1);
' 2>/dev/null; then
  echo "[test] jest aborted while exiting, after every suite passed (a native addon at teardown); counted as passed" >&2
  status=0
fi
node -e '
  const r = require("./test-output/jest.json");
  console.log(`tests: ${r.numPassedTests} passed, ${r.numFailedTests} failed, ${r.numPendingTests} skipped`);
' || true
exit $status
