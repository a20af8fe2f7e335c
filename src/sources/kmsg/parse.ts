// Pure parsing of /dev/kmsg records and of the OOM killer's lines in them.
// Every comm and cgroup name in these lines is chosen by some process, so fields are taken
// from positions the kernel fixes (start of line, end of line, unique keys), never by guessing.
import type { Constraint, VictimMemory } from "../../types.ts";

export interface KmsgRecord {
  /** 0 = kernel. Anything else came from userspace through a write to /dev/kmsg. */
  facility: number;
  level: number;
  seq: bigint;
  tsUsec: bigint;
  /** The kernel's text with /dev/kmsg's \xNN escapes undone (invalid UTF-8 becomes U+FFFD). */
  message: string;
  /** Continuation lines ` KEY=VALUE` (e.g. SUBSYSTEM, DEVICE). */
  dict: Record<string, string>;
}

export type OomLine =
  | {
      type: "summary";
      constraint: Constraint;
      /** Memory cgroup that hit its limit; null for global OOMs or when the line is ambiguous. */
      oomMemcg: string | null;
      globalOom: boolean;
      taskMemcg: string | null;
      comm: string | null;
      pid: number;
      uid: number;
    }
  | {
      type: "killed";
      pid: number;
      comm: string;
      memory: VictimMemory;
      /** "Memory cgroup out of memory:" prefix. */
      memcgOom: boolean;
      /** "Out of memory:" prefix (is_memcg_oom() false). Both false: older 4.x kernels print no prefix. */
      globalOom: boolean;
    }
  | {
      /** Older 4.x kernels announce the choice as `<prefix>: Kill process N (comm) score S or sacrifice child`;
       *  the `Killed process` line that follows has no prefix there, so this is where memcg-or-not is told. */
      type: "selected";
      pid: number;
      comm: string;
      memcgOom: boolean;
      globalOom: boolean;
    }
  | { type: "invoked"; comm: string; gfpMask: number | null; order: number | null; oomScoreAdj: number | null }
  /** `Tasks in <cgroup> are going to be killed due to memory.oom.group set`: the kills that follow share one decision. */
  | { type: "group"; cgroup: string };

const HEADER = /^(\d+),(\d+),(\d+),[^;]*$/;

export function parseKmsgRecord(raw: string): KmsgRecord | null {
  const semi = raw.indexOf(";");
  if (semi < 0) return null;
  const h = HEADER.exec(raw.slice(0, semi));
  if (!h) return null;
  const pri = Number(h[1]);
  const [first = "", ...rest] = raw.slice(semi + 1).split("\n");
  const dict: Record<string, string> = {};
  for (const line of rest) {
    const eq = line.indexOf("=");
    if (line.startsWith(" ") && eq > 1) dict[unescape(line.slice(1, eq))] = unescape(line.slice(eq + 1));
  }
  return { facility: pri >> 3, level: pri & 7, seq: BigInt(h[2]!), tsUsec: BigInt(h[3]!), message: unescape(first), dict };
}

// /dev/kmsg prints bytes < 0x20, >= 0x7f and backslash as \xNN, so the escaping is reversible.
function unescape(s: string): string {
  if (!s.includes("\\x")) return s;
  const inp = Buffer.from(s, "utf8");
  const out = Buffer.alloc(inp.length);
  let n = 0;
  for (let i = 0; i < inp.length; i++) {
    const hex = inp[i] === 0x5c && inp[i + 1] === 0x78 ? inp.toString("latin1", i + 2, i + 4) : "";
    if (/^[0-9a-fA-F]{2}$/.test(hex)) {
      out[n++] = parseInt(hex, 16);
      i += 3;
    } else {
      out[n++] = inp[i]!;
    }
  }
  return out.toString("utf8", 0, n);
}

const PREFIX = "(?:(Memory cgroup out of memory)|(Out of memory(?: \\(oom_kill_allocating_task\\))?)): ";
// Greedy comm: the kernel's `) total-vm:` is the last one, as the fields after it are numbers.
const KILLED = new RegExp(`^(?:${PREFIX})?Killed process (\\d+) \\(([\\s\\S]*)\\) total-vm:(\\d+)kB(.*)$`);
const SELECTED = new RegExp(`^${PREFIX}Kill process (\\d+) \\(([\\s\\S]*)\\) score \\d+ or sacrifice child$`);
const INVOKED = " invoked oom-killer: ";
const GROUP = /^Tasks in ([\s\S]*) are going to be killed due to memory\.oom\.group set$/;
const SUMMARY = /^oom-kill:constraint=(CONSTRAINT_[A-Z_]+)(,[\s\S]*),pid=(\d+),uid=(-?\d+)$/;

