/**
 * What the two Redis adapters (ioredis: redis.ts, node-redis: node-redis.ts)
 * share: which commands are state access or Streams, how a command becomes a
 * state or messaging span, how version and epoch are read from its arguments
 * and reply, and how trace context rides in an XADD entry. Each adapter only
 * finds the command in its driver's own command path (ioredis' `Command`
 * objects, node-redis' argument arrays) and hands it here.
 *
 * Replies are read in every shape the two drivers give: ioredis' converted
 * replies (HGETALL as an object) and raw ones (inside a transaction, before its
 * reply transformers ran), node-redis' RESP2 arrays (HGETALL as a flat
 * field/value list) and RESP3 maps (a `Map` or an object, per `typeMapping`),
 * strings or Buffers.
 */
import type { Context, Link, Span } from '@opentelemetry/api';
import { MESSAGING_BATCH_MESSAGE_COUNT } from '../model/attributes.js';
import type { EventMessage } from '../model/envelope.js';
import { toVersion, type StateOutcome, type StoreInstrumentation, type StoreInstrumentationOptions } from './common.js';

/** The facts an extractor reads from one state command: the app's own version and epoch. */
export interface RedisStateFacts {
  readonly version?: number;
  readonly epoch?: number;
}

/** One state command, as an {@link RedisCommandOptions.extract} extractor sees it. */
export interface RedisStateCommand {
  /** Lowercase command name: `get`, `hset`, … */
  readonly name: string;
  readonly key: string;
  readonly operation: 'read' | 'write';
  /** The command's arguments after the key (field/value pairs, values). */
  readonly args: readonly unknown[];
}

/** Options both Redis adapters take. */
export interface RedisCommandOptions extends StoreInstrumentationOptions {
  /**
   * Which keys hold shared state. A string is a prefix, a RegExp is tested, a
   * function decides. Default: every key. Commands on other keys are not traced.
   */
  readonly keys?: string | RegExp | ((key: string) => boolean);
  /** `db.collection.name` of a key. Default: the part before the first `:` (`task:t-1` → `task`), else none. */
  readonly collectionOf?: (key: string) => string | undefined;
  /** Hash field (or JSON property) holding the app's version. Default `version`. */
  readonly versionField?: string;
  /** Hash field (or JSON property) holding the epoch. Default `epoch`. */
  readonly epochField?: string;
  /**
   * Reads version and epoch from a command and its reply, replacing the default
   * (the version/epoch fields of a hash, or of a JSON object value). `reply` is
   * undefined for the write's arguments. Return undefined when it says nothing.
   */
  readonly extract?: (command: RedisStateCommand, reply: unknown) => RedisStateFacts | undefined;
  /** Trace XADD, XREADGROUP, XREAD and XACK. Default true. */
  readonly streams?: boolean;
  /** Add the producer's trace context as a `traceparent` (and `tracestate`) field to each XADD. Default true. */
  readonly injectTraceContext?: boolean;
}

export const READ = 1;
export const WRITE = 2;
export const PUBLISH = 3;
export const RECEIVE = 4;
export const SETTLE = 5;
/** EXEC of a transaction: settles the commands queued in it (ioredis). */
export const EXEC = 6;

/** What a command is to Baton, and its lowercase name (the extractor's `name`). */
export interface RedisCommandSpec {
  readonly kind: number;
  readonly name: string;
}

const TABLE: readonly (readonly [string, number])[] = [
  ['get', READ],
  ['getex', READ],
  ['hget', READ],
  ['hmget', READ],
  ['hgetall', READ],
  ['json.get', READ],
  ['set', WRITE],
  ['setex', WRITE],
  ['psetex', WRITE],
  ['setnx', WRITE],
  ['hset', WRITE],
  ['hmset', WRITE],
  ['hsetnx', WRITE],
  ['json.set', WRITE],
  ['xadd', PUBLISH],
  ['xreadgroup', RECEIVE],
  ['xread', RECEIVE],
  ['xack', SETTLE],
];

/**
 * Command name → what it is to Baton, under its lowercase (ioredis) and
 * uppercase (node-redis) spelling, so neither driver's hot path lowercases a
 * name. Anything absent is not state access and passes through.
 */
export const REDIS_COMMANDS: ReadonlyMap<string, RedisCommandSpec> = (() => {
  const map = new Map<string, RedisCommandSpec>();
  for (const [name, kind] of TABLE) {
    const spec = { kind, name };
    map.set(name, spec);
    map.set(name.toUpperCase(), spec);
  }
  return map;
})();

