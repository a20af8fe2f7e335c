// Reads the real /dev/kmsg, so it needs root (to read and to write test records).
import { describe, expect, spyOn, test } from "bun:test";
import * as fs from "node:fs";
import { readKmsg } from "../../../src/sources/kmsg/reader.ts";

const marker = (tag: string) => `oomtrace-test-${tag}-${crypto.randomUUID()}`;
/** Facility user, level info: what any root process may write. */
const writeKmsg = (text: string) => fs.writeFileSync("/dev/kmsg", `<14>${text}\n`);
const openKmsgFds = () => fs.readdirSync("/proc/self/fd").filter((fd) => {
  try {
    return fs.readlinkSync(`/proc/self/fd/${fd}`) === "/dev/kmsg";
  } catch {
    return false; // the directory's own fd is gone by now
  }
});
const kmsgFds = () => openKmsgFds().length;

async function within<T>(p: Promise<T>, ms: number): Promise<T | "timeout"> {
  let timer: Timer | undefined;
  const timeout = new Promise<"timeout">((r) => (timer = setTimeout(() => r("timeout"), Math.max(ms, 0))));
  try {
    return await Promise.race([p, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

describe("readKmsg on /dev/kmsg", () => {
  test("fromEnd: skips the backlog and yields a record written afterwards within 2 s", async () => {
    const before = marker("before");
    const after = marker("after");
    writeKmsg(before);
    const ac = new AbortController();
    const it = readKmsg({ fromEnd: true, signal: ac.signal })[Symbol.asyncIterator]();
    // The generator opens and drains on its first next(), synchronously.
    const first = it.next();
    const deadline = performance.now() + 2000;
    writeKmsg(after);
    const seen: string[] = [];
    for (let p = first; ; p = it.next()) {
      const r = await within(p, deadline - performance.now());
      if (r === "timeout" || r.done) break;
      seen.push(r.value);
      if (r.value.includes(after)) break;
    }
    ac.abort();
    await it.return?.(undefined);
    expect(seen.some((r) => r.includes(after))).toBe(true);
    expect(seen.some((r) => r.includes(before))).toBe(false);
    expect(seen.find((r) => r.includes(after))).toMatch(/^14,\d+,\d+,[^;]*;oomtrace-test-after-/);
  });

  test("without fromEnd: records already in the log are read", async () => {
    const before = marker("backlog");
    writeKmsg(before);
    const deadline = performance.now() + 2000;
    let found = false;
    const it = readKmsg()[Symbol.asyncIterator]();
    while (!found) {
      const r = await within(it.next(), deadline - performance.now());
      if (r === "timeout" || r.done) break;
      found = r.value.includes(before);
    }
    await it.return?.(undefined);
    expect(found).toBe(true);
  });

  test("abort ends a waiting iterator and closes the fd", async () => {
    const open = kmsgFds();
    const ac = new AbortController();
    const it = readKmsg({ fromEnd: true, signal: ac.signal })[Symbol.asyncIterator]();
    const pending = it.next();
    expect(kmsgFds()).toBe(open + 1);
    setTimeout(() => ac.abort(), 100);
    const t0 = performance.now();
    // Records logged meanwhile by others may come first; the iterator must end soon after the abort.
    let r = await pending;
    while (!r.done && performance.now() - t0 < 1000) r = await it.next();
    expect(r.done).toBe(true);
    expect(performance.now() - t0).toBeLessThan(1000);
    expect(kmsgFds()).toBe(open);
  });

  test("breaking out of for-await closes the fd", async () => {
    const open = kmsgFds();
    for await (const _ of readKmsg()) break;
    expect(kmsgFds()).toBe(open);
  });

  test("an already aborted signal yields nothing", async () => {
    const seen = await Array.fromAsync(readKmsg({ signal: AbortSignal.abort() }));
    expect(seen).toEqual([]);
  });

  test("waiting for records does not block the event loop", async () => {
    const ac = new AbortController();
    const it = readKmsg({ fromEnd: true, signal: ac.signal })[Symbol.asyncIterator]();
    const pending = it.next();
    // The fd is non-blocking (fdinfo flags, octal; O_NONBLOCK is 04000): a read of an empty log cannot park the thread.
    const [fd] = openKmsgFds();
    const flags = /^flags:\s+([0-7]+)$/m.exec(fs.readFileSync(`/proc/self/fdinfo/${fd}`, "utf8"))?.[1];
    // And timers run while it waits. A blocked loop gives none; a loaded CI machine may delay them, so few are asked.
    let ticks = 0;
    const iv = setInterval(() => ticks++, 10);
    await Bun.sleep(300);
    clearInterval(iv);
    ac.abort();
    await pending;
    await it.return?.(undefined);
    expect(flags).toBeDefined();
    expect(Number.parseInt(flags!, 8) & fs.constants.O_NONBLOCK).toBe(fs.constants.O_NONBLOCK);
    expect(ticks).toBeGreaterThanOrEqual(3);
  });

  test("EPIPE (records overwritten) reports the records lost and reading goes on", async () => {
    // Records 41, EPIPE, EPIPE, 50: eight were overwritten. Producing a real overrun would wipe the machine's log.
    const script: (string | "EPIPE")[] = ["6,41,1,-;a\n", "EPIPE", "EPIPE", "6,50,2,-;b\n"];
    const spy = spyOn(fs, "readSync").mockImplementation(((_fd: number, buf: Buffer) => {
      const step = script.shift();
      if (step === undefined) throw Object.assign(new Error("EAGAIN"), { code: "EAGAIN" });
      if (step === "EPIPE") throw Object.assign(new Error("EPIPE: broken pipe, read"), { code: "EPIPE" });
      return buf.write(step);
    }) as unknown as typeof fs.readSync);
    const lost: number[] = [];
    const seen: string[] = [];
    try {
      const it = readKmsg({ onOverrun: (n) => lost.push(n) })[Symbol.asyncIterator]();
      for (let i = 0; i < 2; i++) {
        const r = await within(it.next(), 2000);
        if (r !== "timeout" && !r.done) seen.push(r.value);
      }
      await it.return?.(undefined);
    } finally {
      spy.mockRestore();
    }
    expect(seen).toEqual(["6,41,1,-;a\n", "6,50,2,-;b\n"]);
    expect(lost).toEqual([8]);
  });
});
