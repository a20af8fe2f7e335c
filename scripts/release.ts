// `bun run build:release [DIR]`: the release binaries for Linux amd64 and arm64 (Bun's cross targets),
// one version for both, and DIR/SHA256SUMS in the format `sha256sum -c` reads. DIR defaults to dist/release.
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { basename, join, resolve } from "node:path";
import { buildBinary, buildVersion } from "./build.ts";

export const RELEASE_TARGETS = { "oomtrace-linux-amd64": "bun-linux-x64", "oomtrace-linux-arm64": "bun-linux-arm64" } as const;

const dir = resolve(process.argv[2] ?? "dist/release");
mkdirSync(dir, { recursive: true });
const version = await buildVersion();
const sums: string[] = [];
for (const [name, target] of Object.entries(RELEASE_TARGETS)) {
  const file = join(dir, name);
  await buildBinary(file, target, version);
  const hash = new Bun.CryptoHasher("sha256").update(readFileSync(file)).digest("hex");
  sums.push(`${hash}  ${basename(file)}`);
}
writeFileSync(join(dir, "SHA256SUMS"), sums.join("\n") + "\n");
writeFileSync(join(dir, "VERSION"), version + "\n");
console.log(`wrote ${join(dir, "SHA256SUMS")} (${version})`);