/** Lowercase `exec` only: ioredis' transaction path; node-redis transactions are traced around the whole batch. */
export const EXEC_SPEC: RedisCommandSpec = { kind: EXEC, name: 'exec' };

export const DEFAULT_STREAM_PREFIX = 'baton:events:';

export function asText(value: unknown): string | undefined {
  if (typeof value === 'string') return value;
  if (value instanceof Uint8Array) return Buffer.from(value).toString('utf8');
  return undefined;
}

function keyFilter(keys: RedisCommandOptions['keys']): ((key: string) => boolean) | undefined {
  if (keys === undefined) return undefined;
  if (typeof keys === 'string') return (key) => key.startsWith(keys);
  if (keys instanceof RegExp) return (key) => keys.test(key);
  return keys;
}

/**
 * The first `:`-separated part of a key that is not a Cluster hash tag: `task:t-1` → `task`,
 * `{t-1}:state` → `state`. A hash tag names one task or entity (it pins the key's slot), so as a
 * collection it would give every task a span name and a series of its own.
 */
export function defaultCollectionOf(key: string): string | undefined {
  let start = 0;
  for (;;) {
    const colon = key.indexOf(':', start);
    const part = colon < 0 ? key.slice(start) : key.slice(start, colon);
    if (colon < 0) return start > 0 && part.length > 0 && part[0] !== '{' ? part : undefined;
    if (part.length > 0 && part[0] !== '{') return part;
    start = colon + 1;
  }
}

const QUOTED = new Map<string, string>();

/** `"name"`, as it appears as a key in JSON text; made once per field name (an app has one or two). */
function quoted(name: string): string {
  let text = QUOTED.get(name);
  if (text === undefined) {
    text = JSON.stringify(name);
    if (QUOTED.size < 64) QUOTED.set(name, text);
  }
  return text;
}

/** Version and epoch of a JSON object stored as a string value; a non-JSON value says nothing. */
function factsOfJson(text: string | undefined, versionField: string, epochField: string): RedisStateFacts | undefined {
  if (text === undefined) return undefined;
  let start = 0;
  while (start < text.length && text.charCodeAt(start) <= 32) start++;
  const first = text.charCodeAt(start);
  if (first !== 123 /* { */ && first !== 91 /* [ */) return undefined;
  // A JSON value that names neither field says nothing: not parsed (most cached values are such).
  if (!text.includes(quoted(versionField)) && !text.includes(quoted(epochField))) return undefined;
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return undefined;
  }
  // JSON.GET with a `$` path answers an array of matches.
  if (Array.isArray(parsed)) parsed = parsed[0];
  if (parsed === null || typeof parsed !== 'object') return undefined;
  const record = parsed as Record<string, unknown>;
  return { version: toVersion(record[versionField]), epoch: toVersion(record[epochField]) };
}

/** A field of a hash reply: an object (ioredis, RESP3 default), a `Map` (RESP3 typeMapping), or a flat field/value array (RESP2 raw). */
function hashField(reply: unknown, field: string): unknown {
  if (Array.isArray(reply)) {
    for (let i = 0; i + 1 < reply.length; i += 2) if (asText(reply[i]) === field) return reply[i + 1];
    return undefined;
  }
  if (reply instanceof Map) {
    if (reply.has(field)) return reply.get(field);
    for (const [name, value] of reply) if (asText(name) === field) return value;
    return undefined;
  }
  return (reply as Record<string, unknown>)[field];
}

function hashSize(reply: unknown): number {
  if (Array.isArray(reply)) return reply.length;
  if (reply instanceof Map) return reply.size;
  return Object.keys(reply as object).length;
}

/**
 * Reads version/epoch of a state command from its arguments (writes) or reply
 * (reads). `args[at]` is the first argument after the key: the driver's own
 * array is read in place, no copy per command.
 */
