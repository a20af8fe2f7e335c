// Builds dist/oomtrace: one executable with the probe templates embedded.
import { $ } from "bun";

const pkg = await Bun.file(new URL("../package.json", import.meta.url)).json();
const commit = (await $`git rev-parse --short HEAD`.nothrow().quiet().text()).trim() || "unknown";
const version = `${pkg.version}+${commit}`;
const outfile = process.argv[2] ?? "dist/oomtrace";
const target = process.argv[3];

await $`bun build src/cli/index.ts --compile ${target ? ["--target", target] : []} --outfile ${outfile} \
  --minify --bytecode --format=esm \
  --compile-exec-argv=--no-orphans \
  --no-compile-autoload-dotenv --no-compile-autoload-bunfig \
  --define OOMTRACE_VERSION=${JSON.stringify(version)}`;
console.log(`built ${outfile} (${version})`);
