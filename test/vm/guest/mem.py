# Memory load for the VM matrix (test/vm/matrix.test.ts); runs in the guest with the host's python3.
# bytearray(n) zero-fills in C: one chunk is faulted in at memset speed, even under TCG.
#
#   mem.py [--cg DIR] [--adj N] [--comm NAME] [--pidfile F] grow [CHUNK_MIB]
#       allocate CHUNK_MIB (default 4) at a time until killed
#   mem.py [...] hold MIB READYFILE
#       allocate MIB, then write READYFILE and sleep until killed
#   mem.py [...] alloc MIB
#       allocate MIB in 4 MiB chunks, then exit 0
#   mem.py [...] alloc-until PID MIB
#       allocate 4 MiB chunks until process PID is gone (or a zombie), then exit 0; exit 1 after
#       MIB without that
#   mem.py [...] fan PIDDIR DIR...
#       fork one grower per cgroup DIR (each joins it, names itself oomt-fan<i> and writes
#       PIDDIR/<i>); all start growing at once; the parent exits when every child has died
#       (status file PIDDIR/status: one "pid exitcode-or-signal" per child)
# --cg DIR joins that cgroup (its cgroup.procs), --adj sets oom_score_adj, --comm the task name
# (15 chars at most), --pidfile writes the pid, --lock locks the code in memory (see lock_code):
# all before the first allocation.
import os
import signal
import sys
import time


def lock_code():
    # mlockall(MCL_CURRENT): the interpreter's code and libraries stay in memory. Without it a
    # global OOM thrashes (no swap, TCG: minutes): reclaim evicts the filler's own code, which it
    # faults right back in. Not inherited by fork, and not for fan's children: in a forked child
    # it would break copy-on-write of the whole heap.
    import ctypes
    if ctypes.CDLL(None, use_errno=True).mlockall(1) != 0:
        sys.exit(f"mem.py: mlockall: {os.strerror(ctypes.get_errno())}")


def setup(cg, adj, comm, pidfile, lock=False):
    if lock:
        lock_code()
    if cg:
        with open(os.path.join(cg, "cgroup.procs"), "w") as f:
            f.write(str(os.getpid()))
    if adj is not None:
        with open("/proc/self/oom_score_adj", "w") as f:
            f.write(str(adj))
    if comm:
        with open("/proc/self/comm", "w") as f:
            f.write(comm[:15])
    if pidfile:
        with open(pidfile + ".tmp", "w") as f:
            f.write(f"{os.getpid()}\n")
        os.rename(pidfile + ".tmp", pidfile)


def alive(pid):
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] not in ("Z", "X")
    except (FileNotFoundError, ProcessLookupError):
        # ESRCH: reaped between the open and the read (seen once in a 6.1 guest's global OOM).
        return False


def grow(chunk_mib):
    keep = []
    while True:
        keep.append(bytearray(chunk_mib << 20))


def main(argv):
    cg = adj = comm = pidfile = None
    lock = False
    while argv and argv[0].startswith("--"):
        if argv[0] == "--lock":
            lock, argv = True, argv[1:]
            continue
        flag, value, argv = argv[0], argv[1], argv[2:]
        if flag == "--cg":
            cg = value
        elif flag == "--adj":
            adj = int(value)
        elif flag == "--comm":
            comm = value
        elif flag == "--pidfile":
            pidfile = value
        else:
            sys.exit(f"mem.py: unknown flag {flag}")
    mode, args = argv[0], argv[1:]
    if mode == "fan":
        piddir, dirs = args[0], args[1:]
        r, w = os.pipe()
        kids = []
        for i, d in enumerate(dirs):
            pid = os.fork()
            if pid == 0:
                try:
                    os.close(w)
                    setup(d, adj, f"oomt-fan{i}", os.path.join(piddir, str(i)))
                    os.read(r, 1)  # the start barrier: every child is in its cgroup before any grows
                    grow(1)
                finally:
                    os._exit(3)
            kids.append(pid)
        os.close(r)
        deadline = time.monotonic() + 60
        while sum(1 for n in os.listdir(piddir) if n.isdigit()) < len(dirs) and time.monotonic() < deadline:
            time.sleep(0.05)
        os.close(w)  # EOF wakes all children at once
        lines = []
        for pid in kids:
            _, status = os.waitpid(pid, 0)
            lines.append(f"{pid} {os.waitstatus_to_exitcode(status)}")
        with open(os.path.join(piddir, "status"), "w") as f:
            f.write("\n".join(lines) + "\n")
        return
    setup(cg, adj, comm, pidfile, lock)
    if mode == "grow":
        grow(int(args[0]) if args else 4)
    elif mode == "hold":
        keep = [bytearray(1 << 20) for _ in range(int(args[0]))]
        with open(args[1], "w") as f:
            f.write("ready\n")
        while True:
            signal.pause()
    elif mode == "alloc-until":
        keep = []
        for _ in range(int(args[1]) // 4):
            if not alive(int(args[0])):
                return
            keep.append(bytearray(4 << 20))
        sys.exit(f"mem.py: {args[1]} MiB allocated and process {args[0]} is still there")
    elif mode == "alloc":
        keep = [bytearray(4 << 20) for _ in range(int(args[0]) // 4)]
        del keep
    else:
        sys.exit(f"mem.py: unknown mode {mode}")


main(sys.argv[1:])
