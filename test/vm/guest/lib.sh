# Sourced by the guest scripts test/vm/matrix.test.ts builds; runs in the guest (dash), chrooted
# in the host's root, with /mnt/results (whose files come back to the test) as the working dir.
# Needs: AGENT (the oomtrace binary), MEMPY (test/vm/guest/mem.py); OOMTRACE_VM_CGROUP (v1|v2)
# comes from the guest init.
#
# Layout of what it leaves (read by test/vm/matrix.test.ts):
#   <phase>.ndjson <phase>.log   the agent's stdout and stderr for one agent run ("phase")
#   <phase>.args <phase>.attach <phase>.procs <phase>.status <phase>.lines <phase>.bt ...
#   <case>/...                   one dir per case: agent (its phase), lines.before/after (the
#                                phase's NDJSON line count around the case: its events are those
#                                lines), vmstat.before/after (/proc/vmstat oom_kill), dmesg.txt
#                                (the kernel log from the case's start marker on), and what the
#                                case itself records (victim pids, cgroups, memory.events, ...)
set -u
exec 2>&1
T0=$(cut -d' ' -f1 /proc/uptime)
el() { awk -v s="$T0" '{ printf "%.1f", $1 - s }' /proc/uptime; }
note() { echo "[$(el) s] $*"; }

CGV=${OOMTRACE_VM_CGROUP:-v2}
if [ "$CGV" = v1 ]; then CG=/sys/fs/cgroup/memory; else CG=/sys/fs/cgroup; fi
PY=/usr/bin/python3

oomkills() { awk '$1 == "oom_kill" { print $2 }' /proc/vmstat; }
lines() { if [ -f "$1" ]; then wc -l <"$1" | tr -d ' '; else echo 0; fi; }

# mkcg REL: makes the memory cgroup $CG/REL and its parents; on v2 each parent hands the memory
# controller down (cgroup.subtree_control), as the kubelet's cgroup managers do.
mkcg() {
  _p=$CG
  for _n in $(echo "$1" | tr / ' '); do
    [ "$CGV" = v2 ] && { grep -qw memory "$_p/cgroup.subtree_control" || echo +memory >"$_p/cgroup.subtree_control"; }
    _p=$_p/$_n
    [ -d "$_p" ] || mkdir "$_p"
  done
}
# limit REL MIB|max: the memory limit of $CG/REL.
limit() {
  if [ "$CGV" = v1 ]; then
    if [ "$2" = max ]; then echo -1 >"$CG/$1/memory.limit_in_bytes"; else echo "$(($2 * 1048576))" >"$CG/$1/memory.limit_in_bytes"; fi
  elif [ "$2" = max ]; then echo max >"$CG/$1/memory.max"; else echo "$(($2 * 1048576))" >"$CG/$1/memory.max"; fi
}
# events REL: the cgroup's OOM counters (v2 memory.events; v1 memory.oom_control).
events() { if [ "$CGV" = v1 ]; then cat "$CG/$1/memory.oom_control"; else cat "$CG/$1/memory.events"; fi; }

# warm: starts python3 once in the root cgroup, so that its file pages are not charged to the
# first case's cgroup.
warm() {
  $PY -c pass
}

