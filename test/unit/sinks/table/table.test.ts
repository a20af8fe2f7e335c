process.env.TZ = "UTC";
import { describe, expect, test } from "bun:test";
import { COLUMNS, DEFAULT_FIELDS, FIELDS, humanKb, rssKb } from "../../../../src/sinks/table/columns.ts";
import { type ColumnSpec, fitColumns, GAP } from "../../../../src/sinks/table/fit.ts";
import { TableLayout, tableSink } from "../../../../src/sinks/table/index.ts";
import { displayWidth, pad, printable, truncate } from "../../../../src/sinks/table/text.ts";
import { kernelKill, oomEvent } from "../../../helpers/events.ts";

describe("printable", () => {
  test("control, escape, bidi and separator characters are shown as escapes; plain text is untouched", () => {
    expect(printable("python3")).toBe("python3");
    expect(printable("日本語 ok")).toBe("日本語 ok");
    expect(printable("\x1b[31mred\x1b[0m")).toBe("\\x1b[31mred\\x1b[0m");
    expect(printable("a\nb\r\tc\x00\x7f\x9b")).toBe("a\\nb\\r\\tc\\x00\\x7f\\x9b");
    expect(printable("evil\u202eexe.txt")).toBe("evil\\u{202e}exe.txt");
    expect(printable("zero\u200bwidth\u2028line")).toBe("zero\\u{200b}width\\u{2028}line");
    // A literal backslash cannot pose as an escape.
    expect(printable("\\x1b")).toBe("\\\\x1b");
  });

  test("nothing printable() gives contains a character a terminal acts on", () => {
    let all = "";
    for (let c = 0; c < 0x3000; c++) all += String.fromCodePoint(c);
    expect(printable(all)).not.toMatch(/[\p{Cc}\p{Cf}\p{Zl}\p{Zp}]/u);
  });
});

describe("truncate and pad", () => {
  test("cut by display width, ending with …", () => {
    expect(truncate("abcdef", 6)).toBe("abcdef");
    expect(truncate("abcdefg", 6)).toBe("abcde…");
    expect(truncate("日本語テキスト", 6)).toBe("日本…");
    expect(displayWidth(truncate("日本語テキスト", 6))).toBeLessThanOrEqual(6);
    expect(truncate("e\u0301e\u0301e\u0301", 2)).toBe("e\u0301…");
    expect(truncate("abc", 0)).toBe("");
    expect(pad("日本", 6, "left")).toBe("日本  ");
    expect(pad("42", 5, "right")).toBe("   42");
  });
});

describe("fitColumns", () => {
  const spec = (min: number, ideal: number, max: number, drop: number | null): ColumnSpec => ({ min, ideal, max, drop });
  const specs = [spec(8, 8, 8, null), spec(6, 12, 40, 1), spec(10, 20, 60, null), spec(6, 10, 10, 2)];
  const used = (w: { width: number }[]) => w.reduce((a, b) => a + b.width, 0) + GAP * (w.length - 1);

  test("no terminal: every column at its ideal width", () => {
    expect(fitColumns(specs, Infinity).map((c) => c.width)).toEqual([8, 12, 20, 10]);
  });

  test("a wide terminal: ideal first, then up to each maximum, never past the width", () => {
    const w = fitColumns(specs, 80);
    expect(w.map((c) => c.index)).toEqual([0, 1, 2, 3]);
    expect(used(w)).toBe(80);
    expect(w.every((c) => c.width >= specs[c.index]!.ideal && c.width <= specs[c.index]!.max)).toBe(true);
    expect(fitColumns(specs, 1000).map((c) => c.width)).toEqual([8, 40, 60, 10]);
  });

  test("a narrow terminal: the least needed columns go first, the rest share what is left", () => {
    expect(fitColumns(specs, 36).map((c) => c.index)).toEqual([0, 1, 2, 3]);
    expect(fitColumns(specs, 35).map((c) => c.index)).toEqual([0, 2, 3]);
    expect(fitColumns(specs, 22).map((c) => c.index)).toEqual([0, 2]);
    // Narrower than the columns that are never dropped: they stay at their minimum.
    expect(fitColumns(specs, 5).map((c) => c.width)).toEqual([8, 10]);
    for (const width of [20, 30, 40, 50, 60]) expect(used(fitColumns(specs, width))).toBeLessThanOrEqual(Math.max(width, 20));
  });
});

