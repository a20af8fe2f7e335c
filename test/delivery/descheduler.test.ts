// The descheduler recipes in docs/: they parse, the oomtrace values pass the chart's schema, and each
// descheduler policy selects exactly the mark the matching oomtrace values write.
import { describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import Ajv from "ajv";
import { CHART, defaultValues, mergeValues, renderChart } from "../../scripts/chart/render.ts";
import { REPO } from "../helpers/runtime-root.ts";

type Obj = Record<string, any>;
const doc = (name: string) => Bun.YAML.parse(readFileSync(join(REPO, "docs/descheduler", name), "utf8")) as Obj;
const envOf = (values: Obj) => {
  const ds = renderChart(values).manifest.split(/^---$/m).map((d) => Bun.YAML.parse(d) as Obj | null).find((d) => d?.kind === "DaemonSet")!;
  return Object.fromEntries(ds.spec.template.spec.containers[0].env.map((e: Obj) => [e.name, e.value]));
};
const profile = (v: Obj) => {
  expect(v.deschedulerPolicyAPIVersion).toBe("descheduler/v1alpha2");
  expect(v.deschedulerPolicy.profiles).toHaveLength(1);
  return v.deschedulerPolicy.profiles[0];
};
const pluginArgs = (p: Obj, name: string) => p.pluginConfig.find((c: Obj) => c.name === name)?.args;

describe("descheduler recipes", () => {
  test("upstream PodLifeTime selects the condition the oomtrace values set", () => {
    const ours = mergeValues(defaultValues(), doc("oomtrace-condition-values.yaml"));
    const schema = JSON.parse(readFileSync(join(CHART, "values.schema.json"), "utf8"));
    const validate = new Ajv({ strict: false }).compile(schema);
    expect(validate(ours), JSON.stringify(validate.errors)).toBe(true);
    const env = envOf(ours);
    const p = profile(doc("descheduler-podlifetime-values.yaml"));
    expect(p.plugins.deschedule.enabled).toEqual(["PodLifeTime"]);
    const conditions = pluginArgs(p, "PodLifeTime").conditions;
    expect(conditions).toEqual([{ type: env.OOMTRACE_VICTIM_CONDITION, status: "True" }]);
    expect(env.OOMTRACE_VICTIM_ANNOTATION).toBe("");
    // The chart grants what the condition needs.
    expect(renderChart(ours).manifest).toContain("resources: [pods/status]");
  });

  test("RemoveAnnotated's key is the one oomtrace's default annotation writes", () => {
    const env = envOf(defaultValues());
    const p = profile(doc("descheduler-removeannotated-values.yaml"));
    expect(p.plugins.deschedule.enabled).toEqual(["RemoveAnnotated"]);
    expect(pluginArgs(p, "RemoveAnnotated").annotationKey).toBe(env.OOMTRACE_VICTIM_ANNOTATION.split("=")[0]);
  });

  test("the doc shows the same policies as the values files", () => {
    const md = readFileSync(join(REPO, "docs/descheduler.md"), "utf8");
    const blocks = [...md.matchAll(/```yaml\n([\s\S]*?)```/g)].map((m) => Bun.YAML.parse(m[1]!) as Obj);
    const withPolicy = blocks.filter((b) => b?.deschedulerPolicy);
    const strip = (v: Obj) => ({ ...v, image: undefined });
    expect(withPolicy.map(strip)).toEqual([doc("descheduler-podlifetime-values.yaml"), doc("descheduler-removeannotated-values.yaml")].map(strip));
  });
});
