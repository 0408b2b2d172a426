// RowStore: the rows of one stream held between two drains, as a struct of Float64Arrays (one per
// column) plus, for change tags, one plain array of primitive values. The reduction stages reuse
// one record object per emit call, so every row is copied in here field by field; storing numbers
// in typed arrays also means adding a row allocates nothing once the arrays have grown.

/** Rows a store starts with room for; it doubles as needed, up to its limit. */
const INITIAL_ROWS = 1_024;

export class RowStore {
  readonly limit: number;
  length = 0;
  /** One array per column; a column written from `values` keeps zeros here. */
  cols: Float64Array[];
  /** Change values (boolean, string, number or null); empty unless built `withValues`. */
  values: unknown[];
  private cap: number;
  private readonly withValues: boolean;

  constructor(columns: number, limit: number, withValues: boolean) {
    this.limit = limit;
    this.withValues = withValues;
    this.cap = Math.min(limit, INITIAL_ROWS);
    this.cols = Array.from({ length: columns }, () => new Float64Array(this.cap));
    this.values = withValues ? new Array<unknown>(this.cap).fill(null) : [];
  }

  /** The index of a new row to fill in, or -1 when the store holds `limit` rows. */
  reserve(): number {
    if (this.length === this.cap) {
      if (this.cap >= this.limit) return -1;
      this.grow(Math.min(this.limit, this.cap * 2));
    }
    return this.length++;
  }

  /** Forgets every row; keeps the arrays, and drops references to string values. */
  clear(): void {
    if (this.withValues) this.values.fill(null, 0, this.length);
    this.length = 0;
  }

  private grow(cap: number): void {
    this.cols = this.cols.map((c) => {
      const g = new Float64Array(cap);
      g.set(c);
      return g;
    });
    if (this.withValues) {
      const v = new Array<unknown>(cap).fill(null);
      for (let i = 0; i < this.length; i++) v[i] = this.values[i];
      this.values = v;
    }
    this.cap = cap;
  }
}
