#!/usr/bin/env bash
# The main job on a fresh machine: system packages (if apt-get can run), npm ci, then signalprop reproduce.
# Extra arguments go to `signalprop reproduce` (e.g. --scale tiny, --only claim2, --fresh).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/system-deps.sh
npm ci --no-audit --no-fund
exec node bin/signalprop.js reproduce "$@"
