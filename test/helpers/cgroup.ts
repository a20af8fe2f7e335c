// Child memory cgroups under the test's own memory cgroup, so every OOM stays inside a limit.
import { existsSync, mkdirSync, readFileSync, rmdirSync, writeFileSync, readdirSync } from "node:fs";
import { join } from "node:path";

export interface OwnCgroup {
  version: "v1" | "v2";
  /** Filesystem dir of our own cgroup. */
  dir: string;
  /** Its path as the kernel names it. */
  path: string;
}

/** Our own cgroup for a controller: its v1 hierarchy where it is mounted, else the v2 one. */
export function ownCgroup(controller: string): OwnCgroup {
  const lines = readFileSync("/proc/self/cgroup", "utf8").split("\n");
  const v1 = lines.find((l) => l.split(":")[1]?.split(",").includes(controller));
  if (v1 && existsSync(`/sys/fs/cgroup/${controller}`)) {
    const path = v1.split(":").slice(2).join(":");
    return { version: "v1", dir: join(`/sys/fs/cgroup/${controller}`, path), path };
  }
  const v2 = lines.find((l) => l.startsWith("0::"));
  if (!v2) throw new Error(`no ${controller} cgroup found in /proc/self/cgroup`);
  const path = v2.slice(3);
  return { version: "v2", dir: join("/sys/fs/cgroup", path), path };
}

export const ownMemoryCgroup = (): OwnCgroup => ownCgroup("memory");

/** A cgroup tree for one test; `remove()` deletes it deepest first once its tasks are gone. */
export class TestCgroups {
  readonly root = ownMemoryCgroup();
  private made: string[] = [];

  /** Makes `rel` (slash separated) under our own cgroup; returns its dir and kernel path. */
  make(rel: string, limitBytes?: number): { dir: string; path: string } {
    const parts = rel.split("/").filter(Boolean);
    let dir = this.root.dir;
    for (const p of parts) {
      dir = join(dir, p);
      if (!existsSync(dir)) {
        mkdirSync(dir);
        this.made.push(dir);
        if (this.root.version === "v2") {
          // Children need the memory controller switched on in their parent.
          try {
            writeFileSync(join(dir, "..", "cgroup.subtree_control"), "+memory");
          } catch {}
        }
      }
    }
    if (limitBytes !== undefined) this.limit(dir, limitBytes);
    return { dir, path: join(this.root.path, ...parts) };
  }

  limit(dir: string, bytes: number): void {
    writeFileSync(join(dir, this.root.version === "v1" ? "memory.limit_in_bytes" : "memory.max"), String(bytes));
  }

  /** The kernel's own count of OOM kills in a cgroup (v1 memory.oom_control, v2 memory.events). */
  oomKills(dir: string): number {
    const file = this.root.version === "v1" ? "memory.oom_control" : "memory.events";
    const m = /^oom_kill (\d+)$/m.exec(readFileSync(join(dir, file), "utf8"));
    return m ? Number(m[1]) : 0;
  }

  async remove(): Promise<void> {
    for (const dir of this.made.reverse()) {
      for (let i = 0; i < 50 && existsSync(dir); i++) {
        try {
          for (const sub of readdirSync(dir, { withFileTypes: true })) if (sub.isDirectory()) rmdirSync(join(dir, sub.name));
          rmdirSync(dir);
        } catch {
          await Bun.sleep(100);
        }
      }
    }
    this.made = [];
  }
}

export const randomHex = (n: number) => [...crypto.getRandomValues(new Uint8Array(n / 2))].map((b) => b.toString(16).padStart(2, "0")).join("");