# agent_start PHASE BPFTRACE PRINT [run flags...]: starts `oomtrace run` (with --bpftrace
# BPFTRACE unless it is "bpftrace") at oom_score_adj -1000, set before exec so that bpftrace
# inherits it, and waits up to 300 s for "probe attached". PRINT=1: first `oomtrace probe` with
# the same flags, into PHASE.bt (PHASE.probe-rc). PHASE.attach says "attached <s>" or
# "failed <why>". Returns 1 when the agent did not attach.
# On cgroup v2 the agent runs in its own cgroup /oomtrace-PHASE with memory.min=256M: without
# swap, a global OOM otherwise thrashes for minutes under TCG on the file pages of the agent's
# 110 MiB binary and bpftrace's LLVM, which reclaim evicts and they fault right back in. (A
# kubelet with MemoryQoS protects a Guaranteed DaemonSet pod the same way.) Before the agent,
# that cgroup runs `bpftrace --version` and `-lv` once: this charges their file pages to it,
# and warms the guest's page cache (over 9p) for the agent's start-up, whose bpftrace runs have
# a time limit.
AG="" AGPID="" AGCG=""
agent_start() {
  AG=$1 _bt=$2 _print=$3
  shift 3
  [ "$_bt" = bpftrace ] || set -- --bpftrace "$_bt" "$@"
  echo "$*" >"$AG.args"
  _t=$(el)
  _procs=""
  if [ "$CGV" = v2 ]; then
    [ -z "$AGCG" ] || echo 0 >"$CG/$AGCG/memory.min"
    AGCG=oomtrace-$AG
    mkcg "$AGCG"
    echo $((256 * 1048576)) >"$CG/$AGCG/memory.min"
    _procs=$CG/$AGCG/cgroup.procs
  fi
  note "agent $AG: $*"
  (
    # Builtins with redirections: the writer, and /proc/self, is this subshell.
    [ -z "$_procs" ] || echo 0 >"$_procs"
    echo -1000 >/proc/self/oom_score_adj
    "$_bt" --version >/dev/null 2>&1
    "$_bt" -lv "struct page_counter" >/dev/null 2>&1
    if [ "$_print" = 1 ]; then
      "$AGENT" probe "$@" >"$AG.bt" 2>"$AG.probe-err"
      echo $? >"$AG.probe-rc"
    fi
    # The matrix checks kills, line by line: early warning (its own test, test/vm/pressure.test.ts)
    # would add memory_pressure lines for the containers each case fills to their limit.
    exec "$AGENT" run --node-name vm --output ndjson --metrics-bind-address= --log-format json --log-level debug --no-pressure "$@"
  ) >"$AG.ndjson" 2>"$AG.log" &
  AGPID=$!
  echo $AGPID >"$AG.pid"
  _why="" _end=$(($(cut -d. -f1 /proc/uptime) + 300))
  until grep -q '"msg":"probe attached' "$AG.log"; do
    if ! kill -0 $AGPID 2>/dev/null; then _why="the agent exited before attaching"; break; fi
    if grep -q '"level":"error"' "$AG.log"; then _why="the agent logged an error"; break; fi
    [ "$(cut -d. -f1 /proc/uptime)" -lt $_end ] || { _why="no \"probe attached\" in 300 s"; break; }
    sleep 0.5
  done
  _s=$(awk -v s="$T0" -v t="$_t" '{ printf "%.1f", $1 - s - t }' /proc/uptime)
  [ "$_print" = 1 ] && note "oomtrace probe: status $(cat "$AG.probe-rc" 2>/dev/null), $(grep -m1 '^// chosen:' "$AG.bt" 2>/dev/null)"
  # The agent and its children, with their oom_score_adj: none may be the victim of a global OOM.
  for _d in /proc/[0-9]*; do
    _pp=$(awk '/^PPid:/ { print $2 }' "$_d/status" 2>/dev/null)
    _pid=${_d#/proc/}
    if [ "$_pid" = "$AGPID" ] || [ "$_pp" = "$AGPID" ]; then
      echo "$_pid $(cat "$_d/comm" 2>/dev/null) $(cat "$_d/oom_score_adj" 2>/dev/null)"
    fi
  done >"$AG.procs"
  if [ -z "$_why" ]; then
    echo "attached $_s" >"$AG.attach"
    note "agent $AG attached after $_s s"
    return 0
  fi
  echo "failed $_why after $_s s" >"$AG.attach"
  note "agent $AG: $_why after $_s s"
  { ls -la "$AGENT"; sha256sum "$AGENT"; "$AGENT" --version; } >"$AG.diag" 2>&1
  return 1
}

# agent_stop: lets late events in (kmsg holds a kill up to 5 s), then SIGTERM; PHASE.status.
agent_stop() {
  [ -n "$AGPID" ] || return 0
  sleep 6
  kill -TERM $AGPID 2>/dev/null
  wait $AGPID
  echo $? >"$AG.status"
  lines "$AG.ndjson" >"$AG.lines"
  note "agent $AG stopped: status $(cat "$AG.status"), $(cat "$AG.lines") events"
  AGPID=""
}

# case_begin NAME: a dir for the case, and the counters before it.
C=""
case_begin() {
  C=$1
  mkdir -p "$C"
  echo "$AG" >"$C/agent"
  lines "$AG.ndjson" >"$C/lines.before"
  oomkills >"$C/vmstat.before"
  grep -E '^(MemTotal|MemAvailable|SwapTotal):' /proc/meminfo >"$C/meminfo"
  date -u +%Y-%m-%dT%H:%M:%S.%3NZ >"$C/start"
  # A user-space record (facility user) marks where the case's kernel log starts. The agent
  # trusts only facility 0, so it must ignore it.
  echo "oomtrace-matrix: case $C" >/dev/kmsg
  note "case $C"
}

# case_end [SECONDS] [GROUP_KILLS] [SETTLE]: waits until the agent printed one event per task the
# kernel killed (at most SECONDS, default 30), then SETTLE more seconds (default 1) for late or
# extra events; records the counters. (The agent holds a kill up to 5 s for its missing pieces.)
# The kernel counts the chosen victim of a memory.oom.group kill twice (it is killed once as
# chosen, once more as a member: both times __oom_kill_process counts it), so a case with
# group kills gives their number (memory.events oom_group_kill).
case_end() {
  _b=$(cat "$C/vmstat.before") _l=$(cat "$C/lines.before") _g=${2:-0}
  _end=$(($(cut -d. -f1 /proc/uptime) + ${1:-30}))
  while [ $(($(lines "$AG.ndjson") - _l)) -lt $(($(oomkills) - _b - _g)) ] && [ "$(cut -d. -f1 /proc/uptime)" -lt $_end ]; do
    sleep 0.25
  done
  sleep "${3:-1}"
  oomkills >"$C/vmstat.after"
  lines "$AG.ndjson" >"$C/lines.after"
  dmesg | sed -n "/oomtrace-matrix: case $C\$/,\$p" >"$C/dmesg.txt"
  [ -s "$C/dmesg.txt" ] || dmesg >"$C/dmesg.txt"
  date -u +%Y-%m-%dT%H:%M:%S.%3NZ >"$C/end"
  note "case $C: $(($(cat "$C/vmstat.after") - _b)) kills counted, $(($(cat "$C/lines.after") - _l)) events"
}

# --- the cases -------------------------------------------------------------------------------

# memcg_hog NAME CGROUP LIMIT_AT MIB: a grower alone in CGROUP; the limit is on LIMIT_AT (CGROUP
# itself, or an ancestor: the pod, kubepods). The limit is lifted afterwards.
memcg_hog() {
  case_begin "$1"
  mkcg "$2"
  limit "$3" "$4"
  echo "/$2" >"$C/cgroup"
  echo "/$3" >"$C/limit-at"
  events "$3" >"$C/limit.memory.events.before"
  $PY "$MEMPY" --cg "$CG/$2" --comm oomt-hog --pidfile "$C/victim" grow 2 &
  wait $!
  echo $? >"$C/status"
  events "$2" >"$C/memory.events"
  events "$3" >"$C/limit.memory.events"
  limit "$3" max
  case_end
}

# group_kill NAME CGROUP SLEEPERS: memory.oom.group=1 on CGROUP, SLEEPERS sleep processes and one
# grower in it. victims = every task of the cgroup just before the grower ran out.
group_kill() {
  case_begin "$1"
  mkcg "$2"
  echo "/$2" >"$C/cgroup"
  echo 1 >"$CG/$2/memory.oom.group"
  # The spawner joins the cgroup so that its sleepers start there, then leaves it.
  sh -c 'echo $$ >"$1/cgroup.procs"; i=0; while [ $i -lt $2 ]; do sleep 1000 & i=$((i + 1)); done; echo $$ >"$3/cgroup.procs"; : >"$4"; wait' \
    spawner "$CG/$2" "$3" "$CG" "$C/spawned" &
  spawner=$!
  await_ready "$C/spawned" $spawner
  # The limit leaves room for the grower's start only: it runs out a few MiB later.
  _cur=$(cat "$CG/$2/memory.current")
  echo $((_cur + 24 * 1048576)) >"$CG/$2/memory.max"
  cat "$CG/$2/memory.max" >"$C/limit"
  sort -n "$CG/$2/cgroup.procs" >"$C/sleepers"
  note "$(wc -l <"$C/sleepers") sleepers, memory.current $_cur"
  $PY "$MEMPY" --cg "$CG/$2" --comm oomt-grower --pidfile "$C/grower" grow 2 &
  wait $!
  echo $? >"$C/status"
  wait $spawner
  events "$2" >"$C/memory.events"
  cat "$CG/$2/cgroup.procs" >"$C/left"
  case_end 90 "$(awk '$1 == "oom_group_kill" { print $2 }' "$C/memory.events")" 6
}

# trigger_memcg NAME CGROUP: a holder (oom_score_adj 1000) holds 40 MiB of a 72 MiB limit,
# then an allocator (oom_score_adj 0) asks for 40 MiB: the allocator triggers, the holder dies.
trigger_memcg() {
  case_begin "$1"
  mkcg "$2"
  limit "$2" 72
  echo "/$2" >"$C/cgroup"
  $PY "$MEMPY" --cg "$CG/$2" --adj 1000 --comm oomt-holder --pidfile "$C/victim" hold 40 "$C/ready" &
  holder=$!
  await_ready "$C/ready" $holder
  $PY "$MEMPY" --cg "$CG/$2" --adj 0 --comm oomt-alloc --pidfile "$C/trigger" alloc 40
  echo $? >"$C/trigger.status"
  kill -KILL $holder 2>/dev/null # only if the OOM did not happen
  wait $holder
  echo $? >"$C/status"
  events "$2" >"$C/memory.events"
  case_end
}

# global_hog NAME: a grower with oom_score_adj 1000 exhausts the guest's RAM.
global_hog() {
  case_begin "$1"
  $PY "$MEMPY" --lock --adj 1000 --comm oomt-ghog --pidfile "$C/victim" grow 8 &
  wait $!
  echo $? >"$C/status"
  case_end
}

# trigger_global NAME: a holder (oom_score_adj 1000) takes 60 % of the memory left, then an
# allocator (oom_score_adj 0) allocates until the holder is gone: the allocator triggers, the
# holder dies, and the allocator stops there (it does not need a second OOM). MemAvailable
# counts the agent's protected page cache (memory.min) as available: it is left out.
trigger_global() {
  case_begin "$1"
  _prot=0
  [ -n "$AGCG" ] && _prot=$(cat "$CG/$AGCG/memory.current")
  _mib=$(awk -v p="$_prot" '/^MemAvailable:/ { printf "%d", ($2 * 1024 - p) * 0.6 / 1048576 }' /proc/meminfo)
  echo "$_mib" >"$C/mib"
  $PY "$MEMPY" --lock --adj 1000 --comm oomt-gholder --pidfile "$C/victim" hold "$_mib" "$C/ready" &
  holder=$!
  await_ready "$C/ready" $holder
  $PY "$MEMPY" --lock --adj 0 --comm oomt-galloc --pidfile "$C/trigger" alloc-until $holder 2048
  echo $? >"$C/trigger.status"
  kill -KILL $holder 2>/dev/null
  wait $holder
  echo $? >"$C/status"
  case_end
}

# await_ready FILE PID: until FILE exists (at most 60 s), or PID has died.
await_ready() {
  _end=$(($(cut -d. -f1 /proc/uptime) + 60))
  while [ ! -f "$1" ] && kill -0 "$2" 2>/dev/null && [ "$(cut -d. -f1 /proc/uptime)" -lt $_end ]; do sleep 0.1; done
  [ -f "$1" ] || note "$1: not ready"
}

# fan NAME PARENT N: N container cgroups PARENT/<id_i> with 8 MiB each, one grower in each,
# all started at once: N memcg OOM decisions together.
fan() {
  case_begin "$1"
  mkdir -p "$C/pids"
  _dirs=""
  _i=0
  while [ $_i -lt "$3" ]; do
    _id=$(printf '%064x' $((0xfa0000 + _i)))
    mkcg "$2/$_id"
    limit "$2/$_id" 8
    echo "/$2/$_id" >>"$C/cgroups"
    _dirs="$_dirs $CG/$2/$_id"
    _i=$((_i + 1))
  done
  $PY "$MEMPY" fan "$C/pids" $_dirs
  echo $? >"$C/status"
  for _d in $_dirs; do echo "${_d#$CG} $(grep '^oom_kill ' "$_d/memory.events" | cut -d' ' -f2)"; done >"$C/memory.events"
  case_end 60
}
