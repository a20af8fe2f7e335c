// Cell text for a terminal (pure): untrusted strings made inert, measured and cut by display width.

/** Control characters (C0, DEL, C1, which include ESC and CSI), invisible format characters (bidi overrides, zero-width) and line separators. */
const UNSAFE = /[\p{Cc}\p{Cf}\p{Zl}\p{Zp}\\]/gu;

/**
 * A string that cannot move the cursor, colour, clear or reorder the terminal, nor break a row: every
 * unsafe character is shown as an escape (`\n`, `\x1b`, `\u{202e}`), and a backslash as `\\` so that the
 * escapes stay unambiguous.
 */
export function printable(s: string): string {
  return s.replace(UNSAFE, (c) => {
    if (c === "\\") return "\\\\";
    if (c === "\n") return "\\n";
    if (c === "\r") return "\\r";
    if (c === "\t") return "\\t";
    const code = c.codePointAt(0)!;
    return code <= 0xff ? `\\x${code.toString(16).padStart(2, "0")}` : `\\u{${code.toString(16)}}`;
  });
}

const graphemes = new Intl.Segmenter(undefined, { granularity: "grapheme" });

/** Columns the text takes on a terminal (wide CJK characters take two). */
export const displayWidth = (s: string): number => Bun.stringWidth(s);

/** Cuts printable text to at most `width` columns, ending with "…" when it was cut. */
export function truncate(s: string, width: number): string {
  if (displayWidth(s) <= width) return s;
  if (width <= 0) return "";
  let out = "";
  let used = 0;
  for (const { segment } of graphemes.segment(s)) {
    const w = displayWidth(segment);
    if (used + w > width - 1) break;
    out += segment;
    used += w;
  }
  return out + "…";
}

/** Fills printable text with spaces to `width` columns, on the left or the right. */
export function pad(s: string, width: number, align: "left" | "right"): string {
  const fill = " ".repeat(Math.max(0, width - displayWidth(s)));
  return align === "left" ? s + fill : fill + s;
}
