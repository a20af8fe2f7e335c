// Tries to attach a probe for real: runs bpftrace with the script until it says it is ready, then stops it (I/O).
import { decodeBpftraceLine } from "../decode/bpftrace-line.ts";
import { decodeRecord } from "../decode/records.ts";
import { type Child, PROBE_ENV, spawnBpftrace } from "../sources/bpftrace/supervisor.ts";

export interface AttachResult {
  attached: boolean;
  /** From start to ready, or to failure. */
  ms: number;
  /** bpftrace's own words when it did not attach. */
  error: string | null;
}

/** True for a ("ready", 1) record: the built-in probe prints it from BEGIN once every probe is attached. */
function isReady(line: string): boolean {
  const d = decodeBpftraceLine(line);
  if (!d.ok || d.value.type !== "value") return false;
  const r = decodeRecord(d.value.data);
  return r.ok && r.value.tag === "ready";
}

/** The lines of stderr that say why, without the RLIMIT_MEMLOCK notice bpftrace always prints here. */
export function attachError(stderr: string[], exit: { code: number | null; signal: string | null }): string {
  const lines = stderr.map((l) => l.trim()).filter((l) => l && !/RLIMIT_MEMLOCK/.test(l) && !/^WARNING:|: WARNING:/.test(l));
  const why = lines.slice(-2).join(" | ");
  return why || `bpftrace exited (${exit.signal ? `signal ${exit.signal}` : `code ${exit.code}`}) before it was ready`;
}

export async function tryAttach(bpftrace: string, script: string, timeoutMs: number, spawn: typeof spawnBpftrace = spawnBpftrace): Promise<AttachResult> {
  const started = Date.now();
  const child: Child = spawn(bpftrace, script, { ...process.env, ...PROBE_ENV } as Record<string, string>);
  const stderr: string[] = [];
  let sawReady: () => void = () => {};
  const ready = new Promise<"ready">((resolve) => (sawReady = () => resolve("ready")));
  const out = (async () => {
    for await (const line of child.lines("stdout")) {
      if (isReady(line)) return sawReady();
    }
  })();
  const errs = (async () => {
    for await (const line of child.lines("stderr")) stderr.push(line);
  })();
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<"timeout">((done) => (timer = setTimeout(done, timeoutMs, "timeout")));
  const first = await Promise.race([ready, child.exited.then(() => "exited" as const), timeout]);
  clearTimeout(timer);
  const ms = Date.now() - started;
  child.kill("SIGTERM");
  const exit = await child.exited;
  await Promise.allSettled([out, errs]);
  if (first === "ready") return { attached: true, ms, error: null };
  if (first === "timeout") return { attached: false, ms, error: `not ready after ${Math.round(timeoutMs / 1000)} s (the machine may be very busy)` };
  return { attached: false, ms, error: attachError(stderr, exit) };
}
