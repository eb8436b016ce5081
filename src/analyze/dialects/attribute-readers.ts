/**
 * Typed reads of span attributes, shared by the dialects. OTLP/JSON carries
 * int64 as strings, so numbers are accepted in either form.
 */
import type { AttributeValue } from '../../model/span-record.js';

export type Attributes = Readonly<Record<string, AttributeValue>>;

export function readString(attrs: Attributes, key: string): string | undefined {
  const v = attrs[key];
  return typeof v === 'string' ? v : undefined;
}

/** A non-empty string, or undefined. */
export function readName(attrs: Attributes, key: string): string | undefined {
  const v = attrs[key];
  return typeof v === 'string' && v.length > 0 ? v : undefined;
}

export function readNumber(attrs: Attributes, key: string): number | undefined {
  const v = attrs[key];
  if (typeof v === 'number') return Number.isFinite(v) ? v : undefined;
  if (typeof v === 'string' && v.length > 0) {
    const n = Number(v);
    return Number.isFinite(n) ? n : undefined;
  }
  return undefined;
}

export function readBoolean(attrs: Attributes, key: string): boolean | undefined {
  const v = attrs[key];
  return typeof v === 'boolean' ? v : undefined;
}

export function readStrings(attrs: Attributes, key: string): string[] | undefined {
  const v = attrs[key];
  if (!Array.isArray(v)) return undefined;
  const out: string[] = [];
  for (let i = 0; i < v.length; i++) if (typeof v[i] === 'string') out.push(v[i] as string);
  return out;
}

/** Assigns only defined values, so optional fields stay absent rather than `undefined`. */
export function put<T extends object, K extends keyof T>(target: T, key: K, value: T[K] | undefined): void {
  if (value !== undefined) target[key] = value;
}

/**
 * `text` parsed as JSON, or undefined when it is longer than `maxChars` or not JSON: attribute values
 * that carry JSON (tool arguments, messages, metadata) are written by the framework, so a bad one
 * is a span read without it, never an error.
 */
export function parseJsonText(text: string, maxChars: number): unknown {
  if (text.length > maxChars) return undefined;
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

/**
 * The first line of a message a framework wrote (an exception's text, a status), at most
 * `maxChars`: what a report quotes of it. Whole, a Python traceback or a long status would make
 * each finding as long, and differ between copies of a span cut to different lengths.
 */
export function firstLineOf(text: string, maxChars = 200): string {
  const newline = text.indexOf('\n');
  const line = (newline === -1 ? text : text.slice(0, newline)).trimEnd();
  return line.length > maxChars ? `${line.slice(0, maxChars - 1)}…` : line;
}
