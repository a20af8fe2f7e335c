// Builds dist/oomtrace: one executable with the probe templates embedded.
// `bun scripts/build.ts [OUTFILE [TARGET]]`; scripts/release.ts reuses buildBinary for the cross builds.
import { $ } from "bun";

/**
 * The version put in the binary: package version + short commit. OOMTRACE_COMMIT names the commit where
 * there is no git checkout (the Containerfile's build stage); otherwise "unknown".
 */
export async function buildVersion(): Promise<string> {
  const pkg = await Bun.file(new URL("../package.json", import.meta.url)).json();
  const commit = process.env.OOMTRACE_COMMIT || (await $`git rev-parse --short HEAD`.nothrow().quiet().text()).trim() || "unknown";
  return `${pkg.version}+${commit}`;
}

/** Compiles the CLI to `outfile`, for `target` (a Bun target such as bun-linux-arm64) or this machine. */
export async function buildBinary(outfile: string, target?: string, version?: string): Promise<string> {
  const v = version ?? (await buildVersion());
  await $`bun build src/cli/index.ts --compile ${target ? ["--target", target] : []} --outfile ${outfile} \
    --minify --bytecode --format=esm \
    --compile-exec-argv=--no-orphans \
    --no-compile-autoload-dotenv --no-compile-autoload-bunfig \
    --define OOMTRACE_VERSION=${JSON.stringify(v)}`.cwd(new URL("..", import.meta.url).pathname);
  console.log(`built ${outfile} (${v}${target ? `, ${target}` : ""})`);
  return v;
}

if (import.meta.main) await buildBinary(process.argv[2] ?? "dist/oomtrace", process.argv[3]);
