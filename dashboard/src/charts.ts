// Small SVG charts: bars per second and sparklines. No library, no inline styles.
const NS = "http://www.w3.org/2000/svg";

function svg(width: number, height: number, cls: string): SVGSVGElement {
  const el = document.createElementNS(NS, "svg");
  el.setAttribute("viewBox", `0 0 ${width} ${height}`);
  el.setAttribute("preserveAspectRatio", "none");
  el.setAttribute("class", cls);
  return el;
}

function node<K extends keyof SVGElementTagNameMap>(tag: K, attrs: Record<string, string | number>): SVGElementTagNameMap[K] {
  const el = document.createElementNS(NS, tag);
  for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, String(v));
  return el;
}

/** One bar per value (e.g. per second), scaled to the largest. */
export function bars(values: number[], opts: { height?: number; title?: (i: number) => string; errors?: number[] } = {}): SVGSVGElement {
  const width = 300;
  const height = opts.height ?? 64;
  const el = svg(width, height, "chart chart-bars");
  const max = Math.max(1, ...values);
  const step = width / Math.max(1, values.length);
  el.appendChild(node("line", { x1: 0, y1: height - 0.5, x2: width, y2: height - 0.5, class: "chart-axis" }));
  values.forEach((value, i) => {
    const h = value === 0 ? 0 : Math.max(2, (value / max) * (height - 4));
    const rect = node("rect", { x: i * step + 0.5, y: height - h, width: Math.max(1, step - 1.5), height: h, rx: 1, class: "chart-bar" });
    const errors = opts.errors?.[i] ?? 0;
    if (errors > 0) rect.setAttribute("class", "chart-bar chart-bar-error");
    if (opts.title) {
      const t = node("title", {});
      t.textContent = opts.title(i);
      rect.appendChild(t);
    }
    el.appendChild(rect);
  });
  return el;
}

/** A line through the values with a soft area under it. */
export function sparkline(values: number[], opts: { height?: number; width?: number } = {}): SVGSVGElement {
  const width = opts.width ?? 300;
  const height = opts.height ?? 64;
  const el = svg(width, height, "chart chart-line");
  if (values.length === 0) return el;
  const max = Math.max(...values, 0.001);
  const step = values.length > 1 ? width / (values.length - 1) : width;
  const points = values.map((v, i) => [values.length > 1 ? i * step : width / 2, height - 3 - (v / max) * (height - 6)] as const);
  const line = points.map(([x, y], i) => `${i ? "L" : "M"}${x.toFixed(1)},${y.toFixed(1)}`).join(" ");
  const [lx, ly] = points[points.length - 1]!;
  if (values.length === 1) {
    el.appendChild(node("line", { x1: 0, y1: ly, x2: width, y2: ly, class: "chart-stroke chart-flat" }));
    el.appendChild(node("circle", { cx: lx, cy: ly, r: 2.5, class: "chart-dot" }));
    return el;
  }
  el.appendChild(node("path", { d: `${line} L${width},${height} L0,${height} Z`, class: "chart-area" }));
  el.appendChild(node("path", { d: line, class: "chart-stroke" }));
  el.appendChild(node("circle", { cx: lx, cy: ly, r: 2.5, class: "chart-dot" }));
  return el;
}
