import type { ReactNode } from "react";

/**
 * Hand-made SVG charts: two small chart kinds cover the overview, and a charting library
 * would outweigh the rest of the app. Every chart has a text alternative (a table or an
 * aria-label listing the values) so the numbers are readable without seeing the bars.
 */
export interface Bar {
  label: string;
  value: number;
  /** What to print next to the bar (defaults to the value). */
  text?: string;
}

/** A captioned SVG whose aria-label lists every item's value, so the numbers read without sight. */
function Chart({
  title,
  items,
  viewBox,
  children,
}: {
  title: string;
  items: Bar[];
  viewBox: string;
  children: ReactNode;
}) {
  const summary = items.map((b) => `${b.label}: ${b.text ?? b.value}`).join(", ");
  return (
    <figure className="chart">
      <figcaption>{title}</figcaption>
      <svg
        viewBox={viewBox}
        role="img"
        aria-label={`${title}. ${summary || "no data yet"}`}
        width="100%"
      >
        {children}
      </svg>
    </figure>
  );
}

/** Horizontal bars, one row per item. */
export function BarChart({
  title,
  bars,
  color = "#0b5394",
}: {
  title: string;
  bars: Bar[];
  color?: string;
}) {
  const max = Math.max(1, ...bars.map((b) => b.value));
  const row = 28;
  const height = bars.length * row + 8;
  return (
    <Chart title={title} items={bars} viewBox={`0 0 400 ${height}`}>
      {bars.map((bar, i) => {
        const width = (bar.value / max) * 220;
        const y = i * row + 4;
        return (
          <g key={bar.label}>
            <text x="0" y={y + 17} fontSize="13" fill="#1d2330">
              {bar.label}
            </text>
            <rect
              x="110"
              y={y + 4}
              width={Math.max(width, bar.value > 0 ? 2 : 0)}
              height="18"
              rx="3"
              fill={color}
            />
            <text x={116 + width} y={y + 17} fontSize="12" fill="#1d2330">
              {bar.text ?? bar.value}
            </text>
          </g>
        );
      })}
    </Chart>
  );
}

/** Vertical bars over time (one per day), for series with few points. */
export function TimeBars({
  title,
  points,
  color = "#2a7a3b",
}: {
  title: string;
  points: Bar[];
  color?: string;
}) {
  const max = Math.max(1, ...points.map((p) => p.value));
  const width = 400;
  const height = 150;
  const slot = width / Math.max(points.length, 1);
  return (
    <Chart title={title} items={points} viewBox={`0 0 ${width} ${height + 24}`}>
      <line x1="0" y1={height} x2={width} y2={height} stroke="#5b6475" />
      {points.map((p, i) => {
        const h = (p.value / max) * (height - 20);
        const x = i * slot + slot * 0.15;
        return (
          <g key={p.label}>
            <rect x={x} y={height - h} width={slot * 0.7} height={h} fill={color} rx="2" />
            <text
              x={x + slot * 0.35}
              y={height - h - 4}
              fontSize="11"
              textAnchor="middle"
              fill="#1d2330"
            >
              {p.text ?? p.value}
            </text>
            <text
              x={x + slot * 0.35}
              y={height + 16}
              fontSize="11"
              textAnchor="middle"
              fill="#1d2330"
            >
              {p.label}
            </text>
          </g>
        );
      })}
      {points.length === 0 ? (
        <text x={width / 2} y={height / 2} textAnchor="middle" fontSize="13" fill="#5b6475">
          no activity yet
        </text>
      ) : null}
    </Chart>
  );
}
