// Every built-in probe rendering must compile with real bpftrace against this kernel's BTF,
// also those this host cannot attach (kprobe): bpftrace --emit-elf type-checks without attaching.
import { describe, expect, test } from "bun:test";
import { detectFeatures } from "../../src/probe/detect.ts";
import { renderProbe } from "../../src/probe/render.ts";
import type { ProbeMode } from "../../src/probe/choose.ts";

const versions: [string, string][] = [["0.17", "bpftrace"]];
if (process.env.OOMTRACE_BPFTRACE_023) versions.push(["0.23", process.env.OOMTRACE_BPFTRACE_023]);

// fentry needs ftrace's list of traceable functions, which this kernel does not expose: it is left to the VM matrix.
const modes: ProbeMode[] = ["tracepoint", "kprobe"];

for (const [label, bin] of versions) {
  describe(`bpftrace ${label} compiles the built-in probe`, () => {
    for (const mode of modes) {
      test(mode, async () => {
        const f = await detectFeatures({ hostRoot: "/", bpftrace: bin });
        const script = renderProbe(f, mode);
        // Inside the 0.23 wrapper's chroot, /tmp is the trixie root's own.
        const out = `/tmp/oomtrace-elf-${mode}-${process.pid}.o`;
        const p = Bun.spawnSync([bin, "--emit-elf", out, "-"], {
          stdin: new TextEncoder().encode(script),
          env: { ...process.env, BPFTRACE_STRLEN: "128", BPFTRACE_MAX_STRLEN: "128" },
        });
        const err = p.stderr.toString();
        expect(err).not.toMatch(/ERROR: (?!.*RLIMIT_MEMLOCK)/);
        expect(p.exitCode).toBe(0);
      }, 60_000);
    }
  });
}