function defaultFacts(
  name: string,
  isWrite: boolean,
  args: readonly unknown[],
  at: number,
  reply: unknown,
  versionField: string,
  epochField: string,
): RedisStateFacts | undefined {
  if (isWrite) {
    if (name === 'hset' || name === 'hmset' || name === 'hsetnx') {
      let version: number | undefined;
      let epoch: number | undefined;
      for (let i = at; i + 1 < args.length; i += 2) {
        const field = asText(args[i]);
        if (field === versionField) version = toVersion(asText(args[i + 1]) ?? args[i + 1]);
        else if (field === epochField) epoch = toVersion(asText(args[i + 1]) ?? args[i + 1]);
      }
      return { version, epoch };
    }
    if (name === 'set' || name === 'setnx') return factsOfJson(asText(args[at]), versionField, epochField);
    if (name === 'setex' || name === 'psetex') return factsOfJson(asText(args[at + 1]), versionField, epochField);
    if (name === 'json.set') return factsOfJson(asText(args[at + 1]), versionField, epochField);
    return undefined;
  }
  if (reply === null || reply === undefined) return undefined;
  if (name === 'hgetall') {
    return { version: toVersion(asText(hashField(reply, versionField))), epoch: toVersion(asText(hashField(reply, epochField))) };
  }
  if (name === 'hget') {
    const field = asText(args[at]);
    if (field === versionField) return { version: toVersion(asText(reply)) };
    if (field === epochField) return { epoch: toVersion(asText(reply)) };
    return undefined;
  }
  if (name === 'hmget' && Array.isArray(reply)) {
    let version: number | undefined;
    let epoch: number | undefined;
    for (let i = at; i < args.length; i++) {
      const field = asText(args[i]);
      if (field === versionField) version = toVersion(asText(reply[i - at]));
      else if (field === epochField) epoch = toVersion(asText(reply[i - at]));
    }
    return { version, epoch };
  }
  return factsOfJson(asText(reply), versionField, epochField);
}

function foundOf(name: string, reply: unknown): boolean {
  if (reply === null || reply === undefined) return false;
  if (name === 'hgetall') return hashSize(reply) > 0;
  if (name === 'hmget' && Array.isArray(reply)) return reply.some((v) => v !== null);
  return true;
}

/**
 * Whether a write ran, from its reply. Only a conditional write can answer that it did not: a
 * conditional SET (NX, XX, IFEQ, …) or SETNX / HSETNX answer nil or 0 then. With `GET`, SET answers
 * the old value instead (nil: there was none), so SET … GET wrote unless a condition stopped it: NX
 * wrote when there was no old value, XX when there was one; IFEQ/IFNE with GET depend on a value
 * compared on the server, so no version is claimed for them.
 * @see https://redis.io/docs/latest/commands/set/
 */
function wrote(traced: TracedCommand, reply: unknown): boolean {
  const name = traced.name;
  if (name === 'setnx' || name === 'hsetnx') return reply !== null && reply !== 0 && reply !== false;
  if (name !== 'set') return reply !== null;
  const args = traced.args;
  let get = false;
  let condition: string | undefined;
  // The options follow the value (args[at]).
  for (let i = traced.at + 1; i < args.length; i++) {
    const word = asText(args[i]);
    if (word === undefined || word.length > 6) continue;
    const upper = word.toUpperCase();
    if (upper === 'GET') get = true;
    else if (upper === 'NX' || upper === 'XX' || upper === 'IFEQ' || upper === 'IFNE' || upper === 'IFDEQ' || upper === 'IFDNE') condition = upper;
  }
  if (!get) return reply !== null;
  if (condition === undefined) return true;
  if (condition === 'NX') return reply === null;
  if (condition === 'XX') return reply !== null;
  return false;
}

/** The stream names of an XREAD/XREADGROUP: the first half of what follows STREAMS. */
function streamsOf(args: readonly unknown[], offset: number): string[] {
  for (let i = offset; i < args.length; i++) {
    const word = asText(args[i]);
    if (word !== undefined && word.toUpperCase() === 'STREAMS') {
      const rest = args.length - i - 1;
      const names: string[] = [];
      for (let j = 0; j < rest / 2; j++) names.push(asText(args[i + 1 + j]) ?? '');
      return names;
    }
  }
  return [];
}

/** The entries of each stream of an XREAD reply: `[[stream, entries], …]` (RESP2), or a map stream → entries (RESP3). */
function entryListsOf(reply: unknown): unknown[] {
  if (Array.isArray(reply)) {
    const lists: unknown[] = [];
    for (const stream of reply) lists.push(Array.isArray(stream) ? stream[1] : undefined);
    return lists;
  }
  if (reply instanceof Map) return [...reply.values()];
  if (reply !== null && typeof reply === 'object') return Object.values(reply);
  return [];
}

