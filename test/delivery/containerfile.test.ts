// The Containerfile's build stage without a container engine: its COPY lines into an empty directory,
// then its RUN lines (all but the one that installs bun itself): proves nothing the build needs is
// left out of the image's context and that the commit given as a build argument ends up in the binary.
import { afterAll, expect, test } from "bun:test";
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { REPO } from "../helpers/runtime-root.ts";

const work = mkdtempSync(join(tmpdir(), "oomtrace-containerfile-"));
afterAll(() => rmSync(work, { recursive: true, force: true }));

/** The instructions of one stage, with continuation lines joined. */
function stage(text: string, name: string): string[] {
  const lines = text.replace(/\\\n/g, " ").split("\n").filter((l) => l.trim() && !l.startsWith("#"));
  const start = lines.findIndex((l) => l.startsWith("FROM ") && l.endsWith(` AS ${name}`));
  const end = lines.findIndex((l, i) => i > start && l.startsWith("FROM "));
  return lines.slice(start + 1, end < 0 ? undefined : end);
}

test("the build stage builds the agent from only what it copies, with the commit from its build argument", () => {
  const build = stage(readFileSync(join(REPO, "Containerfile"), "utf8"), "build");
  const src = join(work, "src");
  const out = join(work, "out");
  mkdirSync(src);
  let ran = 0;
  for (const line of build) {
    const [op, ...rest] = line.split(/\s+/);
    if (op === "COPY") {
      const dest = rest.at(-1)!;
      for (const from of rest.slice(0, -1)) cpSync(join(REPO, from), join(src, dest === "./" ? from : dest), { recursive: true });
    } else if (op === "RUN" && !line.includes("apt-get")) {
      const cmd = line.slice(4).replaceAll("/out/", `${out}/`);
      const r = Bun.spawnSync(["sh", "-c", cmd], { cwd: src, env: { ...process.env, TARGETARCH: "amd64", OOMTRACE_COMMIT: "c0ffee1" }, stdout: "pipe", stderr: "pipe" });
      expect(r.exitCode, `${cmd}\n${r.stderr.toString()}`).toBe(0);
      ran++;
    }
  }
  expect(ran).toBe(2); // bun install, then the build
  const pkg = JSON.parse(readFileSync(join(REPO, "package.json"), "utf8"));
  const v = Bun.spawnSync([join(out, "oomtrace"), "--version"]).stdout.toString().trim();
  expect(v).toBe(`${pkg.version}+c0ffee1`);
  // It is the real agent: probe renders the built-in script from the templates it embedded.
  const probe = Bun.spawnSync([join(out, "oomtrace"), "probe"], { stdout: "pipe" }).stdout.toString();
  expect(probe).toContain("tracepoint:oom:mark_victim");
});
