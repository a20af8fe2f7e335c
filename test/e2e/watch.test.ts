// `oomtrace watch` under a real pseudo-terminal (util-linux `script`) and through a pipe, and the filters of
// `run`, all against one real memcg OOM kill whose process name carries terminal escapes and a newline.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { AgentProcess, BINARY } from "../helpers/agent.ts";
import { TestCgroups, randomHex } from "../helpers/cgroup.ts";
import { grower } from "../helpers/hog.ts";
import { displayWidth } from "../../src/sinks/table/text.ts";

const MiB = 1 << 20;
/** Clears the screen, turns text red, and breaks the line: 11 bytes, inside the kernel's 15-byte comm. */
const HOSTILE_COMM = "\x1b[2J\x1b[31mX\n";
const COLUMNS = 120;

/** Collects a process's output as text. */
class Output {
  text = "";
  constructor(stream: ReadableStream<Uint8Array>) {
    void (async () => {
      const dec = new TextDecoder();
      for await (const chunk of stream) this.text += dec.decode(chunk, { stream: true });
    })();
  }
  async waitFor(what: string, ok: (text: string) => boolean, timeoutMs = 90_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!ok(this.text)) {
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}; output so far:\n${JSON.stringify(this.text)}`);
      await Bun.sleep(100);
    }
  }
}

/** Children of a process, from ps. */
async function childrenOf(ppid: number): Promise<number[]> {
  const out = await Bun.$`ps -eo pid=,ppid=`.quiet().text();
  return out
    .trim()
    .split("\n")
    .map((l) => l.trim().split(/\s+/).map(Number))
    .filter(([, pp]) => pp === ppid)
    .map(([pid]) => pid!);
}

const SGR = /\x1b\[[0-9;]*m/g;
const readyLog = (text: string) => text.includes('"msg":"probe attached');

describe("oomtrace watch and the run filters, on one real OOM kill", () => {
  const cg = new TestCgroups();
  const uid = crypto.randomUUID();
  const containerId = randomHex(64);
  const dir = cg.make(`oomtrace-watch-${randomHex(8)}/kubepods/burstable/pod${uid}/${containerId}`, 48 * MiB).dir;
  const json = ["--log-format", "json", "--log-level", "info", "--node-name", "test-node"];

  // In a terminal 120 columns wide, as an operator would run it (TERM set, colour wanted).
  const tty = Bun.spawn(["script", "-qfec", `stty cols ${COLUMNS} rows 40; exec ${BINARY} watch ${json.join(" ")}`, "/dev/null"], {
    stdin: "ignore",
    stdout: "pipe",
    stderr: "pipe",
    env: { ...process.env, TERM: "xterm-256color", NO_COLOR: "" },
  });
  const ttyOut = new Output(tty.stdout as ReadableStream<Uint8Array>);
  // Through a pipe, with chosen columns and run's filter flags.
  const piped = Bun.spawn([BINARY, "watch", ...json, "--fields", "pod,kind,victim,cgroup", "--kind", "memcg", "-n", "!kube-system"], { stdin: "ignore", stdout: "pipe", stderr: "pipe" });
  const pipedOut = new Output(piped.stdout as ReadableStream<Uint8Array>);
  const pipedErr = new Output(piped.stderr as ReadableStream<Uint8Array>);
  // run with filters that leave this kill out, and one that keeps it.
  const wrongKind = new AgentProcess(["--kind", "global,cpuset"]);
  // No name source at all: no API server here, and CRI off (its default, auto, counts as one).
  const otherNamespace = new AgentProcess(["-n", "prod", "--no-cri"]);
  const notSystem = new AgentProcess(["-A", "-n", "!kube-system", "--kind", "memcg"]);
  let hogPid = 0;

  beforeAll(async () => {
    await Promise.all([
      ttyOut.waitFor("watch in the terminal to attach", readyLog),
      pipedErr.waitFor("piped watch to attach", readyLog),
      wrongKind.attached(90_000),
      otherNamespace.attached(90_000),
      notSystem.attached(90_000),
    ]);
    const hog = grower({ cgroupDir: dir, comm: HOSTILE_COMM });
    hogPid = hog.pid;
    await hog.exited;
    expect(hog.signalCode).toBe("SIGKILL");
  }, 180_000);

  afterAll(async () => {
    for (const pid of await childrenOf(tty.pid)) process.kill(pid, "SIGTERM");
    // Should the watch not stop, closing its terminal ends it (SIGHUP), and bpftrace with it.
    const hangup = setTimeout(() => tty.kill("SIGKILL"), 20_000);
    void tty.exited.then(() => clearTimeout(hangup));
    piped.kill("SIGTERM");
    await Promise.all([tty.exited, piped.exited, wrongKind.stop(), otherNamespace.stop(), notSystem.stop()]);
    await cg.remove();
  });

  test("in a terminal: one coloured row within the width, the name's escapes shown, not obeyed", async () => {
    const rowOf = (text: string) => text.split(/\r?\n/).find((l) => l.includes(`${hogPid} `) && l.includes("memcg"));
    await ttyOut.waitFor("the kill's row", (t) => rowOf(t) !== undefined);
    const raw = ttyOut.text;
    const lines = raw.split(/\r?\n/);
    const header = lines.find((l) => l.replace(SGR, "").startsWith("TIME"))!;
    expect(header).toContain("\x1b[1m");
    expect(header.replace(SGR, "")).toMatch(/^TIME +NODE +NAMESPACE +POD +CONTAINER +KIND +VICTIM +TRIGGER +RSS$/);
    const row = rowOf(raw)!;
    const plain = row.replace(SGR, "");
    // The kind is coloured by the table itself; nothing from the process name reached the terminal raw.
    expect(row).toContain("\x1b[33mmemcg");
    expect(raw).not.toContain("\x1b[2J");
    expect(raw).not.toContain("\x1b[31m");
    expect(plain).not.toContain("\x1b");
    // Cut to fit the column: the escapes count as the characters they are shown as.
    expect(plain).toContain(`${hogPid} \\x1b[2J`);
    expect(displayWidth(plain)).toBeLessThanOrEqual(COLUMNS);
    expect(plain).toMatch(/^\d\d:\d\d:\d\d  test-node /);
    // An unnamed pod shows its UID (cut to fit), its container the id's first 12 characters.
    expect(plain).toContain(uid.slice(0, 8));
    expect(plain).toContain(containerId.slice(0, 12));
    expect(plain).toMatch(/ \d+\.\dMi$/);
    // The newline in the name did not start a line of its own.
    expect(lines.filter((l) => l.includes(String(hogPid)))).toHaveLength(1);
  });

  test("through a pipe: no colour, nothing cut, only the chosen columns; filters that keep the kill", async () => {
    await pipedOut.waitFor("the kill's row", (t) => t.includes(`${hogPid} `));
    const lines = pipedOut.text.split("\n");
    expect(lines[0]).toMatch(/^POD +KIND +VICTIM +CGROUP$/);
    const row = lines.find((l) => l.includes(`${hogPid} `))!;
    expect(pipedOut.text).not.toContain("\x1b");
    expect(row.startsWith(uid)).toBe(true);
    expect(row).toContain(`/kubepods/burstable/pod${uid}/${containerId}`);
    expect(row).toContain("memcg");
    expect(row).toContain(`${hogPid} \\x1b[2J\\x1b[31mX\\n`);
  });

  test("run --kind global,cpuset: the memcg kill is counted in metrics but not written", async () => {
    const m = await waitForMetric(wrongKind, /oomtrace_pipeline_events_total\{stage="filter",outcome="skipped",reason="kind"\} (\d+)/);
    expect(m).toBeGreaterThanOrEqual(1);
    expect(await killsCounted(wrongKind)).toBeGreaterThanOrEqual(1);
    expect(wrongKind.eventFor(hogPid)).toBeUndefined();
  });

  test("run -n prod: a kill whose namespace is unknown is not put into prod", async () => {
    const m = await waitForMetric(otherNamespace, /oomtrace_pipeline_events_total\{stage="filter",outcome="skipped",reason="unnamed"\} (\d+)/);
    expect(m).toBeGreaterThanOrEqual(1);
    expect(otherNamespace.eventFor(hogPid)).toBeUndefined();
    // No name source is configured: the agent said at start that nothing would pass.
    expect(otherNamespace.logs.some((l) => l.level === "warn" && String(l.msg).includes("no name source is configured"))).toBe(true);
  });

  test("run -A -n '!kube-system' --kind memcg: the kill is not known to be in kube-system, so it is written", async () => {
    const e = await notSystem.waitFor("event", () => notSystem.eventFor(hogPid));
    expect(e.pod.uid).toBe(uid);
    expect(e.victim.comm).toBe(HOSTILE_COMM);
  });
});

async function killsCounted(a: AgentProcess): Promise<number> {
  const m = /oomtrace_oom_kills_total\{constraint="memcg",scope="container",source="\w+"\} (\d+)/.exec(await a.metrics());
  return Number(m?.[1] ?? 0);
}

async function waitForMetric(a: AgentProcess, re: RegExp): Promise<number> {
  let n = 0;
  const deadline = Date.now() + 30_000;
  while (Date.now() < deadline) {
    n = Number(re.exec(await a.metrics())?.[1] ?? 0);
    if (n > 0) return n;
    await Bun.sleep(200);
  }
  return n;
}