/** Links to each producer whose context a stream entry carries (a `traceparent` field, or a Baton `message`). */
function linksOfEntries(inst: StoreInstrumentation, reply: unknown): { links: Link[]; count: number; onlyId?: string } {
  const links: Link[] = [];
  let count = 0;
  let onlyId: string | undefined;
  for (const entries of entryListsOf(reply)) {
    if (!Array.isArray(entries)) continue;
    for (const entry of entries) {
      if (!Array.isArray(entry) || !Array.isArray(entry[1])) continue;
      count++;
      const fields = entry[1] as unknown[];
      let traceparent: string | undefined;
      let tracestate: string | undefined;
      let messageId: string | undefined;
      for (let i = 0; i + 1 < fields.length; i += 2) {
        const field = asText(fields[i]);
        if (field === 'traceparent') traceparent = asText(fields[i + 1]);
        else if (field === 'tracestate') tracestate = asText(fields[i + 1]);
        else if (field === 'message' && traceparent === undefined) {
          const message = parseMessage(asText(fields[i + 1]));
          if (message?.trace_context) {
            traceparent = message.trace_context.traceparent;
            tracestate = message.trace_context.tracestate;
          }
          messageId = message?.id;
        }
      }
      onlyId = messageId ?? asText(entry[0]);
      if (traceparent !== undefined) {
        const link = inst.linkFrom(tracestate === undefined ? { traceparent } : { traceparent, tracestate });
        if (link) links.push(link);
      }
    }
  }
  return count === 1 ? { links, count, onlyId } : { links, count };
}

/** A Baton event message stored as a stream field, or undefined. */
export function parseMessage(text: string | undefined): EventMessage | undefined {
  if (text === undefined || text.charCodeAt(0) !== 123) return undefined;
  try {
    const value = JSON.parse(text) as unknown;
    if (value === null || typeof value !== 'object') return undefined;
    const message = value as EventMessage;
    return typeof message.id === 'string' && typeof message.topic === 'string' ? message : undefined;
  } catch {
    return undefined;
  }
}

/** A command being traced: its span and what its end needs. */
export interface TracedCommand {
  readonly span: Span;
  readonly kind: number;
  /** Lowercase name (`get`, `hset`). */
  readonly name: string;
  /** Reads and writes: which; undefined for Streams commands. */
  readonly operation: 'read' | 'write' | undefined;
  readonly key: string;
  /** The driver's argument array and where the arguments after the key start in it. */
  readonly args: readonly unknown[];
  readonly at: number;
  /** A write's facts, read from its arguments when it started. */
  readonly written: RedisStateFacts | undefined;
}

/**
 * Turns Redis commands into Baton spans for one instrumented client. `args`
 * is the driver's argument array and `offset` where the key (or the first
 * argument) sits in it: 0 for ioredis' `Command#args`, 1 for node-redis'
 * `[name, ...args]`.
 */
export class RedisCommandTracer {
  readonly inst: StoreInstrumentation;
  readonly #filter: ((key: string) => boolean) | undefined;
  readonly #collectionOf: (key: string) => string | undefined;
  readonly #versionField: string;
  readonly #epochField: string;
  readonly #extract: RedisCommandOptions['extract'];
  readonly #streams: boolean;
  readonly #inject: boolean;

  constructor(inst: StoreInstrumentation, options: RedisCommandOptions) {
    this.inst = inst;
    this.#filter = keyFilter(options.keys);
    this.#collectionOf = options.collectionOf ?? defaultCollectionOf;
    this.#versionField = options.versionField ?? 'version';
    this.#epochField = options.epochField ?? 'epoch';
    this.#extract = options.extract;
    this.#streams = options.streams ?? true;
    this.#inject = options.injectTraceContext ?? true;
  }

