// The Go-template subset that renders the chart without helm (scripts/chart/template.ts).
import { describe, expect, test } from "bun:test";
import { renderTemplates, TemplateError } from "../../../scripts/chart/template.ts";

type Obj = Record<string, unknown>;
describe("template engine", () => {
  const one = (src: string, values: Obj = {}) => renderTemplates({ "t.yaml": src }, { Values: values, Release: {}, Chart: {} })["t.yaml"];
  test("trims whitespace as Go does around {{- and -}}", () => {
    expect(one("a\n  {{- if .Values.x }}\n  b\n  {{- end }}\nc", { x: true })).toBe("a\n  b\nc");
    expect(one("a {{- /* c */ -}} b")).toBe("ab");
  });
  test("if/else if/else, with, range, pipelines and functions", () => {
    expect(one("{{ if .Values.a }}A{{ else if .Values.b }}B{{ else }}C{{ end }}", { b: 1 })).toBe("B");
    expect(one("{{ with .Values.m }}{{ .k }}{{ end }}", { m: { k: "v" } })).toBe("v");
    expect(one("{{ range .Values.l }}[{{ . }}]{{ end }}", { l: [1, 2] })).toBe("[1][2]");
    expect(one('{{ .Values.s | default "d" | quote }}', { s: "" })).toBe('"d"');
    expect(one("{{ toYaml .Values.o | nindent 2 }}", { o: { b: 1, a: [2] } })).toBe("\n  a:\n    - 2\n  b: 1");
    expect(one('{{ printf "%s-%d" "x" 3 | trunc 3 | trimSuffix "-" }}')).toBe("x-3");
  });
  test("anything outside the subset is an error, not a guess", () => {
    expect(() => one("{{ .Values.a | b64enc }}", { a: "x" })).toThrow(TemplateError);
    expect(() => one("{{ template \"x\" . }}")).toThrow(/outside the supported subset/);
    expect(() => one("{{ if .Values.a }}")).toThrow(/without end/);
  });
  test("define/include with its own dot and $, variables, and Helm's empty rendering of a missing value", () => {
    const files = {
      "_h.tpl": '{{- define "n" -}}{{ $x := .a }}{{ $x }}-{{ $.b }}{{- end -}}',
      "t.yaml": '{{ include "n" .Values.m }}|{{ .Values.missing.deeper }}|',
    };
    expect(renderTemplates(files, { Values: { m: { a: 1, b: 2 } } })["t.yaml"]).toBe("1-2||");
    expect(renderTemplates(files, { Values: { m: { a: 1, b: 2 } } })).not.toHaveProperty("_h.tpl");
    expect(() => one("{{ $nope }}")).toThrow(/undefined variable/);
    expect(() => one('{{ include "nope" . }}')).toThrow(/undefined template/);
  });
  test("truthiness as Go's: empty lists, maps, strings and zero are false", () => {
    for (const v of [[], {}, "", 0, false, null]) expect(one("{{ if .Values.v }}T{{ else }}F{{ end }}", { v })).toBe("F");
    for (const v of [[0], { a: 1 }, "x", 1, true]) expect(one("{{ if .Values.v }}T{{ else }}F{{ end }}", { v })).toBe("T");
  });
});
