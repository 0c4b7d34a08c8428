#!/usr/bin/env bash
# The last words of `make setup`: how to put `ipa` on PATH, so the commands ipa prints (`ipa run …`)
# work as printed. npm ci installs the dependencies' commands, never the package's own (bin/ipa.js);
# `npm link` is how an npm CLI run from a clone gets there. Silent when `ipa` already runs this clone.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd -P)
found=$(command -v ipa 2>/dev/null || true)
if [ -n "$found" ] && [ "$(realpath "$found")" = "$root/bin/ipa.js" ]; then exit 0; fi
if [ -n "$found" ]; then
  echo "setup: the \`ipa\` on your PATH ($found) is not this clone's. To use this one:"
else
  echo "setup: \`ipa\` is not on your PATH; the commands ipa prints (\`ipa run …\`) need it. To put it there:"
fi
echo "  npm link    # in $root: links bin/ipa.js into npm's global bin folder (\`npm prefix -g\`/bin)"
echo "Without it, \`npx ipa …\` runs ipa inside this folder."
