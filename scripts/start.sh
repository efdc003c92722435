#!/usr/bin/env bash
# The main job: build, generate once from the shipped model with the Node CLI, then serve the demo.
set -euo pipefail
cd "$(dirname "$0")/.."
npm run build --silent
echo
echo "== CLI generation in Node (WebGPU through Dawn) =="
node dist/node/cli.js generate --model public/models/tiny-dense --prompt "Once upon a time" --max-tokens 48 --strategy self-speculative
echo
echo "== demo: http://127.0.0.1:5173/demo/ (Ctrl-C to stop) =="
exec npx vite --port 5173 --strictPort
