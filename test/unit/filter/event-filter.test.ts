import { describe, expect, test } from "bun:test";
import { describeFilter, type EventFilter, filterEvent, MATCH_ALL, needsNames } from "../../../src/filter/event-filter.ts";
import { parseSelector } from "../../../src/filter/selector.ts";
import { oomEvent } from "../../helpers/events.ts";

const f = (over: Partial<EventFilter>): EventFilter => ({ ...MATCH_ALL, ...over });
const prod = oomEvent({ names: { namespace: "prod", name: "web-0", labels: { app: "web", tier: "front" }, container: "app" } });
const system = oomEvent({ names: { namespace: "kube-system", name: "coredns-1", labels: { k8s_app: "dns" }, container: "coredns" } });
/** A pod kill no name source knew: pod UID and container id only. */
const unnamed = oomEvent();
/** A kill outside any pod (a systemd service). */
const service = oomEvent({ cgroupPath: "/system.slice/nginx.service" });
/** A kill whose cgroup the kernel did not give at all. */
const unresolved = oomEvent({ cgroupPath: null });

describe("filterEvent", () => {
  test("no filter passes everything, even what has no names", () => {
    for (const e of [prod, system, unnamed, service, unresolved]) expect(filterEvent(MATCH_ALL, e)).toEqual({ pass: true });
    expect(needsNames(MATCH_ALL)).toBe(false);
  });

  test("the fixture events are named as the agent names them", () => {
    expect(prod.identity?.pod?.namespace).toBe("prod");
    expect(prod.identity?.container?.name).toBe("app");
    expect(unnamed.identity?.pod?.uid).toBeTruthy();
    expect(unnamed.identity?.pod?.namespace).toBeNull();
  });

  test("--kind picks kinds of OOM, named or not", () => {
    const memcg = f({ kinds: ["memcg"] });
    expect(filterEvent(memcg, unnamed).pass).toBe(true);
    expect(filterEvent(f({ kinds: ["global", "cpuset"] }), prod)).toEqual({ pass: false, reason: "kind" });
    expect(filterEvent(f({ kinds: ["global"] }), oomEvent({ constraint: "global", cgroupPath: null })).pass).toBe(true);
  });

  test("-n picks namespaces; a kill whose namespace is unknown is never counted into one", () => {
    const only = f({ namespaces: ["prod", "staging"] });
    expect(filterEvent(only, prod).pass).toBe(true);
    expect(filterEvent(only, system)).toEqual({ pass: false, reason: "namespace" });
    expect(filterEvent(only, unnamed)).toEqual({ pass: false, reason: "unnamed" });
    expect(filterEvent(only, service)).toEqual({ pass: false, reason: "unnamed" });
    expect(filterEvent(only, unresolved)).toEqual({ pass: false, reason: "unnamed" });
    expect(needsNames(only)).toBe(true);
  });

  test("-n '!ns' leaves out only kills known to be there; unknown ones are kept", () => {
    const notSystem = f({ excludeNamespaces: ["kube-system"] });
    expect(filterEvent(notSystem, system)).toEqual({ pass: false, reason: "namespace" });
    expect(filterEvent(notSystem, prod).pass).toBe(true);
    expect(filterEvent(notSystem, unnamed).pass).toBe(true);
    expect(filterEvent(notSystem, service).pass).toBe(true);
    expect(needsNames(notSystem)).toBe(false);
    // Include and exclude together: both must hold.
    expect(filterEvent(f({ namespaces: ["prod"], excludeNamespaces: ["prod"] }), prod).pass).toBe(false);
  });

  test("--pod and --container match names, never ids or guesses", () => {
    expect(filterEvent(f({ pods: ["web-0"] }), prod).pass).toBe(true);
    expect(filterEvent(f({ pods: ["web-1"] }), prod)).toEqual({ pass: false, reason: "pod" });
    expect(filterEvent(f({ pods: [unnamed.identity!.pod!.uid!] }), unnamed)).toEqual({ pass: false, reason: "unnamed" });
    expect(filterEvent(f({ containers: ["app"] }), prod).pass).toBe(true);
    expect(filterEvent(f({ containers: ["app"] }), system)).toEqual({ pass: false, reason: "container" });
    expect(filterEvent(f({ containers: ["app"] }), unnamed)).toEqual({ pass: false, reason: "unnamed" });
    // Names for the pod but none for the container: the container is unknown, not "not app".
    const noContainerName = oomEvent({ names: { namespace: "prod", name: "web-0", container: null } });
    expect(filterEvent(f({ containers: ["app"] }), noContainerName)).toEqual({ pass: false, reason: "unnamed" });
  });

  test("-l matches the pod's labels; a negative selector still needs the labels known", () => {
    expect(filterEvent(f({ selector: parseSelector("app=web,tier in (front,back)") }), prod).pass).toBe(true);
    expect(filterEvent(f({ selector: parseSelector("app=web") }), system)).toEqual({ pass: false, reason: "selector" });
    expect(filterEvent(f({ selector: parseSelector("!app") }), system).pass).toBe(true);
    expect(filterEvent(f({ selector: parseSelector("!app") }), unnamed)).toEqual({ pass: false, reason: "unnamed" });
    expect(filterEvent(f({ selector: parseSelector("app!=web") }), service)).toEqual({ pass: false, reason: "unnamed" });
  });

  test("describeFilter says what passes", () => {
    expect(describeFilter(MATCH_ALL)).toBe("every kill");
    expect(describeFilter(f({ kinds: ["memcg"], namespaces: ["prod"], excludeNamespaces: ["kube-system"], selector: parseSelector("a=b,c in (d,e),!f,g") }))).toBe(
      "kind memcg, namespace prod, namespace not kube-system, labels a=b,c in (d,e),!f,g",
    );
  });
});
