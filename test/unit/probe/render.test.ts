import { describe, expect, test } from "bun:test";
import type { ProbeMode } from "../../../src/probe/choose.ts";
import type { KernelFeatures } from "../../../src/probe/features.ts";
import { renderProbe } from "../../../src/probe/render.ts";

const MARK_FIELDS = ["pid", "comm", "total_vm", "anon_rss", "file_rss", "shmem_rss", "uid", "pgtables", "oom_score_adj"];

function features(version: [number, number, number], over: Partial<KernelFeatures> = {}): KernelFeatures {
  return {
    kernelRelease: "6.18.0",
    btf: true,
    tracefs: "/sys/kernel/tracing",
    kprobes: true,
    oomKillProcessSymbol: true,
    oomKillProcessFtrace: true,
    markVictimFields: MARK_FIELDS,
    memcgId: 4,
    cgroup: "v1",
    pageCounterMax: "max",
    bpftrace: { path: "/usr/bin/bpftrace", version, fentry: true },
    ...over,
  };
}
const V017: [number, number, number] = [0, 17, 0];
const V023: [number, number, number] = [0, 23, 2];
const V024: [number, number, number] = [0, 24, 0];

/** The line of the script that prints the mark tuple. */
const markLine = (script: string) => script.split("\n").find((l) => l.includes(`print(("mark"`))?.trim();

describe("renderProbe, tracepoint mode", () => {
  test("bpftrace 0.17: fields through $a = args, str($a->comm), kstack(16), subsys[4], memory.max, unroll(16), no kprobe", () => {
    const s = renderProbe(features(V017), "tracepoint");
    expect(markLine(s)).toBe(
      `print(("mark", $t, $vpid, tid, pid, comm, $killed, $a->total_vm, $a->anon_rss, $a->file_rss, $a->shmem_rss, $a->uid, $a->pgtables, $a->oom_score_adj, str($a->comm), kstack(16)));`,
    );
    expect(s).toContain("tracepoint:signal:signal_generate\n{\n  $a = args;\n  if ($a->sig == 9 && $a->code == 128) {\n");
    expect(s).toContain("@oomtrace_killed[(uint64)$a->pid] = nsecs;");
    expect(s).toContain("tracepoint:oom:mark_victim\n{\n  $t = nsecs;\n  $a = args;\n  $vpid = $a->pid;\n");
    // Every field is read through the variable: each args-> costs bpftrace 0.17 twice the tracefs reads.
    expect(s.match(/args->/g)).toBeNull();
    expect(s).toContain("curtask->cgroups->subsys[4]");
    expect(s).toContain("((struct mem_cgroup *)$css)->memory.max));");
    expect(s).toContain("unroll(16)");
    expect(s).not.toContain("args.");
    expect(s).not.toContain("kprobe:");
    expect(s).not.toContain("oom_kill_process");
  });

  test("BEGIN resolves a kernel symbol right after it says ready: bpftrace loads kallsyms at start, not at the first kill, and ready is not held back", () => {
    const s = renderProbe(features(V017), "tracepoint");
    const begin = s.slice(s.indexOf("BEGIN"), s.indexOf("}", s.indexOf("BEGIN")));
    expect(begin.indexOf(`print(("sym", ksym(0)));`)).toBeGreaterThan(0);
    // A symbol named in the script is resolved when it compiles, and fails it where kallsyms is hidden.
    expect(begin).not.toContain("kaddr(");
    expect(begin.indexOf(`print(("sym"`)).toBeGreaterThan(begin.indexOf(`print(("ready", 1));`));
  });

  test("the three chains carry their roles t and v", () => {
    const s = renderProbe(features(V017), "tracepoint");
    expect(s).toContain(`print(("cg", $t, tid, "t", $i,`);
    expect(s).toContain(`print(("cg", $t, tid, "v", $i,`);
    expect(s).not.toContain(`"o", $i`);
  });

  test("bpftrace 0.23: args. and an empty mark comm (0.21–0.23 read __data_loc strings wrong)", () => {
    const s = renderProbe(features(V023), "tracepoint");
    expect(markLine(s)).toBe(
      `print(("mark", $t, $vpid, tid, pid, comm, $killed, args.total_vm, args.anon_rss, args.file_rss, args.shmem_rss, args.uid, args.pgtables, args.oom_score_adj, "", kstack(16)));`,
    );
    expect(s).not.toContain("args->");
    expect(s).not.toContain("str(args.comm)");
    // From 0.21 the fields stay on args, and no blank line is left where the variable would be.
    expect(s).not.toContain("$a");
    expect(s).toContain("tracepoint:oom:mark_victim\n{\n  $t = nsecs;\n  $vpid = args.pid;\n");
    expect(s).toContain("tracepoint:signal:signal_generate\n{\n  if (args.sig == 9 && args.code == 128) {\n");
  });

  test("bpftrace 0.21.0 is already affected", () => {
    expect(markLine(renderProbe(features([0, 21, 0]), "tracepoint"))).toContain(`args.oom_score_adj, "", kstack(16)));`);
  });

  test("bpftrace 0.24 reads the comm again", () => {
    expect(markLine(renderProbe(features(V024), "tracepoint"))).toContain(`args.oom_score_adj, str(args.comm), kstack(16)));`);
  });

  test("old-kernel fields (only pid): the memory fields are -1 and the comm is empty", () => {
    const s = renderProbe(features(V017, { markVictimFields: ["pid"] }), "tracepoint");
    expect(markLine(s)).toBe(`print(("mark", $t, $vpid, tid, pid, comm, $killed, -1, -1, -1, -1, -1, -1, -1, "", kstack(16)));`);
  });

  test("a kernel with comm but only part of the memory fields → all -1", () => {
    const s = renderProbe(features(V017, { markVictimFields: ["pid", "comm", "total_vm", "anon_rss"] }), "tracepoint");
    expect(markLine(s)).toBe(`print(("mark", $t, $vpid, tid, pid, comm, $killed, -1, -1, -1, -1, -1, -1, -1, str($a->comm), kstack(16)));`);
  });

  test(`pageCounterMax "limit" (before 4.16) → memory.limit`, () => {
    const s = renderProbe(features(V017, { pageCounterMax: "limit" }), "tracepoint");
    expect(s).toContain("((struct mem_cgroup *)$css)->memory.limit));");
    expect(s).not.toContain("memory.max");
  });

  test("another memcg subsys index is used as given", () => {
    expect(renderProbe(features(V017, { memcgId: 3 }), "tracepoint")).toContain("curtask->cgroups->subsys[3]");
  });
});