  /**
   * Starts the span of a command, or returns undefined when it is not traced
   * (a key outside `keys`, Streams off, a fault). `inTransaction`: queued in
   * MULTI, where no trace context is added to an XADD (as with ioredis, whose
   * queued command may be resent on a cluster redirection). `startMs`: when
   * the command was sent, for a span made after sending it.
   */
  start(
    spec: RedisCommandSpec,
    args: unknown[],
    offset: number,
    ctx: Context,
    driverSpan: boolean,
    inTransaction: boolean,
    startMs?: number,
  ): TracedCommand | undefined {
    let span: Span | undefined;
    try {
      const kind = spec.kind;
      if (kind === READ || kind === WRITE) {
        const key = asText(args[offset]);
        if (key === undefined || (this.#filter !== undefined && !this.#filter(key))) return undefined;
        const operation = kind === WRITE ? 'write' : 'read';
        span = this.inst.startState(operation, key, this.#collectionOf(key), driverSpan, ctx, undefined, startMs);
        if (!span) return undefined;
        const traced: { -readonly [K in keyof TracedCommand]: TracedCommand[K] } = {
          span,
          kind,
          name: spec.name,
          operation,
          key,
          args,
          at: offset + 1,
          written: undefined,
        };
        // A span that records nothing (sampled out) is not told the version: nothing is read for it.
        if (operation === 'write' && span.isRecording()) traced.written = this.#factsOf(traced, undefined);
        return traced;
      }
      if (!this.#streams) return undefined;
      if (kind === PUBLISH) {
        span = this.inst.startMessaging('publish', asText(args[offset]) ?? '', ctx, undefined);
        if (span && this.#inject && !inTransaction) {
          const carrier = this.inst.carrierOf(span, ctx);
          // Appended as one more field/value pair: valid after any XADD options and the id.
          if (carrier) {
            args.push('traceparent', carrier.traceparent);
            if (carrier.tracestate) args.push('tracestate', carrier.tracestate);
          }
        }
      } else if (kind === RECEIVE) {
        span = this.inst.startMessaging('receive', streamsOf(args, offset).join(','), ctx, undefined, undefined, { startMs });
      } else {
        span = this.inst.startMessaging('settle', asText(args[offset]) ?? '', ctx, undefined, undefined, { driverSpan, startMs });
      }
      return span ? { span, kind, name: spec.name, operation: undefined, key: '', args, at: offset + 1, written: undefined } : undefined;
    } catch (error) {
      this.inst.fault(`redis ${spec.name}`, error, span);
      // A span already started is ended rather than left open.
      if (span) this.inst.endMessaging(span, undefined);
      return undefined;
    }
  }

  /**
   * Ends a command's span with the command's own reply. `queued`: the reply
   * is a transaction's `QUEUED` (MULTI sent without a pipeline), which says
   * nothing about the value: a read records no version and no `found`.
   */
  finish(traced: TracedCommand, reply: unknown, queued = false): void {
    const operation = traced.operation;
    if (operation === undefined) {
      this.#endStream(traced, reply);
      return;
    }
    let outcome: StateOutcome | undefined;
    try {
      if (queued || !traced.span.isRecording()) {
        // Nothing known before EXEC; nothing to tell a span that records nothing.
      } else if (operation === 'read') {
        const facts = this.#factsOf(traced, reply);
        outcome = { version: facts?.version, epoch: facts?.epoch, found: foundOf(traced.name, reply) };
      } else if (traced.written && wrote(traced, reply)) {
        outcome = traced.written;
      }
    } catch (error) {
      this.inst.fault(`redis ${traced.name}`, error, traced.span);
    }
    this.inst.endState(traced.span, operation, outcome);
  }

  /** The app's extractor on the command as documented (a copy of the arguments after the key), else the default reading in place. */
  #factsOf(traced: TracedCommand, reply: unknown): RedisStateFacts | undefined {
    const isWrite = traced.operation === 'write';
    if (this.#extract) {
      const command: RedisStateCommand = { name: traced.name, key: traced.key, operation: traced.operation!, args: traced.args.slice(traced.at) };
      return this.#extract(command, isWrite ? undefined : reply);
    }
    return defaultFacts(traced.name, isWrite, traced.args, traced.at, reply, this.#versionField, this.#epochField);
  }

  /** Ends a command's span with the driver's error. */
  fail(traced: TracedCommand, error: unknown): void {
    this.inst.endFailed(traced.span, error);
  }

  /**
   * Ends the spans of the commands of one transaction or pipeline with the
   * reply of each (`replies[i]` for `commands[i]`; an Error element is that
   * command's failure), or all with `error` when the batch failed as a whole.
   */
  settleBatch(commands: readonly (TracedCommand | undefined)[], replies: readonly unknown[] | undefined, error?: unknown): void {
    for (let i = 0; i < commands.length; i++) {
      const traced = commands[i];
      if (!traced) continue;
      const reply = replies?.[i];
      if (replies === undefined) this.fail(traced, error);
      else if (reply instanceof Error) this.fail(traced, reply);
      else this.finish(traced, reply);
    }
  }

  #endStream(traced: TracedCommand, reply: unknown): void {
    const { kind, span } = traced;
    if (kind === PUBLISH) {
      this.inst.endMessaging(span, asText(reply));
      return;
    }
    if (kind === RECEIVE) {
      try {
        const { links, count, onlyId } = linksOfEntries(this.inst, reply);
        if (links.length > 0) span.addLinks(links);
        span.setAttribute(MESSAGING_BATCH_MESSAGE_COUNT, count);
        this.inst.endMessaging(span, onlyId);
      } catch (error) {
        this.inst.fault('redis receive', error, span);
        this.inst.endMessaging(span, undefined);
      }
      return;
    }
    this.inst.endMessaging(span, undefined);
  }
}
