// A container's command and args as its pod spec writes them, for the pod's Event (pure).
// Only `command` and `args` are read, never `env`. `$(VAR)` references stay as written: kubelet
// expands them from the environment when the container starts, and the expansion may be a secret.
// The spec is untrusted text: every character that could hide, reorder or break a line is escaped,
// and the length is bounded.

/** At most this many characters of command and args in a message. */
export const COMMAND_LINE_MAX = 300;

/** C0/C1 controls, DEL, zero-width and bidi format characters, line/paragraph separators, BOM, lone surrogates. */
const UNSAFE = /^(?:[\u0000-\u001f\u007f-\u009f\u00ad\u061c\u180e\u200b-\u200f\u2028-\u202e\u2060-\u206f\ufeff\ufff9-\ufffb]|[\ud800-\udfff])$/;
const SHORT: Record<string, string> = { "\n": "\\n", "\r": "\\r", "\t": "\\t", '"': '\\"', "\\": "\\\\" };

/** One character (code point) as it may be shown; a lone surrogate arrives here alone and is escaped. */
function shown(ch: string): string {
  if (SHORT[ch]) return SHORT[ch];
  return UNSAFE.test(ch) ? `\\u${ch.charCodeAt(0).toString(16).padStart(4, "0")}` : ch;
}

/** A list of strings from the pod spec; undefined when absent, null when it is not a list of strings. */
function strings(v: unknown): string[] | undefined | null {
  if (v === undefined || v === null) return undefined;
  return Array.isArray(v) && v.every((s) => typeof s === "string") ? v : null;
}

/**
 * `"python3" "-m" "worker"` from a container of the pod spec: the command, then the args; args alone
 * follow the image's entrypoint. Each argument quoted and escaped, the whole cut to COMMAND_LINE_MAX
 * characters. Null when the container is malformed (nothing true can be said).
 */
export function specCommandLine(container: unknown): string | null {
  if (!container || typeof container !== "object") return null;
  const c = container as { command?: unknown; args?: unknown };
  const command = strings(c.command);
  const args = strings(c.args);
  if (command === null || args === null) return null;
  if (!command?.length && !args?.length) return "(the image's entrypoint and cmd)";
  let out = command?.length ? "" : "(the image's entrypoint)";
  for (const arg of [...(command ?? []), ...(args ?? [])]) {
    const piece = `${out ? " " : ""}"`;
    if (out.length + piece.length > COMMAND_LINE_MAX) return `${out} ...`;
    out += piece;
    // Code point by code point, so that a cut never splits an escape or a surrogate pair.
    for (const ch of arg) {
      const s = shown(ch);
      if (out.length + s.length > COMMAND_LINE_MAX) return `${out} ...`;
      out += s;
    }
    if (out.length + 1 > COMMAND_LINE_MAX) return `${out} ...`;
    out += '"';
  }
  return out;
}

/** The sentence a pod Event gets with --event-command-line, labelled for what it is. */
export function commandLineNote(containerName: string, commandLine: string): string {
  const name = `"${Array.from(containerName.slice(0, 253), shown).join("")}"`;
  return `Command of container ${name} in the pod spec (not necessarily the killed process; $(VAR) references unexpanded): ${commandLine}.`;
}
