/**
 * SVG charts with no library: a line chart and a stacked bar chart over days. Each chart
 * carries its numbers in `data-values` (JSON: `{series: {name: [..]}, days: [..]}`), so
 * tests (and screen-reader users, through the table under each chart) read exact values.
 */
const W = 560;
const H = 200;
const PAD = { l: 42, r: 12, t: 12, b: 26 };

export interface Series {
  name: string;
  color: string;
  values: (number | null)[];
}

function niceMax(v: number): number {
  if (v <= 0) return 1;
  const p = 10 ** Math.floor(Math.log10(v));
  for (const m of [1, 2, 2.5, 5, 10]) if (m * p >= v) return m * p;
  return 10 * p;
}

function axis(days: string[], max: number, format: (v: number) => string) {
  const x = (i: number) => PAD.l + (days.length <= 1 ? (W - PAD.l - PAD.r) / 2 : (i * (W - PAD.l - PAD.r)) / (days.length - 1));
  const y = (v: number) => H - PAD.b - (v / max) * (H - PAD.t - PAD.b);
  const ticks = [0, 0.25, 0.5, 0.75, 1].map((f) => f * max);
  const every = Math.max(1, Math.ceil(days.length / 7));
  const grid = (
    <g>
      {ticks.map((t) => (
        <g key={t}>
          <line className="gridline" x1={PAD.l} x2={W - PAD.r} y1={y(t)} y2={y(t)} />
          <text x={PAD.l - 6} y={y(t) + 3} textAnchor="end">
            {format(t)}
          </text>
        </g>
      ))}
      {days.map((d, i) =>
        i % every === 0 ? (
          <text key={d} x={x(i)} y={H - 8} textAnchor="middle">
            {d.slice(5)}
          </text>
        ) : null,
      )}
      <line className="axis" x1={PAD.l} x2={W - PAD.r} y1={H - PAD.b} y2={H - PAD.b} />
    </g>
  );
  return { x, y, grid };
}

function Legend({ series }: { series: Series[] }) {
  return (
    <div className="legend">
      {series.map((s) => (
        <span key={s.name}>
          <i style={{ background: s.color }} />
          {s.name}
        </span>
      ))}
    </div>
  );
}

function dataValues(days: string[], series: Series[]): string {
  return JSON.stringify({ days, series: Object.fromEntries(series.map((s) => [s.name, s.values])) });
}

export function LineChart(props: { id: string; title: string; days: string[]; series: Series[]; format: (v: number) => string; max?: number }) {
  const all = props.series.flatMap((s) => s.values.filter((v): v is number => v !== null));
  const max = props.max ?? niceMax(Math.max(0, ...all));
  const { x, y, grid } = axis(props.days, max, props.format);
  return (
    <figure className="panel chart" data-testid={`chart-${props.id}`} data-values={dataValues(props.days, props.series)} style={{ margin: 0 }}>
      <div className="panel-head">
        <h2>{props.title}</h2>
        <Legend series={props.series} />
      </div>
      <div className="panel-body">
        <svg viewBox={`0 0 ${W} ${H}`} role="img" aria-label={`${props.title} by day`}>
          {grid}
          {props.series.map((s) => {
            const pts = s.values.map((v, i) => (v === null ? null : `${x(i)},${y(v)}`));
            const segments: string[][] = [[]];
            for (const p of pts) {
              if (p === null) segments.push([]);
              else segments[segments.length - 1]!.push(p);
            }
            return (
              <g key={s.name}>
                {segments.filter((seg) => seg.length > 1).map((seg, i) => (
                  <polyline key={i} points={seg.join(" ")} fill="none" stroke={s.color} strokeWidth={2.2} strokeLinejoin="round" />
                ))}
                {s.values.map((v, i) =>
                  v === null ? null : (
                    <circle key={i} cx={x(i)} cy={y(v)} r={3} fill="#fff" stroke={s.color} strokeWidth={2}>
                      <title>
                        {props.days[i]}: {props.format(v)}
                      </title>
                    </circle>
                  ),
                )}
              </g>
            );
          })}
        </svg>
      </div>
    </figure>
  );
}

export function StackedBars(props: { id: string; title: string; days: string[]; series: Series[] }) {
  const totals = props.days.map((_, i) => props.series.reduce((n, s) => n + (s.values[i] ?? 0), 0));
  const max = niceMax(Math.max(0, ...totals));
  const { x, y, grid } = axis(props.days, max, (v) => String(Math.round(v)));
  const slot = (W - PAD.l - PAD.r) / Math.max(1, props.days.length);
  const bar = Math.min(28, slot * 0.6);
  return (
    <figure className="panel chart" data-testid={`chart-${props.id}`} data-values={dataValues(props.days, props.series)} style={{ margin: 0 }}>
      <div className="panel-head">
        <h2>{props.title}</h2>
        <Legend series={props.series} />
      </div>
      <div className="panel-body">
        <svg viewBox={`0 0 ${W} ${H}`} role="img" aria-label={`${props.title} by day`}>
          {grid}
          {props.days.map((d, i) => {
            let base = 0;
            return (
              <g key={d}>
                {props.series.map((s) => {
                  const v = s.values[i] ?? 0;
                  const top = y(base + v);
                  const rect = <rect key={s.name} x={x(i) - bar / 2} y={top} width={bar} height={Math.max(0, y(base) - top)} fill={s.color} rx={2} />;
                  base += v;
                  return rect;
                })}
                <title>
                  {d}: {props.series.map((s) => `${s.name} ${s.values[i] ?? 0}`).join(", ")}
                </title>
              </g>
            );
          })}
        </svg>
      </div>
    </figure>
  );
}
