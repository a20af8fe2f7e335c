// The early-warning sampler on real cgroup files: it keeps them open and reads them again from
// offset 0, which only works because the kernel regenerates a cgroup file on such a read. This
// proves that on the running kernel, and that a removed cgroup's kept files fail the read.
import { afterAll, describe, expect, test } from "bun:test";
import { rmdirSync } from "node:fs";
import { join } from "node:path";
import { findContainers, hierarchyOf } from "../../src/sources/pressure/cgroups.ts";
import { MemorySampler } from "../../src/sources/pressure/sampler.ts";
import { TestCgroups, randomHex } from "../helpers/cgroup.ts";
import { holder, waitForLine } from "../helpers/hog.ts";

const MiB = 1 << 20;

describe("MemorySampler on real cgroups", () => {
  const cg = new TestCgroups();
  const base = `oomtrace-sampler-${randomHex(8)}`;
  afterAll(() => cg.remove());

  test("kept files show each new usage, and fail once the cgroup is removed", async () => {
    const { dir } = cg.make(`${base}/kubepods/burstable/pod${crypto.randomUUID()}/${randomHex(64)}`, 256 * MiB);
    const h = hierarchyOf(cg.root.dir);
    const [c] = findContainers(join(cg.root.dir, base), h);
    expect(c?.dir).toBe(dir);
    const sampler = new MemorySampler(h.version);
    const limit = sampler.limit(c!);
    expect(limit).toBe(256 * MiB);
    const empty = sampler.sample(c!, limit);

    const p = holder({ cgroupDir: dir, mib: 48 });
    await waitForLine(p, "held");
    const held = sampler.sample(c!, limit);
    expect(held.usageBytes - empty.usageBytes).toBeGreaterThan(40 * MiB);
    expect(held.workingSetBytes).toBeGreaterThan(40 * MiB);

    p.kill("SIGKILL");
    await p.exited;
    // The charge can linger a moment after the exit.
    let after = sampler.sample(c!, limit);
    for (let i = 0; i < 50 && after.usageBytes > held.usageBytes - 40 * MiB; i++) {
      await Bun.sleep(100);
      after = sampler.sample(c!, limit);
    }
    expect(after.usageBytes).toBeLessThan(held.usageBytes - 40 * MiB);

    rmdirSync(dir);
    expect(() => sampler.sample(c!, limit)).toThrow();
    sampler.release(c!);
    sampler.close();
  });
});
