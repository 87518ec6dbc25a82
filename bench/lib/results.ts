import { median } from './measure.js';

/** Per-run values of one metric of one stack, e.g. metrics.get('bus/nats').get('seq.p50') = [205, 198, 210]. */
export class Metrics {
  private readonly data = new Map<string, Map<string, number[]>>();
  readonly notes: string[] = [];

  put(stack: string, metric: string, value: number): void {
    if (!Number.isFinite(value)) return;
    let m = this.data.get(stack);
    if (!m) this.data.set(stack, (m = new Map()));
    let arr = m.get(metric);
    if (!arr) m.set(metric, (arr = []));
    arr.push(value);
  }

  runs(stack: string, metric: string): number[] {
    return this.data.get(stack)?.get(metric) ?? [];
  }

  median(stack: string, metric: string): number | undefined {
    const r = this.runs(stack, metric);
    return r.length ? median(r) : undefined;
  }

  toJSON(): Record<string, Record<string, number[]>> {
    const out: Record<string, Record<string, number[]>> = {};
    for (const [s, m] of this.data) out[s] = Object.fromEntries(m);
    return out;
  }
}

export type Unit = 'ops/s' | 'µs' | 'ms' | 'KB' | 'MB/s' | 'deltas/s' | 'events/s' | 'µs CPU' | 'frames' | '%';

/**
 * One table row: `ours` against `peer` (ratio = ours / peer, of the medians). A target is on the ratio
 * (`ratio >= 1.5`) or on ours alone (`ours <= 20`).
 */
export interface RowDef {
  figure: string;
  unit: Unit;
  ours: [stack: string, metric: string];
  peer?: [stack: string, metric: string];
  /** Label of the peer column (default: the peer stack name). */
  peerLabel?: string;
  target?: { on: 'ratio' | 'ours'; op: '>=' | '<='; value: number };
  /**
   * For paired measurements made in the same loop (time to first delta vs invoke): the ratio column is the
   * median of this per-run ratio metric instead of the ratio of the medians.
   */
  ratioOf?: [stack: string, metric: string];
}

export interface Row {
  figure: string;
  unit: Unit;
  ours?: number;
  oursRuns: number[];
  peer?: number;
  peerRuns: number[];
  peerLabel: string;
  ratio?: number;
  target: string;
  met?: boolean;
}

export function buildRows(metrics: Metrics, defs: RowDef[]): Row[] {
  return defs.map((d) => {
    const ours = metrics.median(...d.ours);
    const peer = d.peer ? metrics.median(...d.peer) : undefined;
    const ratio = d.ratioOf
      ? metrics.median(...d.ratioOf)
      : ours !== undefined && peer !== undefined && peer !== 0
        ? ours / peer
        : undefined;
    let target = '';
    let met: boolean | undefined;
    if (d.target) {
      const t = d.target;
      target =
        t.on === 'ratio' ? `${t.op === '>=' ? '≥' : '≤'}${t.value}×` : `${t.op === '>=' ? '≥' : '≤'}${fmt(t.value, d.unit)} ${d.unit}`;
      const v = t.on === 'ratio' ? ratio : ours;
      if (v !== undefined) met = t.op === '>=' ? v >= t.value : v <= t.value;
    }
    return {
      figure: d.figure,
      unit: d.unit,
      ours,
      oursRuns: metrics.runs(...d.ours),
      peer,
      peerRuns: d.peer ? metrics.runs(...d.peer) : [],
      peerLabel: d.peerLabel ?? d.peer?.[0] ?? '',
      ratio,
      target,
      met,
    };
  });
}

export function fmt(v: number | undefined, unit: Unit): string {
  if (v === undefined || !Number.isFinite(v)) return 'n/a';
  if (unit === 'µs' || unit === 'µs CPU' || unit === 'KB' || unit === 'MB/s') {
    if (v >= 1000) return Math.round(v).toLocaleString('en-US');
    if (v >= 100) return v.toFixed(0);
    if (v >= 10) return v.toFixed(1);
    return v.toFixed(2);
  }
  if (v >= 100) return Math.round(v).toLocaleString('en-US');
  return v.toFixed(1);
}

export function renderTable(rows: Row[]): string {
  const lines = ['| figure | unit | ours | peer | peer value | ratio | target | met? |', '|---|---|---|---|---|---|---|---|'];
  for (const r of rows) {
    const met = r.met === undefined ? (r.target ? 'n/a' : '') : r.met ? 'yes' : '**NO**';
    lines.push(
      `| ${r.figure} | ${r.unit} | ${fmt(r.ours, r.unit)} | ${r.peerLabel || '—'} | ${r.peerLabel ? fmt(r.peer, r.unit) : '—'} | ${
        r.ratio !== undefined ? `${r.ratio >= 0.1 ? r.ratio.toFixed(2) : r.ratio.toPrecision(2)}×` : '—'
      } | ${r.target || '—'} | ${met} |`,
    );
  }
  return lines.join('\n');
}
