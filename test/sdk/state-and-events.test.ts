/**
 * State access and events through the real OTel SDK: the facts the analyzer
 * needs for stale reads, duplicate writes and partial handoffs, on db.* and
 * messaging.* conventions, and trace context carried inside event messages.
 */
import { context, diag, DiagLogLevel, ROOT_CONTEXT, SpanKind, SpanStatusCode } from '@opentelemetry/api';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  BATON_ATTEMPT,
  BATON_EPOCH,
  BATON_EVENT_EXPECTED_TOPIC,
  BATON_OPERATION,
  BATON_IDEMPOTENCY_KEY,
  BATON_STATE_DEDUPLICATED,
  BATON_STATE_FOUND,
  BATON_STATE_KEY,
  BATON_STATE_VERSION_EXPECTED,
  BATON_STATE_VERSION_READ,
  BATON_STATE_VERSION_WRITTEN,
  BATON_STEP,
  BATON_TASK_ID,
  BatonOperation,
  DB_COLLECTION_NAME,
  DB_OPERATION_NAME,
  DB_SYSTEM_NAME,
  GEN_AI_AGENT_NAME,
  MESSAGING_DESTINATION_NAME,
  MESSAGING_MESSAGE_ID,
  MESSAGING_OPERATION_TYPE,
  MESSAGING_SYSTEM,
} from '../../src/model/attributes.js';
import { Baton } from '../../src/sdk/baton.js';
import { InMemoryStateStore, instrumentStore, StateConflictError } from '../../src/sdk/state-store.js';
import { createOtelHarness, onlySpan, type OtelHarness } from '../helpers/otel.js';

let otel: OtelHarness;
let baton: Baton;
beforeEach(() => {
  otel = createOtelHarness();
  baton = new Baton({ tracer: otel.tracer, meter: otel.meter });
});
afterEach(async () => {
  await otel.shutdown();
});

describe('InMemoryStateStore', () => {
  it('versions each key from 1, rejects a write at the wrong expected version, and snapshots lag like a replica', async () => {
    const store = new InMemoryStateStore<string>();
    expect(await store.set('k', 'a', { epoch: 1 })).toEqual({ version: 1, epoch: 1 });
    const replica = store.snapshot();
    expect(await store.set('k', 'b', { expectedVersion: 1 })).toEqual({ version: 2, epoch: 1 });
    await expect(store.set('k', 'c', { expectedVersion: 1 })).rejects.toThrow(StateConflictError);
    await expect(store.set('new', 'x', { expectedVersion: 0 })).resolves.toMatchObject({ version: 1 });
    expect((await replica.get('k'))?.version).toBe(1);
    expect((await store.get('k'))?.value).toBe('b');
  });

  it('answers a repeat of an idempotency key with the first write result, deduplicated, and commits nothing', async () => {
    const store = new InMemoryStateStore<string>();
    expect(await store.set('k', 'first', { idempotencyKey: 't-1:output', epoch: 1 })).toEqual({ version: 1, epoch: 1 });
    await store.set('k', 'update');
    const replica = store.snapshot();
    // A retry expects the version its first attempt replaced: answered, not refused as a conflict.
    const repeat = { idempotencyKey: 't-1:output', expectedVersion: 0, epoch: 2 };
    expect(await store.set('k', 'retry', repeat)).toEqual({ version: 1, epoch: 1, deduplicated: true });
    expect(await store.get('k')).toEqual({ value: 'update', version: 2, epoch: 1 });
    expect(await replica.set('k', 'retry', repeat)).toMatchObject({ version: 1, deduplicated: true });
    // Keys are per state key: the same idempotency key on another key is a new write.
    expect(await store.set('other', 'x', { idempotencyKey: 't-1:output' })).toEqual({ version: 1, epoch: undefined });
  });
});

