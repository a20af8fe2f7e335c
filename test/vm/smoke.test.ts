// The compiled agent on real Debian kernels under qemu (scripts/vm): kernels where fentry and
// kprobe attach, unlike this host. One boot per kernel, cgroup v2: the probe choice, then a
// real memcg OOM in a child cgroup, seen by `oomtrace run` with the host's bpftrace (0.17).
import { beforeAll, describe, expect, test } from "bun:test";
import { copyFileSync, existsSync, mkdirSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { BINARY } from "../helpers/agent.ts";
import { bootGuest, describeGuest, fetchKernels, type GuestKernel } from "../helpers/vm.ts";

const KERNELS: GuestKernel[] = ["bookworm-6.1", "trixie-6.12"];
const BOOT_MS = 240_000;
const CGROUP = "oomtrace-smoke";
// OOMTRACE_VM_AGENT: another build of the agent to test. The guest sees the host's files, except
// under /tmp, /run, /var/tmp and /mnt (its own tmpfs there).
const BUILT = process.env.OOMTRACE_VM_AGENT ?? BINARY;
// The checkout may live under /tmp (a CI clone), which the guest covers with its own tmpfs:
// the binary is copied where the guest can see it.
const AGENT = join(process.env.OOMTRACE_CACHE ?? "/var/cache/oomtrace", "vm-agent", "oomtrace");

// Runs in the guest, in /mnt/results; every file it writes there comes back to the test.
const guestScript = `
set -u
exec 2>&1
T0=$(cut -d' ' -f1 /proc/uptime)
el() { awk -v s="$T0" '{ printf "%.1f", $1 - s }' /proc/uptime; }
uname -r > uname.txt
ls -d /sys/kernel/tracing/events/oom/mark_victim > mark_victim.txt 2>&1
${AGENT} probe > probe.bt 2> probe.err; echo $? > probe.rc
echo "probe printed at $(el) s"

${AGENT} run --node-name vm --output ndjson --metrics-bind-address= --log-format json --log-level debug \\
  > agent.ndjson 2> agent.log &
agent=$!
# bpftrace compiles the probe with LLVM under emulation: tens of seconds.
i=0
until grep -q '"msg":"probe attached' agent.log; do
  kill -0 $agent 2>/dev/null || { echo "the agent died before attaching"; break; }
  i=$((i + 1)); [ $i -lt 300 ] || { echo "the agent did not attach in 150 s"; break; }
  sleep 0.5
done
echo "attached at $(el) s"

echo +memory > /sys/fs/cgroup/cgroup.subtree_control
mkdir /sys/fs/cgroup/${CGROUP}
echo 64M > /sys/fs/cgroup/${CGROUP}/memory.max
sh -c 'echo $$ > /sys/fs/cgroup/${CGROUP}/cgroup.procs; exec tail /dev/zero' &
hog=$!
echo $hog > hog.pid
wait $hog; echo $? > hog.status
echo "hog ended at $(el) s"
cat /sys/fs/cgroup/${CGROUP}/memory.events > memory.events

i=0
until grep -q '"oom_kill"' agent.ndjson; do
  i=$((i + 1)); [ $i -lt 80 ] || { echo "no event in 20 s"; break; }
  sleep 0.25
done
sleep 1 # a second event for the same kill would show up now
kill -TERM $agent; wait $agent; echo $? > agent.status
echo "agent stopped at $(el) s"
`;

interface Event {
  constraint: string;
  victim: { pid: number; comm: string | null };
  cgroup: { path: string | null; oom_path: string | null };
  probe: string;
  source: string;
  attribution: string;
}

describe.skipIf(process.getuid?.() !== 0)("qemu guests (scripts/vm): agent on Debian kernels with kprobe and fentry", () => {
  const release: Record<string, string> = {};

  beforeAll(async () => {
    if (!existsSync(BUILT)) throw new Error(`${BUILT} is missing: run bun run build first`);
    if (/^\/(tmp|run|var\/tmp|mnt)\//.test(AGENT)) throw new Error(`${AGENT}: the guest has its own tmpfs there; set OOMTRACE_CACHE elsewhere`);
    mkdirSync(dirname(AGENT), { recursive: true });
    copyFileSync(BUILT, AGENT);
    const dirs = await fetchKernels(...KERNELS);
    KERNELS.forEach((k, i) => (release[k] = readFileSync(join(dirs[i]!, "release"), "utf8").trim()));
  }, 900_000);

  for (const kernel of KERNELS) {
    test(
      `${kernel}: fentry/kprobe chosen, and a v2 memcg OOM reported once with victim, cgroup and kind`,
      async () => {
        const r = await bootGuest({ kernel, script: guestScript, cgroup: "v2", timeoutMs: BOOT_MS });
        const why = describeGuest(r);
        const f = r.files;
        console.error(`${kernel}: boot to poweroff ${(r.durationMs / 1000).toFixed(1)} s\n${r.output}${f["agent.ndjson"] ?? ""}`);
        expect(r.exitCode, why).toBe(0);

        expect(f["uname.txt"]?.trim(), why).toBe(release[kernel]);
        expect(f["mark_victim.txt"]?.trim(), why).toBe("/sys/kernel/tracing/events/oom/mark_victim");

        expect(f["probe.rc"]?.trim(), why).toBe("0");
        const chosen = /^\/\/ chosen: (\S+)$/m.exec(f["probe.bt"] ?? "")?.[1];
        expect(["fentry", "kprobe"], why).toContain(chosen!);

        const logs = (f["agent.log"] ?? "")
          .split("\n")
          .filter((l) => l.trim())
          .map((l) => {
            try {
              return JSON.parse(l) as { level: string; msg: string };
            } catch {
              return { level: "raw", msg: l };
            }
          });
        const attached = logs.find((l) => l.msg.startsWith("probe attached"));
        expect(attached?.msg, why).toStartWith(`probe attached: ${chosen}`);
        // Anything the agent warned about (a probe that failed to attach, a rejected line) is a finding.
        expect(logs.filter((l) => !["info", "debug", "trace", "success", "log"].includes(l.level)), why).toEqual([]);
        expect(f["agent.status"]?.trim(), why).toBe("0");

        const hog = Number(f["hog.pid"]);
        expect(f["hog.status"]?.trim(), why).toBe("137");
        expect(f["memory.events"], why).toMatch(/^oom_kill 1$/m);

        const lines = (f["agent.ndjson"] ?? "").split("\n").filter((l) => l.trim());
        const events = lines.map((l) => JSON.parse(l) as Event);
        expect(events.length, why).toBe(1);
        const e = events[0]!;
        expect(e.constraint, why).toBe("memcg");
        expect(e.victim.pid, why).toBe(hog);
        expect(e.victim.comm, why).toBe("tail");
        expect(e.cgroup.path, why).toBe(`/${CGROUP}`);
        expect(e.cgroup.oom_path, why).toBe(`/${CGROUP}`);
        expect(e.attribution, why).toBe("exact");
        expect(e.source, why).toBe("bpftrace");
        expect(e.probe, why).toBe(chosen!);
      },
      BOOT_MS + 30_000,
    );
  }
});
