// A child's output stream as lines. execa's own line iterator cost 8× this on a kill storm's
// bpftrace output (bench/): every line went through its generator transforms.

/** A line longer than this (no newline in 1 MiB: not bpftrace's output) goes out as it is, so one bad stream cannot grow without bound. */
const MAX_LINE = 1 << 20;

/** The stream's lines without their newline, the last one even without it. */
export async function* splitLines(chunks: AsyncIterable<Uint8Array | string>): AsyncGenerator<string> {
  const dec = new TextDecoder();
  let rest = "";
  for await (const chunk of chunks) {
    rest += typeof chunk === "string" ? chunk : dec.decode(chunk, { stream: true });
    let start = 0;
    for (let i; (i = rest.indexOf("\n", start)) >= 0; start = i + 1) yield rest.slice(start, i);
    rest = rest.slice(start);
    if (rest.length > MAX_LINE) {
      yield rest;
      rest = "";
    }
  }
  rest += dec.decode();
  if (rest) yield rest;
}