describe("columns", () => {
  test("cells of a named kill and of an unnamed one", () => {
    const named = oomEvent({ names: { namespace: "prod", name: "web-0", container: "app" } });
    const cells = (e: typeof named) => Object.fromEntries(FIELDS.map((f) => [f, COLUMNS[f].cell(e)]));
    expect(cells(named)).toEqual({
      time: "09:14:03",
      node: "worker-1",
      namespace: "prod",
      pod: "web-0",
      container: "app",
      kind: "memcg",
      scope: "container",
      victim: "4042 python3",
      trigger: "4084 java",
      rss: "72.8Mi",
      source: "bpftrace",
      cgroup: named.kill.cgroupPath!,
    });
    const unnamed = oomEvent();
    expect(cells(unnamed)).toMatchObject({ namespace: "-", pod: unnamed.identity!.pod!.uid, container: unnamed.identity!.container!.id!.slice(0, 12) });
    const service = oomEvent({ cgroupPath: "/system.slice/nginx.service" });
    expect(cells(service)).toMatchObject({ namespace: "-", pod: "-", container: "nginx.service" });
    const bare = { ...oomEvent({ cgroupPath: null }), kill: kernelKill({ cgroupPath: null, trigger: { pid: null, tid: null, comm: null }, victim: { pid: 7, tid: null, comm: null, memory: { ...kernelKill().victim.memory, anonRssKb: null, fileRssKb: null, shmemRssKb: null } } }) };
    expect(cells(bare)).toMatchObject({ pod: "-", container: "-", victim: "7 ?", trigger: "-", rss: "-", cgroup: "-" });
  });

  test("memory in binary units", () => {
    expect(humanKb(512)).toBe("512Ki");
    expect(humanKb(68224)).toBe("66.6Mi");
    expect(humanKb(1048575)).toBe("1024Mi");
    expect(humanKb(1000 * 1024)).toBe("1000Mi");
    expect(humanKb(999 * 1024)).toBe("999.0Mi");
    expect(humanKb(3 * 1024 * 1024)).toBe("3.0Gi");
    expect(rssKb(oomEvent())).toBe(68200 + 6312);
  });
});

describe("TableLayout and tableSink", () => {
  const hostile = { ...oomEvent(), kill: kernelKill({ victim: { ...kernelKill().victim, comm: "\x1b[2J\x1b]0;owned\x07\n" } }) };

  test("every row fits the terminal and is one line, however hostile its text", () => {
    for (const width of [40, 60, 80, 100, 120, 200]) {
      const t = new TableLayout(DEFAULT_FIELDS, width, false);
      for (const line of [t.header(), t.row(hostile), t.row(oomEvent({ names: { namespace: "日本語".repeat(10), name: "p".repeat(63) } }))]) {
        expect(line.endsWith("\n")).toBe(true);
        expect(line.slice(0, -1)).not.toMatch(/[\p{Cc}]/u);
        expect(displayWidth(line.slice(0, -1))).toBeLessThanOrEqual(width < 70 ? 70 : width);
      }
    }
  });

  test("header and row line up; colour only when asked, and only the table's own", () => {
    const t = new TableLayout(["pod", "kind", "rss"], 40, false);
    const header = t.header();
    const row = t.row(oomEvent({ names: { namespace: "prod", name: "web-0" } }));
    expect(header.indexOf("KIND")).toBe(row.indexOf("memcg"));
    expect(row.trimEnd().endsWith("72.8Mi")).toBe(true);
    const c = new TableLayout(["pod", "kind"], 40, true);
    expect(c.header()).toContain("\x1b[1mPOD");
    expect(c.row(oomEvent({ constraint: "global" }))).toContain("\x1b[1;31mglobal");
    expect(c.row(hostile).replace(/\x1b\[[0-9;]*m/g, "")).not.toContain("\x1b");
  });

  test("the sink prints the header at once, and again when the terminal's width changes", () => {
    let width = 80;
    const out: string[] = [];
    const sink = tableSink({ fields: DEFAULT_FIELDS, width: () => width, color: false, write: (s) => out.push(s) });
    expect(out).toHaveLength(1);
    void sink.write(oomEvent());
    void sink.write(oomEvent());
    width = 160;
    void sink.write(oomEvent());
    expect(out.filter((l) => l.startsWith("TIME"))).toHaveLength(2);
    expect(out).toHaveLength(5);
  });
});
