#!/usr/bin/env bash
# Typecheck, then run every test file explicitly: Node 20 finds no .ts tests by itself and
# would exit 0 on an empty list, so an empty list fails here.
set -euo pipefail
cd "$(dirname "$0")/.."
npx tsc --noEmit -p .
npx tsc -p tsconfig.build.json   # the CLI runs the compiled build (bin/unifile.js)
npx tsc -p tsconfig.ui.json      # the web page's script (dist/ui), served at /ui
mapfile -t files < <(find test src -name '*.test.ts' -not -path '*/node_modules/*' | sort)
if [ "${#files[@]}" -eq 0 ]; then
  echo "no test files found" >&2
  exit 1
fi
echo "running ${#files[@]} test files"
exec node --import tsx --test --test-concurrency="${TEST_CONCURRENCY:-2}" --test-timeout=120000 "${files[@]}"
