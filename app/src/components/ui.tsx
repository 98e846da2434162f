import type { ReactNode } from "react";
import { escapeUntrusted } from "../../../sdk/text.ts";

/**
 * An error, shown escaped (sdk/text.ts): it may quote a gateway's or a subgraph's message, a
 * revert string or a bundle's entry names.
 */
export function ErrorMessage({ message }: { message: string | undefined }) {
  if (!message) return null;
  return (
    <p className="error" role="alert">
      {escapeUntrusted(message, { multiline: true })}
    </p>
  );
}

export function Status({ message }: { message: string | undefined }) {
  return (
    <p className="status" role="status" aria-live="polite">
      {message ?? ""}
    </p>
  );
}

export function Loading({ what }: { what: string }) {
  return <p className="muted">Loading {what}…</p>;
}

export function Card({ title, children }: { title: string; children: ReactNode }) {
  return (
    <section className="card" aria-label={title}>
      <h2>{title}</h2>
      {children}
    </section>
  );
}

/** A definition list of label/value pairs. */
export function Facts({ items }: { items: [string, ReactNode][] }) {
  return (
    <dl className="facts">
      {items.map(([label, value]) => (
        <div key={label}>
          <dt>{label}</dt>
          <dd>{value}</dd>
        </div>
      ))}
    </dl>
  );
}

export function Badge({
  tone,
  children,
}: {
  tone: "good" | "bad" | "neutral" | "warn";
  children: ReactNode;
}) {
  return <span className={`badge badge-${tone}`}>{children}</span>;
}

export function Address({ value }: { value: string }) {
  return (
    <a href={`#/providers/${value}`} className="mono" title={value}>
      {value.slice(0, 8)}…{value.slice(-6)}
    </a>
  );
}

/** A scrollable table: a header per column and a row per item, its cells from `cells`. */
export function Table<T>({
  columns,
  rows,
  rowKey,
  cells,
  testId,
}: {
  columns: readonly string[];
  rows: readonly T[];
  rowKey: (row: T) => string | number;
  cells: (row: T, index: number) => ReactNode;
  testId?: string;
}) {
  return (
    <div className="scroll">
      <table>
        <thead>
          <tr>
            {columns.map((column) => (
              <th scope="col" key={column}>
                {column}
              </th>
            ))}
          </tr>
        </thead>
        <tbody data-testid={testId}>
          {rows.map((row, i) => (
            <tr key={rowKey(row)}>{cells(row, i)}</tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}
