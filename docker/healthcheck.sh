#!/bin/sh
# Health of an ipa worker container: its agent (`ipa worker`) is alive and, in a service that
# reserved a GPU (IPA_HEALTH_GPU=1), CUDA still sees a device (a GPU that fell off the bus leaves
# the agent alive). The helper service reserves none and sets IPA_HEALTH_GPU=0: it needs no CUDA.
# Prints one line saying what is wrong; exit 0 healthy, 1 not. PROC_ROOT: tests point it at a fake /proc.
set -u
proc="${PROC_ROOT:-/proc}"
agent=""
for f in "$proc"/[0-9]*/cmdline; do
  [ -r "$f" ] || continue
  # argv joined by spaces: node /usr/local/bin/ipa worker ... (tini's own line names it too: not it)
  if tr '\000' ' ' < "$f" 2>/dev/null | grep -Eq '^([^ ]*/)?node [^ ]*/ipa(\.js)? worker( |$)'; then agent=1; break; fi
done
if [ -z "$agent" ]; then echo "unhealthy: no ipa worker agent process is running"; exit 1; fi
if [ "${IPA_HEALTH_GPU:-1}" = "1" ]; then
  if ! "${IPA_PYTHON:-python}" -c 'import sys, torch; sys.exit(0 if torch.cuda.is_available() and torch.cuda.device_count() > 0 else 1)' >/dev/null 2>&1; then
    echo "unhealthy: CUDA sees no usable GPU in a service that reserved one (IPA_HEALTH_GPU=1)"; exit 1
  fi
fi
echo "healthy"
