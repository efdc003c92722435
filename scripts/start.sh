#!/usr/bin/env bash
# The main job: serve the demo (and print its URL).
set -euo pipefail
cd "$(dirname "$0")/.."
echo "demo: http://127.0.0.1:5173/demo/"
exec npx vite --port 5173
