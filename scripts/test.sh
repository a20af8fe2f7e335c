#!/usr/bin/env bash
# README command 2: installs what the tests need, builds the binary and runs the whole suite.
# The last line is the summary: "N passed, N failed, N skipped".
set -uo pipefail
cd "$(dirname "$0")/.."
# The tests' own needs: python3 for memory hogs, debootstrap for the bpftrace 0.23 and runtime roots,
# bsdutils for `script` (the pseudo-terminal of the watch test; essential in Debian, named here because
# a test needs it), qemu-user-static for the arm64 release binary, containerd, runc and busybox-static
# for the real container runtime of the CRI tests.
bash scripts/setup.sh python3 debootstrap bsdutils qemu-user-static containerd runc busybox-static || { echo "setup failed"; echo "0 passed, 1 failed, 0 skipped"; exit 1; }
# bpftrace 0.23 from a Debian trixie root, for the tests that run both versions.
OOMTRACE_BPFTRACE_023=$(bash scripts/bpftrace-trixie.sh | tail -n 1) || OOMTRACE_BPFTRACE_023=""
export OOMTRACE_BPFTRACE_023
# Debian's kubectl (kubernetes-client, trixie root) for the test API server's fidelity tests.
OOMTRACE_KUBECTL_DEBIAN=$(bash scripts/bpftrace-trixie.sh kubectl | tail -n 1) || OOMTRACE_KUBECTL_DEBIAN=""
export OOMTRACE_KUBECTL_DEBIAN
# The build's own output says what broke; it is shown only then.
build_log=$(bun run build 2>&1) || { printf '%s\n' "$build_log"; echo "build failed"; echo "0 passed, 1 failed, 0 skipped"; exit 1; }
bunx tsc --noEmit || { echo "typecheck failed"; echo "0 passed, 1 failed, 0 skipped"; exit 1; }

log=$(mktemp)
bun test --timeout 120000 "$@" 2>&1 | tee "$log"
status=${PIPESTATUS[0]}
count() { grep -Eo "^ *[0-9]+ $1\$" "$log" | tail -n 1 | tr -dc 0-9; }
pass=$(count pass); fail=$(count fail); skip=$(count skip)
echo "${pass:-0} passed, ${fail:-0} failed, ${skip:-0} skipped"
rm -f "$log"
[ "$status" = 0 ] && [ "${fail:-0}" = 0 ]
