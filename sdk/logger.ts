/**
 * A small structured logger: one line per event, either human-readable or JSON
 * (`{"time":…,"level":"info","component":"worker.bidding","msg":"bid placed","jobId":"3"}`).
 * Loggers are passed in (never imported as a global) and specialised with `child()`, so every
 * line names the component it came from. Context is a plain object; bigint values are printed
 * as decimal strings. Never log keys, passwords or keystore contents.
 */
import { escapeJsonText, escapeUntrusted } from "./text.ts";

export type LogLevel = "debug" | "info" | "warn" | "error";

export interface Logger {
  debug(msg: string, context?: Record<string, unknown>): void;
  info(msg: string, context?: Record<string, unknown>): void;
  warn(msg: string, context?: Record<string, unknown>): void;
  error(msg: string, context?: Record<string, unknown>): void;
  /** A logger whose lines carry `component` (appended with a dot) and the given context. */
  child(component: string, context?: Record<string, unknown>): Logger;
}

export interface LoggerOptions {
  level?: LogLevel;
  json?: boolean;
  component?: string;
  /** Where lines go; defaults to process.stderr. */
  write?: (line: string) => void;
}

const LEVELS: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 };

function jsonSafe(_key: string, value: unknown): unknown {
  if (typeof value === "bigint") return value.toString();
  if (value instanceof Error) return { name: value.name, message: value.message };
  return value;
}

function formatValue(value: unknown): string {
  if (typeof value === "string") {
    // Values may quote a job, a task or a bundle: nothing in them may steer the terminal.
    return /\s/.test(value) ? escapeJsonText(JSON.stringify(value)) : escapeUntrusted(value);
  }
  if (typeof value === "bigint") return value.toString();
  if (value instanceof Error) return escapeJsonText(JSON.stringify(value.message));
  return escapeJsonText(JSON.stringify(value, jsonSafe) ?? "undefined");
}

export function createLogger(options: LoggerOptions = {}): Logger {
  const threshold = LEVELS[options.level ?? "info"];
  const write = options.write ?? ((line: string) => process.stderr.write(`${line}\n`));
  const make = (component: string | undefined, base: Record<string, unknown>): Logger => {
    const emit = (level: LogLevel, msg: string, context?: Record<string, unknown>) => {
      if (LEVELS[level] < threshold) return;
      const fields = { ...base, ...context };
      const time = new Date().toISOString();
      if (options.json) {
        write(escapeJsonText(JSON.stringify({ time, level, component, msg, ...fields }, jsonSafe)));
        return;
      }
      const tail = Object.entries(fields)
        .map(([key, value]) => `${key}=${formatValue(value)}`)
        .join(" ");
      const where = component === undefined ? "" : ` [${component}]`;
      const line = `${where} ${escapeUntrusted(msg)}${tail ? ` ${tail}` : ""}`;
      write(`${time} ${level.toUpperCase().padEnd(5)}${line}`);
    };
    return {
      debug: (msg, context) => emit("debug", msg, context),
      info: (msg, context) => emit("info", msg, context),
      warn: (msg, context) => emit("warn", msg, context),
      error: (msg, context) => emit("error", msg, context),
      child: (name, context) =>
        make(component === undefined ? name : `${component}.${name}`, { ...base, ...context }),
    };
  };
  return make(options.component, {});
}

/** A logger that drops everything (for library defaults and quiet tests). */
export const silentLogger: Logger = createLogger({ level: "error", write: () => {} });
