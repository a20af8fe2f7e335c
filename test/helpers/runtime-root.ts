// The runtime image's root, assembled by scripts/runtime-root.sh (cached under /var/cache/oomtrace).
import { join } from "node:path";

export const REPO = join(import.meta.dir, "../..");

/** Builds the root for `arch` if its package list changed (about a minute), else returns the cached one. */
export function runtimeRoot(arch: "amd64" | "arm64"): string {
  const r = Bun.spawnSync(["sh", join(REPO, "scripts/runtime-root.sh"), arch], { stdout: "pipe", stderr: "pipe" });
  const out = r.stdout.toString().trim().split("\n");
  if (r.exitCode !== 0) throw new Error(`scripts/runtime-root.sh ${arch} failed (${r.exitCode}):\n${r.stderr.toString()}`);
  return out[out.length - 1]!;
}

/** The packages of image/runtime-packages.txt, the one list the Containerfile and the roots use. */
export async function runtimePackages(): Promise<string[]> {
  const text = await Bun.file(join(REPO, "image/runtime-packages.txt")).text();
  return text
    .split("\n")
    .map((l) => l.replace(/#.*/, "").trim())
    .filter(Boolean);
}
