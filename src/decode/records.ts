// print() tuples of the probe output contract v1 → typed probe records (pure).
// The contract is documented in the README; user scripts with --probe follow it too.
import type { Decoded } from "./bpftrace-line.ts";
import type { VictimMemory } from "../types.ts";

/** One level of a cgroup chain; role t = trigger at the kill, v = victim at its exit, o = the OOM memcg. */
export interface CgRecord {
  tag: "cg";
  t: number;
  tid: number;
  role: "t" | "v" | "o";
  level: number;
  name: string;
  usage: number;
  max: number;
}

export interface MarkRecord {
  tag: "mark";
  t: number;
  victimTid: number;
  triggerTid: number;
  triggerPid: number;
  triggerComm: string;
  /** The kernel sent this task SIGKILL; 0 for the "already exiting" paths that kill nothing. */
  killed: boolean;
  memory: VictimMemory;
  victimComm: string;
  stack: string;
}

export interface ExitRecord {
  tag: "exit";
  t: number;
  tid: number;
  pid: number;
  comm: string;
}

export interface DecisionRecord {
  tag: "dec";
  t: number;
  victimTid: number;
  victimPid: number;
  victimComm: string;
  triggerTid: number;
  triggerPid: number;
  triggerComm: string;
  constraint: number;
  totalPages: number;
  order: number;
}

/** Printed from BEGIN: every probe is attached. */
export interface ReadyRecord {
  tag: "ready";
  version: number;
}

/** Printed from BEGIN before ready: resolving one kernel symbol makes bpftrace load kallsyms then, not at the first kstack. */
export interface SymRecord {
  tag: "sym";
  name: string;
}

export type ProbeRecord = CgRecord | MarkRecord | ExitRecord | DecisionRecord | ReadyRecord | SymRecord;

type Field = "int" | "str" | "bool";
const SHAPES: Record<ProbeRecord["tag"], { fields: [string, Field][] }> = {
  cg: { fields: [["t", "int"], ["tid", "int"], ["role", "str"], ["level", "int"], ["name", "str"], ["usage", "int"], ["max", "int"]] },
  mark: {
    fields: [
      ["t", "int"], ["victimTid", "int"], ["triggerTid", "int"], ["triggerPid", "int"], ["triggerComm", "str"],
      ["killed", "bool"], ["totalVmKb", "int"], ["anonRssKb", "int"], ["fileRssKb", "int"], ["shmemRssKb", "int"],
      ["uid", "int"], ["pgtablesKb", "int"], ["oomScoreAdj", "int"], ["victimComm", "str"], ["stack", "str"],
    ],
  },
  exit: { fields: [["t", "int"], ["tid", "int"], ["pid", "int"], ["comm", "str"]] },
  ready: { fields: [["version", "int"]] },
  sym: { fields: [["name", "str"]] },
  dec: {
    fields: [
      ["t", "int"], ["victimTid", "int"], ["victimPid", "int"], ["victimComm", "str"], ["triggerTid", "int"],
      ["triggerPid", "int"], ["triggerComm", "str"], ["constraint", "int"], ["totalPages", "int"], ["order", "int"],
    ],
  },
};

const MEMORY_FIELDS = ["totalVmKb", "anonRssKb", "fileRssKb", "shmemRssKb", "uid", "pgtablesKb", "oomScoreAdj"];

function convert(v: unknown, kind: Field): number | string | boolean | undefined {
  if (kind === "str") return typeof v === "string" ? v : undefined;
  // bpftrace prints a comparison as 0/1 and, in some versions, bools as true/false.
  if (kind === "bool") return typeof v === "boolean" ? v : v === 0 || v === 1 ? v === 1 : undefined;
  return typeof v === "number" && Number.isInteger(v) ? v : undefined;
}

/** -1 (or any negative) stands for "the kernel did not give it" in memory fields. */
const known = (n: number): number | null => (n < 0 ? null : n);

export function decodeRecord(data: unknown[]): Decoded<ProbeRecord> {
  const tag = data[0];
  if (typeof tag !== "string" || !Object.hasOwn(SHAPES, tag)) {
    return fail(`first element must be one of ${Object.keys(SHAPES).join(", ")}, got ${JSON.stringify(tag)?.slice(0, 40)}`);
  }
  const shape = SHAPES[tag as ProbeRecord["tag"]];
  if (data.length !== shape.fields.length + 1) {
    return fail(`"${tag}" needs ${shape.fields.length} fields after the tag, got ${data.length - 1}`);
  }
  const out: Record<string, unknown> = { tag };
  for (const [i, [name, kind]] of shape.fields.entries()) {
    const v = convert(data[i + 1], kind);
    if (v === undefined) return fail(`"${tag}" field ${i + 1} (${name}) must be ${kind}, got ${JSON.stringify(data[i + 1])?.slice(0, 40)}`);
    out[name] = v;
  }
  if (tag === "cg" && !["t", "v", "o"].includes(out.role as string)) return fail(`"cg" role must be t, v or o`);
  if (tag === "mark") {
    const o = out as Record<string, number>;
    out.memory = {
      totalVmKb: known(o.totalVmKb!), anonRssKb: known(o.anonRssKb!), fileRssKb: known(o.fileRssKb!),
      shmemRssKb: known(o.shmemRssKb!), pgtablesKb: known(o.pgtablesKb!), uid: known(o.uid!),
      // -1 is a real oom_score_adj; the fields come all together or all -1, so total_vm tells which.
      oomScoreAdj: o.totalVmKb! < 0 ? null : o.oomScoreAdj!,
    } satisfies VictimMemory;
    for (const k of MEMORY_FIELDS) delete out[k];
  }
  return { ok: true, value: out as unknown as ProbeRecord };
}

function fail(message: string): Decoded<ProbeRecord> {
  return { ok: false, error: { code: "E_SHAPE", message } };
}