const CONSTRAINTS: Record<string, Constraint> = {
  CONSTRAINT_NONE: "global",
  CONSTRAINT_CPUSET: "cpuset",
  CONSTRAINT_MEMORY_POLICY: "mempolicy",
  CONSTRAINT_MEMCG: "memcg",
};

export function parseOomLine(message: string): OomLine | null {
  let m = KILLED.exec(message);
  if (m) {
    const tail = m[6]!;
    return {
      type: "killed",
      pid: Number(m[3]),
      comm: m[4]!,
      memory: {
        totalVmKb: Number(m[5]),
        anonRssKb: field(tail, /, anon-rss:(\d+)kB/),
        fileRssKb: field(tail, /, file-rss:(\d+)kB/),
        shmemRssKb: field(tail, /, shmem-rss:(\d+)kB/),
        pgtablesKb: field(tail, / pgtables:(\d+)kB/),
        uid: field(tail, /, UID:(\d+)/),
        oomScoreAdj: field(tail, / oom_score_adj:(-?\d+)/),
      },
      memcgOom: m[1] !== undefined,
      globalOom: m[2] !== undefined,
    };
  }
  if ((m = SUMMARY.exec(message))) return summary(m[1]!, m[2]!, Number(m[3]), Number(m[4]));
  if ((m = SELECTED.exec(message))) {
    return { type: "selected", pid: Number(m[3]), comm: m[4]!, memcgOom: m[1] !== undefined, globalOom: m[2] !== undefined };
  }
  if ((m = GROUP.exec(message))) return { type: "group", cgroup: m[1]! };
  // comm (at most 15 bytes) cannot hold the 21-character marker, so the first one is the kernel's.
  const inv = message.indexOf(INVOKED);
  if (inv >= 0 && message.startsWith("gfp_mask=", inv + INVOKED.length)) {
    const tail = message.slice(inv + INVOKED.length);
    const gfp = /^gfp_mask=0x([0-9a-f]+)/.exec(tail);
    return {
      type: "invoked",
      comm: message.slice(0, inv),
      gfpMask: gfp ? parseInt(gfp[1]!, 16) : null,
      order: field(tail, /, order=(-?\d+)/),
      oomScoreAdj: field(tail, /, oom_score_adj=(-?\d+)/),
    };
  }
  return null;
}

function field(s: string, re: RegExp): number | null {
  const m = re.exec(s);
  return m ? Number(m[1]) : null;
}

function count(s: string, key: string): number {
  return s.split(key).length - 1;
}

// `body` is what lies between `constraint=X` and the final `,pid=N,uid=N`:
//   ,nodemask=…[,cpuset=NAME,mems_allowed=…](,oom_memcg=PATH|,global_oom)[,task_memcg=PATH],task=COMM
// NAME, PATH and COMM may contain any of the keys. The kernel prints each key at most once, so a key
// seen twice means a forged copy, and the values it bounds are unknowable: they become null.
function summary(constraintText: string, body: string, pid: number, uid: number): OomLine {
  const at = (key: string) => (count(body, key) === 1 ? body.indexOf(key) : -1);
  const task = at(",task=");
  const taskMemcgAt = at(",task_memcg=");
  const oomMemcgAt = at(",oom_memcg=");
  // The kernel prints exactly one of the two (with CONFIG_MEMCG), then task_memcg.
  const oomKnown = count(body, ",oom_memcg=") + count(body, ",global_oom,") === 1 && taskMemcgAt >= 0;
  const oomMemcg = oomKnown && oomMemcgAt >= 0 ? between(body, oomMemcgAt + 11, taskMemcgAt) : null;
  let constraint = CONSTRAINTS[constraintText] ?? "unknown";
  // Kernels from before CONSTRAINT_MEMCG print a memcg OOM as CONSTRAINT_NONE with an oom_memcg.
  if (constraint === "global" && oomMemcg !== null) constraint = "memcg";
  return {
    type: "summary",
    constraint,
    oomMemcg,
    globalOom: oomKnown && oomMemcgAt < 0,
    taskMemcg: oomKnown ? between(body, taskMemcgAt + 12, task) : null,
    comm: task >= 0 ? body.slice(task + 6) : null,
    pid,
    uid,
  };
}

function between(s: string, from: number, to: number): string | null {
  return to >= from ? s.slice(from, to) : null;
}
