// The early-warning loop: find the containers, sample each one every interval, fit its growth,
// and say when it crosses a threshold (I/O at the edges; the decisions are in src/predict).
import type { CgroupIdentity, PressureEvent, TimeToOom } from "../../types.ts";
import { fitGrowth, SampleWindow, timeToOom } from "../../predict/growth.ts";
import { containerKey, ContainerPressure, WarningLinks, type PressureThresholds } from "../../predict/warn.ts";
import { findContainers, hierarchyOf, type ContainerCgroup, type Hierarchy } from "./cgroups.ts";
import { MemorySampler } from "./sampler.ts";
import type { Heartbeat } from "../../heartbeat.ts";

export interface PressureOptions {
  /** Where the walk for container cgroups starts. */
  walkRoot: string;
  intervalMs: number;
  windowMs: number;
  thresholds: PressureThresholds;
  node: string;
  /** A crossing: the first sample of an episode that crosses a threshold. */
  onWarning(event: PressureEvent): void;
  /** Each sample's estimate (null: none with enough confidence); the gauge follows it. */
  onEstimate(c: ContainerCgroup, estimate: TimeToOom | null): void;
  /** A container that could not be read, other than by going away. */
  onError(c: ContainerCgroup, error: Error): void;
  /** Wall clock (events) and a monotonic clock (fits), in ms. */
  clock?: () => { wallMs: number; monoMs: number };
}

/** New containers are found at most this long after they start; limits are re-read as often. */
export const DISCOVERY_MS = 5000;

/** How long after its episode ends, or its cgroup goes, a warning still links to a kill. */
export const LINK_GRACE_MS = 120_000;

interface Tracked {
  cgroup: ContainerCgroup;
  key: string | null;
  limitBytes: number;
  window: SampleWindow;
  pressure: ContainerPressure;
}

const defaultClock = () => ({ wallMs: Date.now(), monoMs: performance.now() });

export class PressureMonitor {
  readonly hierarchy: Hierarchy;
  private readonly sampler: MemorySampler;
  private readonly tracked = new Map<string, Tracked>();
  private readonly links = new WarningLinks(LINK_GRACE_MS);
  private readonly clock: () => { wallMs: number; monoMs: number };
  private lastDiscovery = -Infinity;
  private timer: ReturnType<typeof setInterval> | null = null;
  private stopBeat: (() => void) | null = null;

  /** Throws HierarchyError when `walkRoot` is not in a memory cgroup hierarchy. */
  constructor(private readonly o: PressureOptions) {
    this.hierarchy = hierarchyOf(o.walkRoot);
    this.sampler = new MemorySampler(this.hierarchy.version);
    this.clock = o.clock ?? defaultClock;
  }

  get containers(): number {
    return this.tracked.size;
  }

  /** Samples now and then every interval: at `heartbeat`'s beats when it beats at that interval. */
  start(heartbeat?: Heartbeat): void {
    this.tick();
    if (heartbeat?.periodMs === this.o.intervalMs) this.stopBeat = heartbeat.every(() => this.tick());
    else this.timer = setInterval(() => this.tick(), this.o.intervalMs);
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    this.stopBeat?.();
    this.stopBeat = null;
    this.sampler.close();
  }

  /** The warning that preceded a kill at `killTime` in this container, if any. */
  warningFor(identity: CgroupIdentity | null, killTime: Date): PressureEvent | null {
    return this.links.find(containerKey(identity), killTime.getTime());
  }

  tick(): void {
    const now = this.clock();
    if (now.monoMs - this.lastDiscovery >= DISCOVERY_MS) {
      this.discover(now.wallMs);
      this.lastDiscovery = now.monoMs;
    }
    this.sampleAll(now);
  }

  /** Walks the tree: adds new containers, drops those gone, re-reads limits (they can be resized). */
  discover(wallMs = this.clock().wallMs): void {
    const seen = new Set<string>();
    for (const c of findContainers(this.o.walkRoot, this.hierarchy)) {
      seen.add(c.dir);
      let limitBytes: number;
      try {
        limitBytes = this.sampler.limit(c);
      } catch {
        continue; // Gone between the walk and the read.
      }
      const t = this.tracked.get(c.dir);
      // A container without a limit cannot run out of its own: nothing to predict, nothing to read.
      if (!Number.isFinite(limitBytes)) {
        if (t) this.forget(t, wallMs);
      } else if (t) t.limitBytes = limitBytes;
      else this.tracked.set(c.dir, this.track(c, limitBytes));
    }
    for (const t of this.tracked.values()) if (!seen.has(t.cgroup.dir)) this.forget(t, wallMs);
    this.links.prune(wallMs);
  }

  /** One sample of every container: what a benchmark times. */
  sampleAll(now = this.clock()): void {
    for (const t of this.tracked.values()) {
      let sample;
      try {
        sample = this.sampler.sample(t.cgroup, t.limitBytes);
      } catch (e) {
        const code = (e as NodeJS.ErrnoException).code;
        // ENOENT: removed; ENODEV: removed while open. Either way the container is gone.
        if (code !== "ENOENT" && code !== "ENODEV") this.o.onError(t.cgroup, e as Error);
        this.forget(t, now.wallMs);
        continue;
      }
      t.window.push(now.monoMs / 1000, sample.workingSetBytes);
      const fit = fitGrowth(t.window);
      const estimate = fit && timeToOom(fit, t.limitBytes);
      this.o.onEstimate(t.cgroup, estimate && estimate.confidence >= this.o.thresholds.minConfidence ? estimate : null);
      const { change, reasons } = t.pressure.update(sample, estimate, now.monoMs);
      if (change === "start") {
        const event: PressureEvent = {
          time: new Date(now.wallMs),
          node: this.o.node,
          cgroupPath: t.cgroup.path,
          identity: t.cgroup.identity,
          names: null,
          reasons,
          sample,
          estimate,
        };
        if (t.key) this.links.started(t.key, event);
        this.o.onWarning(event);
      } else if (change === "end" && t.key) this.links.ended(t.key, now.wallMs);
    }
  }

  private track(cgroup: ContainerCgroup, limitBytes: number): Tracked {
    const { intervalMs, windowMs } = this.o;
    return {
      cgroup,
      key: containerKey(cgroup.identity),
      limitBytes,
      window: new SampleWindow(Math.ceil(windowMs / intervalMs) + 2, windowMs / 1000),
      // An episode ends after a window's worth of quiet: by then the fit no longer sees the growth.
      pressure: new ContainerPressure(this.o.thresholds, windowMs),
    };
  }

  private forget(t: Tracked, wallMs: number): void {
    this.tracked.delete(t.cgroup.dir);
    this.sampler.release(t.cgroup);
    if (t.key) this.links.ended(t.key, wallMs);
    this.o.onEstimate(t.cgroup, null);
  }
}
