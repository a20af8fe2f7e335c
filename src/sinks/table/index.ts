// `oomtrace watch`'s live table: a header, then one row per kill, fitted to the terminal's width.
import type { OomEvent, Sink } from "../../types.ts";
import { COLUMNS, type Field } from "./columns.ts";
import { fitColumns, GAP } from "./fit.ts";
import { pad, printable, truncate } from "./text.ts";

export interface TableOptions {
  fields: readonly Field[];
  /** The terminal's width now (it may change), or Infinity when stdout is not a terminal. */
  width: () => number;
  /** ANSI colour, only when stdout is a terminal that wants it. */
  color: boolean;
  write: (s: string) => void;
}

const ansi = (code: string, s: string) => `\x1b[${code}m${s}\x1b[0m`;
const KIND_COLOR: Record<string, string> = { global: "1;31", memcg: "33", cpuset: "35", mempolicy: "35", unknown: "2" };

/** Lays rows out (pure): the header and rows for one terminal width; a new width gives a new layout. */
export class TableLayout {
  private readonly columns;
  private readonly layout;
  readonly width: number;

  constructor(fields: readonly Field[], width: number, private readonly color: boolean) {
    this.width = width;
    this.columns = fields.map((f) => ({ field: f, ...COLUMNS[f] }));
    this.layout = fitColumns(this.columns, width);
  }

  private line(cells: string[], paint: (i: number, s: string) => string): string {
    const out = this.layout.map(({ index, width }, k) => {
      const col = this.columns[index]!;
      const last = k === this.layout.length - 1;
      // Without a terminal nothing is cut: a pipe gets whole values.
      const text = Number.isFinite(this.width) ? truncate(cells[index]!, width) : cells[index]!;
      return paint(index, last && col.align === "left" ? text : pad(text, width, col.align));
    });
    return out.join(" ".repeat(GAP)).trimEnd() + "\n";
  }

  header(): string {
    return this.line(this.columns.map((c) => c.header), (_, s) => (this.color ? ansi("1", s) : s));
  }

  row(e: OomEvent): string {
    const cells = this.columns.map((c) => printable(c.cell(e)));
    return this.line(cells, (i, s) => (this.color && this.columns[i]!.field === "kind" ? ansi(KIND_COLOR[e.kill.constraint] ?? "0", s) : s));
  }
}

/** The sink: prints the header at once, and again whenever the terminal's width changes the layout. */
export function tableSink(o: TableOptions): Sink {
  let layout = new TableLayout(o.fields, o.width(), o.color);
  o.write(layout.header());
  return {
    name: "table",
    write(e: OomEvent) {
      const width = o.width();
      if (width !== layout.width) {
        layout = new TableLayout(o.fields, width, o.color);
        o.write(layout.header());
      }
      o.write(layout.row(e));
    },
  };
}
