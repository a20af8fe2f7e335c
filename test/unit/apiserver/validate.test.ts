import { describe, expect, test } from "bun:test";
import { ApiError, fieldErrors, invalid } from "../../apiserver/status.ts";
import { decodeTimes, formatMicroTime, isMicroTime, isTime, validateEvent, validateEventUpdate, validateName, validatePodSpecUpdate } from "../../apiserver/validate.ts";

describe("time formats", () => {
  test.each([
    ["2025-01-02T03:04:05.123456Z", true],
    ["2025-01-02T03:04:05.123456+02:00", true],
    ["2025-01-02T03:04:05.123Z", false],
    ["2025-01-02T03:04:05Z", false],
    ["2025-01-02T03:04:05.1234567Z", false],
    ["2025-01-02 03:04:05.123456Z", false],
    ["2025-13-02T03:04:05.123456Z", false],
  ])("MicroTime %p -> %p", (v, ok) => {
    expect(isMicroTime(v)).toBe(ok);
  });

  test.each([
    ["2025-01-02T03:04:05Z", true],
    ["2025-01-02T03:04:05.5Z", true],
    ["2025-01-02T03:04:05-07:00", true],
    ["2025-01-02T03:04:05", false],
    ["yesterday", false],
  ])("Time %p -> %p", (v, ok) => {
    expect(isTime(v)).toBe(ok);
  });

  test("MicroTime is normalized to UTC with the microseconds kept", () => {
    expect(formatMicroTime("2025-01-02T03:04:05.123456+02:00")).toBe("2025-01-02T01:04:05.123456Z");
  });

  test("decodeTimes normalizes, and rejects a millisecond eventTime with Go's parse error as a 400", () => {
    const ev: Record<string, any> = { eventTime: "2025-01-02T03:04:05.000001Z", firstTimestamp: "2025-01-02T05:04:05.9+02:00", series: { lastObservedTime: null } };
    decodeTimes(ev, "Event", "v1", ["eventTime", "series.lastObservedTime"], ["firstTimestamp"]);
    expect(ev).toEqual({ eventTime: "2025-01-02T03:04:05.000001Z", firstTimestamp: "2025-01-02T03:04:05Z", series: { lastObservedTime: null } });
    try {
      decodeTimes({ eventTime: "2025-01-02T03:04:05.123Z" }, "Event", "v1", ["eventTime"], []);
      throw new Error("accepted");
    } catch (e) {
      expect(e).toBeInstanceOf(ApiError);
      const s = (e as ApiError).status;
      expect(s.code).toBe(400);
      expect(s.reason).toBe("BadRequest");
      expect(s.message).toBe(
        'Event in version "v1" cannot be handled as a Event: parsing time "2025-01-02T03:04:05.123Z" as "2006-01-02T15:04:05.000000Z07:00": cannot parse ".123Z" as ".000000"',
      );
    }
  });
});