describe('instrumentStore', () => {
  it('writes a CLIENT span per access with key, versions, epoch, writer, attempt and idempotency key', async () => {
    const store = instrumentStore(baton, new InMemoryStateStore<string>(), { system: 'memory', collection: 'pipeline_state', taskId: 't-1' });
    await store.set('t-1/research', 'draft', { agent: 'research', epoch: 2, attempt: 2, idempotencyKey: 't-1:research:output', step: 'output', announces: 'task.research.complete' });
    await store.get('t-1/research', { agent: 'analysis' });
    await store.get('t-1/missing', { agent: 'analysis' });
    const [write, read, miss] = otel.spans();
    expect(write!.name).toBe('write pipeline_state');
    expect(write!.kind).toBe(SpanKind.CLIENT);
    expect(write!.attributes).toMatchObject({
      [BATON_STATE_KEY]: 't-1/research',
      [DB_SYSTEM_NAME]: 'memory',
      [DB_OPERATION_NAME]: 'write',
      [DB_COLLECTION_NAME]: 'pipeline_state',
      [GEN_AI_AGENT_NAME]: 'research',
      [BATON_TASK_ID]: 't-1',
      [BATON_EPOCH]: 2,
      [BATON_ATTEMPT]: 2,
      [BATON_IDEMPOTENCY_KEY]: 't-1:research:output',
      [BATON_STEP]: 'output',
      [BATON_EVENT_EXPECTED_TOPIC]: 'task.research.complete',
      [BATON_STATE_VERSION_WRITTEN]: 1,
    });
    expect(read!.attributes).toMatchObject({ [BATON_STATE_VERSION_READ]: 1, [BATON_STATE_FOUND]: true, [DB_OPERATION_NAME]: 'read' });
    expect(miss!.attributes[BATON_STATE_FOUND]).toBe(false);
    expect(miss!.attributes[BATON_STATE_VERSION_READ]).toBeUndefined();
  });

  it('records a deduplicated write as such, with the version the first write committed', async () => {
    const raw = new InMemoryStateStore<string>();
    const store = instrumentStore(baton, raw, { system: 'memory', taskId: 't-1' });
    const access = { agent: 'research', idempotencyKey: 't-1:research:output' };
    const first = await store.set('t-1/research', 'draft', { ...access, attempt: 1 });
    const retry = await store.set('t-1/research', 'draft again', { ...access, attempt: 2 });
    expect(retry).toEqual({ ...first, deduplicated: true });
    expect((await raw.get('t-1/research'))?.value).toBe('draft');
    const writes = otel.spans().filter((s) => s.attributes[BATON_OPERATION] === BatonOperation.StateWrite);
    expect(writes.map((s) => [s.attributes[BATON_ATTEMPT], s.attributes[BATON_STATE_VERSION_WRITTEN], s.attributes[BATON_STATE_DEDUPLICATED]])).toEqual([
      [1, 1, undefined],
      [2, 1, true],
    ]);
  });

  it('records deduplicated from any store result that says so, true or false', async () => {
    await baton.traceStateWrite({ key: 'k' }, async () => ({ version: 7, deduplicated: true }));
    await baton.traceStateWrite({ key: 'k' }, () => ({ version: 8, deduplicated: false }));
    await baton.traceStateRead({ key: 'k' }, () => ({ version: 8, deduplicated: true }));
    expect(otel.spans().map((s) => s.attributes[BATON_STATE_DEDUPLICATED])).toEqual([true, false, undefined]);
  });

  it('records a conflicting write as an ERROR span and rethrows the store error to the caller', async () => {
    const store = instrumentStore(baton, new InMemoryStateStore<string>());
    await store.set('k', 'a');
    await expect(store.set('k', 'b', { expectedVersion: 0 })).rejects.toBeInstanceOf(StateConflictError);
    const spans = otel.spans().filter((s) => s.attributes[BATON_STATE_KEY] === 'k');
    expect(spans[1]!.status.code).toBe(SpanStatusCode.ERROR);
    expect(spans[1]!.attributes[BATON_STATE_VERSION_EXPECTED]).toBe(0);
  });

  it('says once through diag that a null store traces nothing; its calls fail as the app\'s own calls on null would', () => {
    const warnings: string[] = [];
    diag.setLogger({ error: () => undefined, warn: (m: string) => warnings.push(m), info: () => undefined, debug: () => undefined, verbose: () => undefined }, DiagLogLevel.WARN);
    try {
      const store = instrumentStore(baton, null as never);
      expect(warnings).toEqual(['baton: instrumentStore needs a store with get and set, got null: nothing is traced']);
      expect(() => store.get('k')).toThrow(TypeError);
      expect(instrumentStore(baton, new InMemoryStateStore<string>())).toBeDefined();
      expect(warnings).toHaveLength(1);
    } finally {
      diag.disable();
    }
  });

  it('does not assume the store: any VersionedStateStore works, sync facts included', async () => {
    const versions = new Map<string, number>();
    const custom = {
      get: async (key: string) => (versions.has(key) ? { value: key, version: versions.get(key)!, epoch: 7 } : undefined),
      set: async (key: string) => {
        versions.set(key, (versions.get(key) ?? 41) + 1);
        return { version: versions.get(key)!, epoch: 7 };
      },
    };
    const store = instrumentStore(baton, custom, { system: 'redis' });
    await store.set('x', 'v');
    await store.get('x');
    expect(otel.spans().map((s) => [s.attributes[DB_SYSTEM_NAME], s.attributes[BATON_STATE_VERSION_WRITTEN] ?? s.attributes[BATON_STATE_VERSION_READ], s.attributes[BATON_EPOCH]])).toEqual([
      ['redis', 42, 7],
      ['redis', 42, 7],
    ]);
  });
});

