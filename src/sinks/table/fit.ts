// Column widths for a terminal of a given width (pure).

export interface ColumnSpec {
  /** Narrowest the column may get before it is dropped instead. */
  min: number;
  /** Width it gets when the terminal has room for every column at this width. */
  ideal: number;
  /** Widest it grows on a wide terminal. */
  max: number;
  /** Columns are dropped in rising order of this when even their minimum widths do not fit; null: never dropped. */
  drop: number | null;
}

export const GAP = 2;

const total = (widths: number[]) => widths.reduce((a, b) => a + b, 0) + GAP * Math.max(0, widths.length - 1);

/**
 * Which columns to show and how wide, for `width` terminal columns (Infinity: no terminal, every column at
 * its ideal width). Columns are dropped, least needed first, until their minimums fit; the room left is
 * shared out one column at a time, first up to each ideal width, then up to each maximum.
 * Returns the kept columns' indexes and widths, in the given order.
 */
export function fitColumns(specs: readonly ColumnSpec[], width: number): { index: number; width: number }[] {
  if (!Number.isFinite(width)) return specs.map((s, index) => ({ index, width: s.ideal }));
  let kept = specs.map((_, i) => i);
  const droppable = kept.filter((i) => specs[i]!.drop !== null).sort((a, b) => specs[a]!.drop! - specs[b]!.drop!);
  while (total(kept.map((i) => specs[i]!.min)) > width && droppable.length) {
    const gone = droppable.shift()!;
    kept = kept.filter((i) => i !== gone);
  }
  const widths = kept.map((i) => specs[i]!.min);
  for (const limit of ["ideal", "max"] as const) {
    let grew = true;
    while (grew && total(widths) < width) {
      grew = false;
      for (let k = 0; k < kept.length && total(widths) < width; k++) {
        if (widths[k]! < specs[kept[k]!]![limit]) {
          widths[k]!++;
          grew = true;
        }
      }
    }
  }
  return kept.map((index, k) => ({ index, width: widths[k]! }));
}