describe("renderProbe, decision modes", () => {
  test("kprobe mode appends kprobe:oom_kill_process on arg0 and drops kstack", () => {
    const s = renderProbe(features(V017), "kprobe");
    expect(s).toContain("kprobe:oom_kill_process\n{");
    expect(s).toContain("$oc = (struct oom_control *)arg0;");
    expect(s).toContain(`print(("cg", $t, tid, "o", $i,`);
    expect(s).toContain(`print(("dec", $t, $v->pid, $v->tgid, $v->comm, tid, pid, comm, $oc->constraint, $oc->totalpages, $oc->order));`);
    expect(markLine(s)).toEndWith(`str($a->comm), ""));`);
    expect(s).not.toContain("kstack");
    // No stack to symbolize: no kallsyms warm-up either.
    expect(s).not.toContain("ksym");
  });

  test("fentry with 0.17 → kfunc:oom_kill_process and args->oc", () => {
    const s = renderProbe(features(V017), "fentry");
    expect(s).toContain("kfunc:oom_kill_process\n{");
    expect(s).toContain("$oc = (struct oom_control *)args->oc;");
    expect(s).not.toContain("fentry:");
    expect(s).not.toContain("kstack");
  });

  test("fentry with 0.23 → fentry:oom_kill_process and args.oc", () => {
    const s = renderProbe(features(V023), "fentry");
    expect(s).toContain("fentry:oom_kill_process\n{");
    expect(s).toContain("$oc = (struct oom_control *)args.oc;");
    expect(s).not.toContain("kfunc:");
  });
});

describe("renderProbe leaves no placeholder", () => {
  const cases: [string, KernelFeatures, ProbeMode][] = [];
  for (const v of [V017, V023, V024]) {
    for (const mode of ["tracepoint", "kprobe", "fentry"] as const) {
      cases.push([`bpftrace ${v.join(".")} ${mode}`, features(v), mode]);
      cases.push([`bpftrace ${v.join(".")} ${mode}, old kernel, limit`, features(v, { markVictimFields: ["pid"], pageCounterMax: "limit" }), mode]);
    }
  }
  test.each(cases)("%s", (_label, f, mode) => {
    const s = renderProbe(f, mode);
    // The template's header comment mentions "{{...}}" in prose; no code line may keep one.
    const code = s.split("\n").filter((l) => !l.trimStart().startsWith("//"));
    expect(code.filter((l) => l.includes("{{") || l.includes("}}"))).toEqual([]);
    expect(s).not.toMatch(/\{\{[A-Z_]/);
    expect(s.endsWith("\n")).toBe(true);
  });
});
