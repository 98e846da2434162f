import type { ReactNode } from "react";

export function ErrorMessage({ message }: { message: string | undefined }) {
  if (!message) return null;
  return (
    <p className="error" role="alert">
      {message}
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
