#!/usr/bin/env bash
# README command 1: set up what is missing, build, and run the agent in observation mode (NDJSON on stdout).
# Extra arguments go to `oomtrace run`, e.g. scripts/run.sh --output text
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
bun run build >&2
exec dist/oomtrace run "$@"
