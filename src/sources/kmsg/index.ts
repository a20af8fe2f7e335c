// The kmsg source: OOM kills as the kernel's own log reports them.
import type { KernelKill } from "../../types.ts";
import { KmsgOomAssembler } from "./assemble.ts";
import { parseKmsgRecord } from "./parse.ts";
import { readKmsg } from "./reader.ts";

/** Kills reported in /dev/kmsg from now on (the backlog is skipped). */
export async function* kmsgKills(opts: {
  path: string;
  signal: AbortSignal;
  onOverrun: (lost: number) => void;
  idle?: (signal?: AbortSignal) => Promise<void>;
}): AsyncGenerator<KernelKill> {
  const assembler = new KmsgOomAssembler();
  for await (const raw of readKmsg({ ...opts, fromEnd: true })) {
    const record = parseKmsgRecord(raw);
    const kill = record && assembler.push(record);
    if (kill) yield kill;
  }
}
