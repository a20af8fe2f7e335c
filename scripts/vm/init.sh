#!/bin/sh
# /init of the oomtrace VM initramfs (scripts/vm/initramfs.sh copies it in). Runs under busybox.
#
# Mounts the host's root (9p tag "hostroot", read-only) at /host and the results share (tag
# "results", writable) at /results, then makes /host look like a running host: its own proc,
# sys, dev, tracefs, debugfs, bpffs and cgroup filesystems, tmpfs on /tmp, /run and /var/tmp,
# and /results/files at /mnt/results. It then runs the guest script there with chroot, and
# leaves in /results:
#   exit-code   the script's exit status (a number)
#   output.log  the script's stdout and stderr
#   init.log    this init's own log (also on the console)
#   dmesg.log   the kernel log at the end
#   timed-out   only when the guest watchdog killed the script
#   files/      whatever the script wrote under /mnt/results (its working directory)
# and powers off. Kernel command line:
#   oomtrace.script=PATH   the script, as a path in the host's filesystem (required)
#   oomtrace.cgroup=v2|v1  v2: cgroup2 at /sys/fs/cgroup; v1: a tmpfs there and the memory
#                          controller alone at /sys/fs/cgroup/memory (default v2)
#   oomtrace.timeout=SEC   the guest-side watchdog for the script (default 200)
export PATH=/bin
/bin/busybox --install -s /bin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev 2>/dev/null

H=/host
R=/results
results_up=""
log() {
  echo "oomtrace-init: $*" >/dev/console
  [ -n "$results_up" ] && echo "$*" >>$R/init.log
}
finish() {
  if [ -n "$results_up" ]; then
    dmesg >$R/dmesg.log 2>&1
    sync
  fi
  log "poweroff"
  poweroff -f
  sleep 10
}
fail() {
  log "FAILED: $*"
  [ -n "$results_up" ] && echo "$*" >$R/init-error
  finish
}

script="" cgroup=v2 timeout=200
for a in $(cat /proc/cmdline); do
  case $a in
    oomtrace.script=*) script=${a#*=} ;;
    oomtrace.cgroup=*) cgroup=${a#*=} ;;
    oomtrace.timeout=*) timeout=${a#*=} ;;
  esac
done

# Modules, in dependency order (initramfs.sh resolved it from each module's .modinfo).
for m in $(cat /modules/order); do
  insmod /modules/$m.ko || fail "insmod $m"
done

mkdir -p $H $R
mount9p() { # tag dir options: the virtio device may bind a moment after its driver loads
  i=0
  until mount -t 9p -o trans=virtio,version=9p2000.L,msize=512000,$3 $1 $2 2>/dev/null; do
    i=$((i + 1))
    [ $i -lt 50 ] || { mount -t 9p -o trans=virtio,version=9p2000.L,msize=512000,$3 $1 $2; fail "mount 9p $1"; }
    sleep 0.1
  done
}
mount9p results $R cache=none
results_up=1
: >$R/init.log
log "kernel $(uname -r), script $script, cgroup $cgroup, timeout $timeout s"
mount9p hostroot $H ro,cache=loose

[ -n "$script" ] || fail "no oomtrace.script= on the kernel command line"
# Read the script now: tmpfs goes over the host's /tmp and /run below.
cp "$H$script" /guest.sh || fail "cannot read $script through the host root share"

m() { err=$(mount "$@" 2>&1) || fail "mount $*: $err"; }
m -t tmpfs -o mode=755 tmpfs $H/run
m -t tmpfs -o mode=1777 tmpfs $H/tmp
m -t tmpfs -o mode=1777 tmpfs $H/var/tmp
m -t proc proc $H/proc
m -t sysfs sysfs $H/sys
m -t devtmpfs devtmpfs $H/dev
mkdir -p $H/dev/pts $H/dev/shm
m -t devpts -o newinstance,ptmxmode=0666 devpts $H/dev/pts
m -t tmpfs -o mode=1777 tmpfs $H/dev/shm
m -t tracefs tracefs $H/sys/kernel/tracing
m -t debugfs debugfs $H/sys/kernel/debug
m -t bpf bpf $H/sys/fs/bpf
case $cgroup in
  v2) m -t cgroup2 cgroup2 $H/sys/fs/cgroup ;;
  v1)
    m -t tmpfs -o mode=755 cgroup $H/sys/fs/cgroup
    mkdir $H/sys/fs/cgroup/memory
    m -t cgroup -o memory memory $H/sys/fs/cgroup/memory
    ;;
  *) fail "oomtrace.cgroup=$cgroup: v1 or v2" ;;
esac
m -t tmpfs -o mode=755 tmpfs $H/mnt
mkdir -p $H/mnt/results $R/files
m -o bind $R/files $H/mnt/results
mkdir -p $H/run/oomtrace
cp /guest.sh $H/run/oomtrace/guest.sh
hostname oomtrace-vm
ip link set lo up 2>/dev/null

log "running $script"
start=$(cut -d' ' -f1 /proc/uptime)
# setsid: the script and everything it starts are one process group, for the watchdog.
setsid chroot $H /usr/bin/env -i \
  PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin HOME=/root LANG=C.UTF-8 \
  OOMTRACE_VM=1 OOMTRACE_VM_CGROUP=$cgroup RESULTS=/mnt/results \
  /bin/sh -c 'cd /mnt/results && exec /bin/sh /run/oomtrace/guest.sh' \
  </dev/null >$R/output.log 2>&1 &
pid=$!
(
  sleep "$timeout"
  echo "$timeout" >$R/timed-out
  log "the script ran longer than $timeout s: killing it"
  kill -KILL -$pid $pid 2>/dev/null
) &
watchdog=$!
wait $pid
rc=$?
kill $watchdog 2>/dev/null
echo $rc >$R/exit-code
log "script exited $rc after $(awk -v s="$start" '{ printf "%.1f", $1 - s }' /proc/uptime) s"
finish
