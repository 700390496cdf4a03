#!/usr/bin/env bash
# The README's start command: set up on a fresh machine, build, and start on the embedded defaults.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup-system.sh
bash scripts/npm-install.sh
npm run build
exec npm start