describe('instrumentStore with access facts that cannot be read', () => {
  it('calls the store as the app would have, untraced, and returns what it returns', async () => {
    const store = instrumentStore(baton, new InMemoryStateStore<string>());
    const hostile = new Proxy({}, {
      ownKeys: () => {
        throw new Error('access on fire');
      },
    });
    await expect(store.set('k', 'v', hostile as never)).resolves.toEqual({ version: 1, epoch: undefined });
    await expect(store.get('k', hostile as never)).resolves.toEqual({ value: 'v', version: 1, epoch: undefined });
    expect(otel.spans()).toEqual([]);
    expect(baton.stats().faults).toBe(0);
  });
});

describe('publish and consume', () => {
  it('carries trace context in the message so the consume links to the publish across processes', () => {
    const message = baton.runAgent('research', () =>
      baton.publish({ topic: 'task.research.complete', taskId: 't-1', agent: 'research', key: 't-1/research', stateVersion: 2 }),
    );
    const wire = JSON.parse(JSON.stringify(message));
    context.with(ROOT_CONTEXT, () => baton.runAgent('coordinator', () => baton.consume(wire, () => 'handled', { agent: 'coordinator' })));
    const publish = onlySpan(otel.spans(), BatonOperation.EventPublish);
    const consume = onlySpan(otel.spans(), BatonOperation.EventConsume);
    expect(publish.kind).toBe(SpanKind.PRODUCER);
    expect(consume.kind).toBe(SpanKind.CONSUMER);
    expect(publish.attributes).toMatchObject({
      [MESSAGING_SYSTEM]: 'baton',
      [MESSAGING_DESTINATION_NAME]: 'task.research.complete',
      [MESSAGING_MESSAGE_ID]: message.id,
      [MESSAGING_OPERATION_TYPE]: 'send',
      [BATON_TASK_ID]: 't-1',
      [BATON_STATE_KEY]: 't-1/research',
      [BATON_STATE_VERSION_WRITTEN]: 2,
    });
    expect(consume.attributes).toMatchObject({ [MESSAGING_MESSAGE_ID]: message.id, [MESSAGING_OPERATION_TYPE]: 'process' });
    expect(consume.links.map((l) => l.context.spanId)).toEqual([publish.spanContext().spanId]);
  });

  it('returns what the handler returns, and rethrows what it throws', async () => {
    const message = baton.publish({ topic: 't' });
    expect(baton.consume(message, () => 42)).toBe(42);
    await expect(baton.consume(message, async () => Promise.reject(new Error('handler failed')))).rejects.toThrow('handler failed');
  });
});