describe("event validation", () => {
  const good = {
    metadata: { name: "web-1.abc", namespace: "shop" },
    involvedObject: { kind: "Pod", namespace: "shop", name: "web-1" },
    eventTime: "2025-01-02T03:04:05.000001Z",
    reportingComponent: "oomtrace.io/agent",
    reportingInstance: "oomtrace-n1",
    action: "Killed",
    reason: "OOMKilled",
    type: "Warning",
    firstTimestamp: null,
    lastTimestamp: null,
    source: {},
  };
  const fields = (errs: ReturnType<typeof validateEvent>) => errs.map((e) => `${e.field}: ${e.body}`);

  test("a complete events.k8s.io/v1 event passes both levels", () => {
    expect(validateEvent(good, true)).toEqual([]);
    expect(validateEvent(good, false)).toEqual([]);
  });

  test("events.k8s.io/v1: required fields, named as the server names them", () => {
    const { reportingComponent: _, reportingInstance: __, action: ___, reason: ____, ...rest } = good;
    expect(fields(validateEvent({ ...rest, type: "Info" }, true))).toEqual([
      "reportingController: Required value",
      `reportingController: Invalid value: "": name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')`,
      "reportingInstance: Required value",
      "action: Required value",
      "reason: Required value",
      'type: Invalid value: "": has invalid value: Info',
    ]);
  });

  test("events.k8s.io/v1: eventTime required; the deprecated fields must be unset", () => {
    const { eventTime: _, ...noTime } = good;
    const errs = fields(validateEvent({ ...noTime, count: 3, firstTimestamp: "2025-01-02T03:04:05Z", source: { component: "x" } }, true));
    expect(errs).toContain("eventTime: Required value");
    expect(errs).toContain('firstTimestamp: Invalid value: "": needs to be unset');
    expect(errs).toContain('count: Invalid value: "": needs to be unset');
    expect(errs).toContain('source: Invalid value: "": needs to be unset');
  });

  test("the involved object's namespace must match (events outside default/kube-system)", () => {
    const errs = fields(validateEvent({ ...good, involvedObject: { kind: "Node", name: "n1" } }, true));
    expect(errs).toEqual(['involvedObject.namespace: Invalid value: "": does not match event.namespace']);
    expect(validateEvent({ ...good, metadata: { name: "x", namespace: "default" }, involvedObject: { kind: "Node", name: "n1" } }, true)).toEqual([]);
  });

  test("core/v1 without eventTime: only the namespace rule applies (legacy clients)", () => {
    const legacy = { metadata: { name: "x", namespace: "shop" }, involvedObject: { kind: "Pod", namespace: "shop", name: "p" }, reason: "R", count: 1 };
    expect(validateEvent(legacy, false)).toEqual([]);
    expect(fields(validateEvent({ ...legacy, involvedObject: { kind: "Pod", namespace: "other", name: "p" } }, false))).toEqual([
      'involvedObject.namespace: Invalid value: "other": does not match event.namespace',
    ]);
  });

  test("core/v1 with eventTime: the new-style fields are required there too", () => {
    const e = { metadata: { name: "x", namespace: "shop" }, involvedObject: { namespace: "shop" }, eventTime: "2025-01-02T03:04:05.000001Z", reason: "R", reportingComponent: "c" };
    expect(fields(validateEvent(e, false))).toEqual(["reportingInstance: Required value", "action: Required value"]);
  });

  test("events.k8s.io/v1 updates may not change immutable fields; series may change", () => {
    expect(validateEventUpdate({ ...good, series: { count: 2, lastObservedTime: good.eventTime } }, good, true)).toEqual([]);
    expect(fields(validateEventUpdate({ ...good, reason: "Other", reportingComponent: "x.io/y" }, good, true))).toEqual([
      'reason: Invalid value: "Other": field is immutable',
      'reportingController: Invalid value: "x.io/y": field is immutable',
    ]);
    expect(validateEventUpdate({ ...good, reason: "Other" }, good, false)).toEqual([]);
  });
});

describe("pods and names", () => {
  test("pod spec is immutable except images and a few fields", () => {
    const pod = { spec: { nodeName: "n1", containers: [{ name: "app", image: "a:1" }], tolerations: [] } };
    expect(validatePodSpecUpdate({ spec: { ...pod.spec, containers: [{ name: "app", image: "a:2" }], activeDeadlineSeconds: 5 } }, pod)).toEqual([]);
    expect(validatePodSpecUpdate({ spec: { containers: [{ image: "a:1", name: "app" }], tolerations: [], nodeName: "n1" } }, pod)).toEqual([]);
    const errs = validatePodSpecUpdate({ spec: { ...pod.spec, nodeName: "n2" } }, pod);
    expect(errs).toHaveLength(1);
    expect(errs[0]!.body).toStartWith("Forbidden: pod updates may not change fields other than `spec.containers[*].image`");
  });

  test("names are DNS subdomains", () => {
    expect(validateName("web-1.oom.x")).toEqual([]);
    expect(validateName("")).toEqual([fieldErrors.required("metadata.name", "name or generateName is required")]);
    expect(validateName("Web_1")[0]!.body).toStartWith('Invalid value: "Web_1": a lowercase RFC 1123 subdomain');
  });

  test("422 Status: one error inline, several in brackets, causes listed", () => {
    const one = invalid({ group: "", kind: "Pod" }, "p", [fieldErrors.required("spec.containers")]);
    expect(one.message).toBe('Pod "p" is invalid: spec.containers: Required value');
    const two = invalid({ group: "events.k8s.io", kind: "Event" }, "e", [fieldErrors.required("eventTime"), fieldErrors.invalid("type", "", "has invalid value: X")]);
    expect(two).toEqual({
      kind: "Status",
      apiVersion: "v1",
      metadata: {},
      status: "Failure",
      message: 'Event.events.k8s.io "e" is invalid: [eventTime: Required value, type: Invalid value: "": has invalid value: X]',
      reason: "Invalid",
      code: 422,
      details: {
        name: "e",
        group: "events.k8s.io",
        kind: "Event",
        causes: [
          { type: "FieldValueRequired", message: "Required value", field: "eventTime" },
          { type: "FieldValueInvalid", message: 'Invalid value: "": has invalid value: X', field: "type" },
        ],
      },
    });
  });
});
