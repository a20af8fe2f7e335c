// The container command shown in a pod Event: hostile pod specs must not break, hide or leak anything.
import { describe, expect, test } from "bun:test";
import { COMMAND_LINE_MAX, commandLineNote, specCommandLine } from "../../../src/kube/command-line.ts";

/** Anything a terminal, a log line or a UI would act on or hide. */
const HIDDEN = /[\u0000-\u001f\u007f-\u009f\u200b-\u200f\u2028-\u202e\u2060-\u206f\ufeff]|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

describe("specCommandLine", () => {
  test("command then args, each quoted; args alone follow the image's entrypoint; neither says so", () => {
    expect(specCommandLine({ name: "app", command: ["sh", "-c"], args: ["exec java -jar /app.jar"] })).toBe('"sh" "-c" "exec java -jar /app.jar"');
    expect(specCommandLine({ name: "app", command: ["/bin/server"] })).toBe('"/bin/server"');
    expect(specCommandLine({ name: "app", args: ["--port", "8080"] })).toBe(`(the image's entrypoint) "--port" "8080"`);
    expect(specCommandLine({ name: "app", command: [], args: [] })).toBe("(the image's entrypoint and cmd)");
    expect(specCommandLine({ name: "app", command: null })).toBe("(the image's entrypoint and cmd)");
    expect(specCommandLine({ name: "app", command: [""] })).toBe('""');
  });

  test("$(VAR) references stay as written, escaped $$(VAR) too; env is never read", () => {
    const c = { name: "app", command: ["app"], args: ["--password=$(DB_PASSWORD)", "$$(LITERAL)"], env: [{ name: "DB_PASSWORD", value: "hunter2" }], envFrom: [{ secretRef: { name: "s" } }] };
    const line = specCommandLine(c)!;
    expect(line).toBe('"app" "--password=$(DB_PASSWORD)" "$$(LITERAL)"');
    expect(line).not.toContain("hunter2");
    // A getter on env would throw if it were touched.
    const trap = { command: ["x"], get env(): never { throw new Error("env was read"); } };
    expect(specCommandLine(trap)).toBe('"x"');
  });

  test("malformed containers say nothing", () => {
    for (const bad of [null, undefined, 42, "sh -c x", { command: "sh -c x" }, { command: ["ok", 1] }, { args: [{ $ne: 1 }] }, { command: ["a"], args: "b" }])
      expect(specCommandLine(bad)).toBeNull();
  });

  test("control, bidi, zero-width characters, separators and lone surrogates are escaped; quotes and backslashes too", () => {
    const hostile = ["a\nb\r\tc", "\u001b[31mred\u001b[0m", "evil\u202egpj.exe", "zero\u200bwidth", "line\u2028sep", "\u0085nel\u009b", "\ud800lone", "tail\udfff", 'q"uote\\', "\u0000nul\u007f", "bom\ufeff"];
    const line = specCommandLine({ command: hostile })!;
    expect(line).not.toMatch(HIDDEN);
    expect(line).toBe(
      '"a\\nb\\r\\tc" "\\u001b[31mred\\u001b[0m" "evil\\u202egpj.exe" "zero\\u200bwidth" "line\\u2028sep" "\\u0085nel\\u009b" "\\ud800lone" "tail\\udfff" "q\\"uote\\\\" "\\u0000nul\\u007f" "bom\\ufeff"',
    );
    // Other scripts and emoji are text, shown as they are.
    expect(specCommandLine({ command: ["grüße", "日本", "😀"] })).toBe('"grüße" "日本" "😀"');
  });

  test("cut to COMMAND_LINE_MAX characters, never inside an escape or a surrogate pair, however long the spec", () => {
    const many = specCommandLine({ command: ["x"], args: Array.from({ length: 100_000 }, (_, i) => `--arg${i}`) })!;
    expect(many.length).toBeLessThanOrEqual(COMMAND_LINE_MAX + 4);
    expect(many).toEndWith(" ...");
    for (const fill of ["\u001b", "😀", "a"]) {
      for (let pad = 0; pad < 8; pad++) {
        const line = specCommandLine({ command: ["y".repeat(pad) + fill.repeat(400)] })!;
        expect(line.length).toBeLessThanOrEqual(COMMAND_LINE_MAX + 4);
        expect(line).toEndWith(" ...");
        expect(line).not.toMatch(HIDDEN);
        const body = line.slice(0, -4);
        // A cut escape would end in a partial \uXXXX.
        expect(body).not.toMatch(/\\(u[0-9a-f]{0,3})?$/);
      }
    }
  });
});

describe("commandLineNote", () => {
  test("labels the command as the pod spec's, not necessarily the killed process's; a hostile container name is escaped", () => {
    expect(commandLineNote("app", '"java"')).toBe('Command of container "app" in the pod spec (not necessarily the killed process; $(VAR) references unexpanded): "java".');
    const note = commandLineNote('x"\n\u202e', '"a"');
    expect(note).toStartWith('Command of container "x\\"\\n\\u202e" in the pod spec');
    expect(note).not.toMatch(HIDDEN);
    expect(commandLineNote("n".repeat(10_000), '"a"').length).toBeLessThan(400);
  });
});
