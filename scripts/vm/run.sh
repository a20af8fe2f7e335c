#!/bin/sh
# Boots a Debian kernel under qemu and runs a guest script as if on this host: the guest sees
# the host's root read-only (9p), with its own kernel, proc, sys, cgroups and tmpfs /tmp and
# /run (see scripts/vm/init.sh).
#   scripts/vm/run.sh <kernel> <guest-script> <results-dir> [mem_mb]
#     kernel        a dir made by scripts/vm/kernels.sh, or its name (bookworm-6.1, trixie-6.12);
#                   fetched and its initramfs built when missing
#     guest-script  a shell script on this host's filesystem; it runs as root in the guest with
#                   /mnt/results (= <results-dir>/files) as its working directory
#     results-dir   made if missing, must be empty; gets console.log (the serial console), and
#                   from the guest exit-code, output.log, init.log, dmesg.log and files/
#     mem_mb        guest RAM (default 512)
# Environment:
#   OOMTRACE_VM_CGROUP   v2 (default) or v1: the guest's cgroup layout (v1: memory controller only).
#                        trixie's 6.12 has no v1 memory controller (CONFIG_MEMCG_V1 unset): v1
#                        there ends with init-error and status 125
#   OOMTRACE_VM_TIMEOUT  seconds before qemu is killed (default 240); the guest's own watchdog
#                        kills the script 30 s earlier, so that its output is kept
#   OOMTRACE_VM_ACCEL    tcg (default) or kvm. KVM is not the default: /dev/kvm may exist and
#                        still fail to run a Debian kernel (a nested hypervisor: qemu aborts on
#                        an MSR with -cpu host, hangs after "Booting from ROM" with -cpu qemu64)
#   OOMTRACE_VM_APPEND   more kernel command line
#   OOMTRACE_VM_VERBOSE  1: also copy the console to stderr
# Exit status: the guest script's; 124 when qemu was killed by the timeout; 125 when the guest
# gave no exit code (see console.log and init.log).
set -eu
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
vm_need_root
[ $# -ge 3 ] && [ $# -le 4 ] || vm_die "usage: run.sh <kernel-dir|name> <guest-script> <results-dir> [mem_mb]"
kernel=$1 script=$2 results=$3 mem=${4:-512}
cgroup=${OOMTRACE_VM_CGROUP:-v2}
timeout=${OOMTRACE_VM_TIMEOUT:-240}
accel=${OOMTRACE_VM_ACCEL:-tcg}
case $cgroup in v1 | v2) ;; *) vm_die "OOMTRACE_VM_CGROUP=$cgroup: v1 or v2" ;; esac
case $accel in tcg | kvm) ;; *) vm_die "OOMTRACE_VM_ACCEL=$accel: tcg or kvm" ;; esac
case $mem in *[!0-9]* | "") vm_die "mem_mb must be a number: $mem" ;; esac
case $timeout in *[!0-9]* | "") vm_die "OOMTRACE_VM_TIMEOUT must be a number of seconds: $timeout" ;; esac

case $kernel in
  */*) kdir=$kernel ;;
  *) kdir=$vm_kernels/$kernel ;;
esac
if [ ! -f "$kdir/.oomtrace-kernel-complete" ]; then
  out=$(sh "$here/kernels.sh" "$(basename "$kdir")") || exit 1
  kdir=$(echo "$out" | tail -n1)
fi
kdir=$(cd "$kdir" && pwd)
out=$(sh "$here/initramfs.sh" "$kdir") || exit 1
initrd=$(echo "$out" | tail -n1)

[ -f "$script" ] || vm_die "no guest script at $script"
script=$(readlink -f "$script")
case $script in *[[:space:]]*) vm_die "the guest script's path must have no spaces: $script" ;; esac
mkdir -p "$results"
results=$(cd "$results" && pwd)
[ -z "$(ls -A "$results")" ] || vm_die "results dir $results is not empty"

vm_need qemu-system-x86_64 qemu-system-x86
[ "$accel" = kvm ] && cpu=host || cpu=max

guest_timeout=$((timeout > 60 ? timeout - 30 : timeout * 3 / 4))
append="console=ttyS0 panic=-1 mitigations=off random.trust_cpu=on oomtrace.script=$script oomtrace.cgroup=$cgroup oomtrace.timeout=$guest_timeout ${OOMTRACE_VM_APPEND:-}"

echo "vm: booting $(cat "$kdir/release") ($accel, ${mem} MiB, cgroup $cgroup): $script -> $results" >&2
start=$(date +%s.%N)
set -- timeout -s KILL "$timeout" qemu-system-x86_64 \
  -accel "$accel" -cpu "$cpu" -smp 1 -m "$mem" \
  -nographic -no-reboot -no-user-config -nic none \
  -kernel "$kdir/vmlinuz" -initrd "$initrd" -append "$append" \
  -virtfs local,path=/,mount_tag=hostroot,security_model=none,readonly=on,multidevs=remap \
  -virtfs "local,path=$results,mount_tag=results,security_model=none"
rc=0
if [ "${OOMTRACE_VM_VERBOSE:-}" = 1 ]; then
  # The pipeline's status is tee's: qemu's is kept in a file.
  { "$@" </dev/null 2>&1 || echo $? >"$results/.qemu-status"; } | tee "$results/console.log" >&2
  [ -f "$results/.qemu-status" ] && rc=$(cat "$results/.qemu-status") && rm -f "$results/.qemu-status"
else
  "$@" </dev/null >"$results/console.log" 2>&1 || rc=$?
fi
took=$(echo "$start $(date +%s.%N)" | awk '{ printf "%.1f", $2 - $1 }')

if [ "$rc" = 137 ]; then
  echo "vm: qemu killed after $timeout s (timeout); console: $results/console.log" >&2
  exit 124
fi
[ "$rc" = 0 ] || echo "vm: qemu exited $rc after $took s; console: $results/console.log" >&2
if [ ! -f "$results/exit-code" ]; then
  echo "vm: the guest gave no exit code after $took s; see $results/console.log and init.log" >&2
  exit 125
fi
code=$(cat "$results/exit-code")
[ -f "$results/timed-out" ] && echo "vm: the guest's watchdog killed the script after $(cat "$results/timed-out") s" >&2
echo "vm: guest script exited $code; boot to poweroff $took s" >&2
exit "$code"
