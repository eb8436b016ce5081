/**
 * detectLostUpdates (rule lost-update) on traces the real SDK records over the real
 * OTel SDK: agents, each in one run, read and write one key of a shared store in a
 * given interleaving (the program logs what each access returned and the span it ran
 * in, and the expectations come from that log, never from the trace). The lost
 * update of two agents that both read version 1, its near misses (the writes
 * serialized, a compare-and-set the store refused, a retry of one logical write,
 * which is duplicate-write's), what the rule says when it cannot judge a write, a
 * property over random interleavings, and the cost on a hot key.
 */
import { context, ROOT_CONTEXT, trace } from '@opentelemetry/api';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { Auditor } from '../../../src/analyze/audit.js';
import { buildHandoffGraph } from '../../../src/analyze/build-graph.js';
import { buildHandoffModel } from '../../../src/analyze/build-model.js';
import { detectDuplicateWrites } from '../../../src/analyze/detectors/duplicate-write.js';
import { createLostUpdateRun, detectLostUpdates, RULE } from '../../../src/analyze/detectors/lost-update.js';
import { detectStaleEpochReads } from '../../../src/analyze/detectors/stale-epoch-read.js';
import { BATON_STATE_VERSION_WRITTEN, BatonOperation } from '../../../src/model/attributes.js';
import type { HandoffGraph, HandoffModel, StateAccessRecord } from '../../../src/model/handoff-model.js';
import type { SpanRecord } from '../../../src/model/span-record.js';
import { Baton } from '../../../src/sdk/baton.js';
import { InMemoryStateStore, instrumentStore, StateConflictError, type VersionedStateStore } from '../../../src/sdk/state-store.js';
import { auditOne, graphOf, invalidGraphs, isOperation, stripAttributes, expectCouldNotRun } from '../../helpers/analyze.js';
import { createOtelHarness, type OtelHarness } from '../../helpers/otel.js';
import { toSpanRecords } from '../../helpers/traces.js';

const UNVERSIONED = 'state writes without baton.state.version_written: what they replaced cannot be told';
const UNKNOWN_WRITER = 'state writes naming no agent, task, agent run or idempotency key: whose update they replaced cannot be told';

/** One access of the shared key `doc`: a read, a plain write, or a compare-and-set on the version the agent last saw. */
interface Step {
  readonly agent: string;
  readonly op: 'read' | 'write' | 'cas';
  /** For writes: the idempotency key and attempt the app gives. */
  readonly idempotencyKey?: string;
  readonly attempt?: number;
}

/** What the program saw at one step: the version the store answered (0: no key), a refusal, and the span the access ran in. */
interface Logged {
  readonly agent: string;
  readonly op: Step['op'];
  readonly version: number | undefined;
  readonly conflict: boolean;
  readonly spanId: string;
}

function deferred(): { promise: Promise<void>; resolve: () => void } {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => (resolve = r));
  return { promise, resolve };
}

/**
 * Runs `steps` against one InMemoryStateStore (versions assigned by the store), traced through
 * instrumentStore: each agent is one `runAgent` run, all of them running at once, each waiting
 * for its turn, so the interleaving is exactly `steps`. `tasks` gives an agent's task (default t1).
 */
async function play(
  steps: readonly Step[],
  options: {
    readonly initial?: boolean;
    readonly tasks?: Readonly<Record<string, string>>;
    /** A store that ignores idempotency keys, as most plain key-value writes do: a retry commits again. */
    readonly ignoreIdempotencyKeys?: boolean;
    readonly otel?: OtelHarness;
  } = {},
): Promise<{ spans: SpanRecord[]; log: Logged[] }> {
  const otel = options.otel ?? createOtelHarness();
  const baton = new Baton({ tracer: otel.tracer, meter: otel.meter });
  const raw = new InMemoryStateStore<string>();
  if (options.initial !== false) await raw.set('doc', 'by setup'); // untraced: version 1
  // The app's own store under the instrumentation: it notes the span each access ran in.
  let spanId = '';
  const noted = () => (spanId = trace.getActiveSpan()?.spanContext().spanId ?? '');
  const app: VersionedStateStore<string> = {
    get: async (key) => (noted(), raw.get(key)),
    set: async (key, value, writeOptions) => {
      noted();
      if (!options.ignoreIdempotencyKeys || writeOptions === undefined) return raw.set(key, value, writeOptions);
      const { idempotencyKey: _ignored, ...rest } = writeOptions;
      return raw.set(key, value, rest);
    },
  };
  const store = instrumentStore(baton, app, { system: 'memory' });
  const turns = steps.map(() => deferred());
  const done = steps.map(() => deferred());
  const seen = new Map<string, number>();
  const log: Logged[] = [];
  const agents = [...new Set(steps.map((s) => s.agent))];
  const runs = agents.map((agent) =>
    context.with(ROOT_CONTEXT, () =>
      baton.runAgent(
        agent,
        async () => {
          for (let i = 0; i < steps.length; i++) {
            const step = steps[i]!;
            if (step.agent !== agent) continue;
            await turns[i]!.promise;
            const taskId = options.tasks?.[agent] ?? 't1';
            if (step.op === 'read') {
              const entry = await store.get('doc', { taskId });
              seen.set(agent, entry?.version ?? 0);
              log[i] = { agent, op: step.op, version: entry?.version ?? 0, conflict: false, spanId };
            } else {
              const access = {
                taskId,
                ...(step.op === 'cas' ? { expectedVersion: seen.get(agent) ?? 0 } : {}),
                ...(step.idempotencyKey !== undefined ? { idempotencyKey: step.idempotencyKey } : {}),
                ...(step.attempt !== undefined ? { attempt: step.attempt } : {}),
              };
              try {
                const written = await store.set('doc', `by ${agent}`, access);
                seen.set(agent, written.version);
                log[i] = { agent, op: step.op, version: written.version, conflict: false, spanId };
              } catch (error) {
                if (!(error instanceof StateConflictError)) throw error;
                log[i] = { agent, op: step.op, version: undefined, conflict: true, spanId };
              }
            }
            done[i]!.resolve();
          }
        },
        { taskId: options.tasks?.[agent] ?? 't1' },
      ),
    ),
  );
  for (let i = 0; i < steps.length; i++) {
    turns[i]!.resolve();
    await done[i]!.promise;
  }
  await Promise.all(runs);
  const spans = toSpanRecords(otel.spans());
  if (!options.otel) await otel.shutdown();
  return { spans, log };
}

const read = (agent: string): Step => ({ agent, op: 'read' });
const write = (agent: string, extra: Partial<Step> = {}): Step => ({ agent, op: 'write', ...extra });
const cas = (agent: string): Step => ({ agent, op: 'cas' });

describe('detectLostUpdates', () => {
  it.each(invalidGraphs())('throws a TypeError prefixed "lost-update:" for %s', (_label, input) => {
    expect(() => detectLostUpdates(input as HandoffGraph)).toThrow(TypeError);
    expect(() => detectLostUpdates(input as HandoffGraph)).toThrow(/^lost-update: expected a HandoffGraph/);
  });

  it('reports the second of two agents that both read version 1 and wrote on it: the two writes and the read it was based on', async () => {
    const { spans, log } = await play([read('alice'), read('bob'), write('alice'), write('bob')]);
    const [aliceRead, bobRead, aliceWrite, bobWrite] = log;
    // What the program saw: both read version 1, and both writes committed, bob's last.
    expect([aliceRead!.version, bobRead!.version, aliceWrite!.conflict, bobWrite!.conflict]).toEqual([1, 1, false, false]);
    const result = detectLostUpdates(graphOf(spans));
    const bobWriteSpan = spans.find((s) => s.spanId === bobWrite!.spanId)!;
    expect(result.findings).toEqual([
      {
        ruleId: RULE,
        severity: 'error',
        message: `bob overwrote alice's update of doc: bob wrote version ${bobWrite!.version} based on version ${bobRead!.version} it had read, after alice had committed version ${aliceWrite!.version}`,
        hint: expect.stringContaining('compare-and-set on the version read'),
        evidence: {
          traceId: bobWriteSpan.traceId,
          traceIds: [bobWriteSpan.traceId, spans.find((s) => s.spanId === aliceWrite!.spanId)!.traceId],
          spanIds: [bobWrite!.spanId, aliceWrite!.spanId, bobRead!.spanId],
          startMs: bobWriteSpan.startMs,
        },
        agents: ['bob', 'alice'],
        taskId: 't1',
      },
    ]);
    expect(result.checked).toBe(2);
    expect(result.notEvaluated).toEqual([]);
    // Not the same logical write twice: duplicate-write has nothing to say.
    expect(detectDuplicateWrites(graphOf(spans)).findings).toEqual([]);
  });

  it('reports each write that overwrote an update it never saw, naming the newest one, however many writers raced', async () => {
    const { spans, log } = await play([read('a'), read('b'), read('c'), write('a'), write('b'), write('c')]);
    const findings = detectLostUpdates(graphOf(spans)).findings;
    // b overwrote a's version; c overwrote b's (which already held nothing of a's).
    expect(findings.map((f) => f.evidence.spanIds.slice(0, 2))).toEqual([
      [log[4]!.spanId, log[3]!.spanId],
      [log[5]!.spanId, log[4]!.spanId],
    ]);
    expect(findings[1]!.message).toBe(`c overwrote b's update of doc: c wrote version ${log[5]!.version} based on version 1 it had read, after b had committed version ${log[4]!.version}`);
  });

  it('reports a write still in flight when the other committed, numbered after it by the store (versions the store assigns)', async () => {
    const otel = createOtelHarness();
    const baton = new Baton({ tracer: otel.tracer, meter: otel.meter });
    const raw = new InMemoryStateStore<string>();
    await raw.set('doc', 'initial');
    const commit = { alice: deferred(), bob: deferred() };
    const sent = { alice: deferred(), bob: deferred() };
    const log: Record<string, { read?: number; wrote?: number; spanId?: string }> = { alice: {}, bob: {} };
    const bothRead = deferred();
    let readers = 0;
    const agent = (name: 'alice' | 'bob') => {
      // Each agent's own client; the store holds the write until the test lets it commit.
      const store = instrumentStore(baton, {
        get: (key) => raw.get(key),
        set: async (key, value, options) => {
          log[name]!.spanId = trace.getActiveSpan()!.spanContext().spanId;
          sent[name].resolve();
          await commit[name].promise;
          return raw.set(key, value, options);
        },
      }, { system: 'memory' });
      return context.with(ROOT_CONTEXT, () =>
        baton.runAgent(name, async () => {
          log[name]!.read = (await store.get('doc'))!.version;
          if (++readers === 2) bothRead.resolve();
          await bothRead.promise;
          log[name]!.wrote = (await store.set('doc', `by ${name}`)).version;
        }),
      );
    };
    const runs = [agent('alice'), agent('bob')];
    await Promise.all([sent.alice.promise, sent.bob.promise]); // both writes in flight
    commit.alice.resolve();
    await new Promise((r) => setTimeout(r, 5)); // alice answered
    commit.bob.resolve();
    await Promise.all(runs);
    const spans = toSpanRecords(otel.spans());
    await otel.shutdown();
    expect(log).toMatchObject({ alice: { read: 1, wrote: 2 }, bob: { read: 1, wrote: 3 } });
    const [aliceWrite, bobWrite] = [log.alice!.spanId, log.bob!.spanId].map((id) => spans.find((s) => s.spanId === id)!);
    expect(bobWrite!.startMs).toBeLessThan(aliceWrite!.endMs);
    expect(detectLostUpdates(graphOf(spans)).findings.map((f) => [f.message, f.evidence.spanIds.slice(0, 2)])).toEqual([
      ["bob overwrote alice's update of doc: bob wrote version 3 based on version 1 it had read, after alice had committed version 2", [bobWrite!.spanId, aliceWrite!.spanId]],
    ]);
  });

  it('leaves a write on a read that was already stale when it began to stale-epoch-read, which reports the read', async () => {
    const otel = createOtelHarness();
    const baton = new Baton({ tracer: otel.tracer, meter: otel.meter });
    const raw = new InMemoryStateStore<string>();
    await raw.set('doc', 'initial');
    const primary = instrumentStore(baton, raw, { system: 'memory' });
    const replica = instrumentStore(baton, raw.snapshot(), { system: 'memory', collection: 'doc_replica' }); // lags from here on
    const alice = await context.with(ROOT_CONTEXT, () => baton.runAgent('alice', () => primary.set('doc', 'by alice')));
    const bob = await context.with(ROOT_CONTEXT, () =>
      baton.runAgent('bob', async () => ({ read: (await replica.get('doc'))!.version, wrote: (await primary.set('doc', 'by bob')).version })),
    );
    const spans = toSpanRecords(otel.spans());
    await otel.shutdown();
    expect([bob.read, alice.version, bob.wrote]).toEqual([1, 2, 3]);
    const [bobRead] = spans.filter(isOperation(BatonOperation.StateRead));
    const [aliceWrite, bobWrite] = spans.filter(isOperation(BatonOperation.StateWrite)).sort((a, b) => a.startMs - b.startMs);
    const graph = graphOf(spans);
    expect(detectStaleEpochReads(graph).findings.map((f) => f.evidence.spanIds)).toEqual([[bobRead!.spanId, aliceWrite!.spanId]]);
    expect(bobWrite!.startMs).toBeGreaterThan(bobRead!.endMs);
    // Not reported twice: the commit bob missed was there when he read, so the read is the fault, and it is reported.
    expect(detectLostUpdates(graph)).toEqual({ findings: [], checked: 2, notEvaluated: [] });
  });

  describe('near misses', () => {
    it('finds nothing when the second agent read the first one’s version before writing on it (the writes serialized)', async () => {
      const { spans, log } = await play([read('alice'), write('alice'), read('bob'), write('bob')]);
      expect(log.map((l) => l.version)).toEqual([1, 2, 2, 3]);
      expect(detectLostUpdates(graphOf(spans))).toEqual({ findings: [], checked: 2, notEvaluated: [] });
    });

    it('finds nothing when the second write is a compare-and-set the store refused, and counts the one that committed', async () => {
      const { spans, log } = await play([read('alice'), read('bob'), cas('alice'), cas('bob')]);
      expect(log.map((l) => [l.version, l.conflict])).toEqual([
        [1, false],
        [1, false],
        [2, false],
        [undefined, true],
      ]);
      expect(detectLostUpdates(graphOf(spans))).toEqual({ findings: [], checked: 1, notEvaluated: [] });
    });

    it('leaves a retry of one logical write (one idempotency key) to duplicate-write, though the retry wrote on a read older than the first attempt', async () => {
      // The worker's attempt 1 commits but its reply is lost to the coordinator, which read before it and retries blind.
      const { spans, log } = await play([
        read('coordinator'),
        read('worker'),
        write('worker', { idempotencyKey: 't1:summary', attempt: 1 }),
        write('coordinator', { idempotencyKey: 't1:summary', attempt: 2 }),
      ], { ignoreIdempotencyKeys: true });
      expect(log.map((l) => l.version)).toEqual([1, 1, 2, 3]);
      expect(detectLostUpdates(graphOf(spans))).toEqual({ findings: [], checked: 2, notEvaluated: [] });
      expect(detectDuplicateWrites(graphOf(spans)).findings.map((f) => f.evidence.spanIds)).toEqual([[log[2]!.spanId, log[3]!.spanId]]);
    });

    it('finds nothing when an agent writes again on its own write, without reading again', async () => {
      const { spans } = await play([read('alice'), write('alice'), write('alice'), read('bob'), write('bob')]);
      expect(detectLostUpdates(graphOf(spans))).toEqual({ findings: [], checked: 3, notEvaluated: [] });
    });
  });

  it('reports a write on a read that found no key, after another writer created it', async () => {
    const { spans, log } = await play([read('alice'), read('bob'), write('alice'), write('bob')], { initial: false });
    expect(log.map((l) => l.version)).toEqual([0, 0, 1, 2]);
    expect(detectLostUpdates(graphOf(spans)).findings.map((f) => f.message)).toEqual([
      "bob overwrote alice's update of doc: bob wrote version 2 based on a read that found no such key, after alice had committed version 1",
    ]);
  });

  it('names the same agent by its task, or as another run of it, when the two writers share a name', async () => {
    const inTasks = await play([read('worker'), read('planner'), write('worker'), write('planner')], { tasks: { worker: 't1', planner: 't2' } });
    // The second agent's name is replaced by the first's, so both writes are "worker" but in two tasks.
    const renamed = inTasks.spans.map((s) =>
      s.attributes['gen_ai.agent.name'] === 'planner' ? { ...s, attributes: { ...s.attributes, 'gen_ai.agent.name': 'worker' } } : s,
    );
    expect(detectLostUpdates(graphOf(renamed)).findings.map((f) => f.message)).toEqual([
      `worker overwrote worker (task t1)'s update of doc: worker wrote version 3 based on version 1 it had read, after worker (task t1) had committed version 2`,
    ]);
    const oneTask = await play([read('worker'), read('planner'), write('worker'), write('planner')]);
    const sameTask = oneTask.spans.map((s) =>
      s.attributes['gen_ai.agent.name'] === 'planner' ? { ...s, attributes: { ...s.attributes, 'gen_ai.agent.name': 'worker' } } : s,
    );
    expect(detectLostUpdates(graphOf(sameTask)).findings.map((f) => f.message.slice(0, f.message.indexOf(':')))).toEqual([
      "worker overwrote another run of worker's update of doc",
    ]);
  });

  describe('versions the app writes itself (a JSON value with a version field, GET then SET)', () => {
    /**
     * Two agents read a JSON document and write it back with version + 1 through hand-traced
     * GET/SET (traceStateRead/Write), as an app does over a plain key-value store. `order` says
     * whose SET is answered first; with `overlap` both SETs are in flight together.
     */
    async function jsonRace(options: { readonly overlap: boolean; readonly reads?: boolean }) {
      const otel = createOtelHarness();
      const baton = new Baton({ tracer: otel.tracer, meter: otel.meter });
      const kv = new Map<string, string>([['doc', JSON.stringify({ version: 1, items: [] })]]);
      const log: { agent: string; read?: number; wrote?: number; spanId?: string }[] = [];
      const bothRead = deferred();
      const aliceAnswered = deferred();
      let readers = 0;
      const agent = (name: string) =>
        context.with(ROOT_CONTEXT, () =>
          baton.runAgent(
            name,
            async () => {
              const entry = { agent: name } as (typeof log)[number];
              log.push(entry);
              const doc =
                options.reads === false
                  ? (JSON.parse(kv.get('doc')!) as { version: number; items: string[] })
                  : await baton.traceStateRead({ key: 'doc', system: 'redis' }, async () => {
                      const value = JSON.parse(kv.get('doc')!) as { version: number; items: string[] };
                      entry.read = value.version;
                      return value;
                    });
              if (++readers === 2) bothRead.resolve();
              await bothRead.promise;
              // Bob's SET is sent after alice's; with overlap, before alice's is answered.
              if (name === 'bob' && !options.overlap) await aliceAnswered.promise;
              await baton.traceStateWrite({ key: 'doc', system: 'redis' }, async () => {
                entry.spanId = trace.getActiveSpan()!.spanContext().spanId;
                const next = { version: doc.version + 1, items: [...doc.items, name] };
                if (name === 'bob' && options.overlap) await aliceAnswered.promise;
                kv.set('doc', JSON.stringify(next));
                entry.wrote = next.version;
                await new Promise((r) => setTimeout(r, 2));
                return { version: next.version };
              });
              if (name === 'alice') aliceAnswered.resolve();
            },
            { taskId: 't1' },
          ),
        );
      await Promise.all([agent('alice'), agent('bob')]);
      const spans = toSpanRecords(otel.spans());
      await otel.shutdown();
      return { spans, log, final: JSON.parse(kv.get('doc')!) as { version: number; items: string[] } };
    }

    it('reports two writes that both claim version 2, against the later one, one after the other or in flight together', async () => {
      for (const overlap of [false, true]) {
        const { spans, log, final } = await jsonRace({ overlap });
        const [alice, bob] = log;
        // The store's own account: both wrote version 2 on version 1, and alice's item is gone.
        expect([alice!.read, alice!.wrote, bob!.read, bob!.wrote]).toEqual([1, 2, 1, 2]);
        expect(final.items).toEqual(['bob']);
        const writes = spans.filter(isOperation(BatonOperation.StateWrite));
        if (overlap) expect(writes[1]!.startMs).toBeLessThan(writes[0]!.endMs);
        const findings = detectLostUpdates(graphOf(spans)).findings;
        expect(findings.map((f) => [f.severity, f.message, f.evidence.spanIds.slice(0, 2)])).toEqual([
          ['error', "bob overwrote alice's update of doc: bob wrote version 2 based on version 1 it had read, after alice had committed version 2", [bob!.spanId, alice!.spanId]],
        ]);
      }
    });

    it('with no read in the data, takes a write of version 2 as based on version 1 and warns that it inferred so', async () => {
      const { spans, log } = await jsonRace({ overlap: false, reads: false });
      expect(spans.filter(isOperation(BatonOperation.StateRead))).toEqual([]);
      const result = detectLostUpdates(graphOf(spans));
      expect(result.findings.map((f) => [f.severity, f.message, f.evidence.spanIds])).toEqual([
        [
          'warning',
          "bob overwrote alice's update of doc: bob wrote version 2 with no read of the key in the data (taken as based on version 1), after alice had committed version 2",
          [log[1]!.spanId, log[0]!.spanId],
        ],
      ]);
      expect(result.checked).toBe(2);
    });
  });

  it.each([
    [-1e308, 1e308],
    [Number.MAX_SAFE_INTEGER, Number.MAX_SAFE_INTEGER + 2],
  ])('ends on versions too large to count down (read %d, wrote %d), still reporting the race', async (readVersion, wroteVersion) => {
    const otel = createOtelHarness();
    const baton = new Baton({ tracer: otel.tracer, meter: otel.meter });
    const bothRead = deferred();
    const aliceWrote = deferred();
    let readers = 0;
    const rmw = (agent: string, after: Promise<void>) =>
      context.with(ROOT_CONTEXT, () =>
        baton.runAgent(agent, async () => {
          baton.traceStateRead({ key: 'doc' }, () => ({ version: readVersion }));
          if (++readers === 2) bothRead.resolve();
          await bothRead.promise;
          await after;
          baton.traceStateWrite({ key: 'doc' }, () => ({ version: wroteVersion }));
        }),
      );
    await Promise.all([rmw('alice', Promise.resolve()).then(aliceWrote.resolve), rmw('bob', aliceWrote.promise)]);
    const spans = toSpanRecords(otel.spans());
    await otel.shutdown();
    const result = detectLostUpdates(graphOf(spans));
    expect(result.findings.map((f) => f.message)).toEqual([
      `bob overwrote alice's update of doc: bob wrote version ${wroteVersion} based on version ${readVersion} it had read, after alice had committed version ${wroteVersion}`,
    ]);
  });

  describe('when writes cannot be judged', () => {
    it('counts writes without a version as not evaluated, rather than passing them', async () => {
      const { spans } = await play([read('alice'), read('bob'), write('alice'), write('bob')]);
      const stripped = stripAttributes(spans, [BATON_STATE_VERSION_WRITTEN]);
      expect(detectLostUpdates(graphOf(stripped))).toEqual({ findings: [], checked: 0, notEvaluated: [{ count: 2, reason: UNVERSIONED }] });
      expectCouldNotRun(await auditOne(stripped, { only: [RULE] }), RULE, [{ count: 2, reason: UNVERSIONED }]);
    });

    it('counts writes naming no agent, task, agent run or idempotency key as not evaluated, and still sees what they committed', async () => {
      const otel = createOtelHarness();
      const baton = new Baton({ tracer: otel.tracer, meter: otel.meter });
      // The editor reads version 1; a migration script, outside any agent, writes version 2; the editor writes on its read.
      const scriptDone = deferred();
      const log: { read?: number; script?: number; wrote?: number } = {};
      const editor = context.with(ROOT_CONTEXT, () =>
        baton.runAgent('editor', async () => {
          log.read = baton.traceStateRead({ key: 'doc' }, () => ({ version: 1 })).version;
          await scriptDone.promise;
          log.wrote = baton.traceStateWrite({ key: 'doc' }, () => ({ version: log.read! + 1 })).version;
        }),
      );
      log.script = context.with(ROOT_CONTEXT, () => baton.traceStateWrite({ key: 'doc' }, () => ({ version: 2 }))).version;
      scriptDone.resolve();
      await editor;
      const spans = toSpanRecords(otel.spans());
      await otel.shutdown();
      const result = detectLostUpdates(graphOf(spans));
      expect(result.findings.map((f) => f.message)).toEqual([
        `editor overwrote another writer's update of doc: editor wrote version ${log.wrote} based on version ${log.read} it had read, after another writer had committed version ${log.script}`,
      ]);
      expect(result.checked).toBe(1);
      expect(result.notEvaluated).toEqual([{ count: 1, reason: UNKNOWN_WRITER }]);
    });
  });

  describe('streamed', () => {
    it('reports the same streamed group by group, the clock advancing between them, as all at once', async () => {
      const { spans } = await play([read('a'), read('b'), write('a'), read('c'), write('b'), write('c'), read('a'), write('a')]);
      const whole = new Auditor({ only: [RULE] });
      whole.addSpans(spans);
      const expected = whole.finish();
      expect(expected.findings.length).toBeGreaterThan(0);
      // One trace per agent run: streamed in end order, the clock moving past each.
      const byTrace = new Map<string, SpanRecord[]>();
      for (const span of spans) {
        if (!byTrace.has(span.traceId)) byTrace.set(span.traceId, []);
        byTrace.get(span.traceId)!.push(span);
      }
      const streamed = new Auditor({ only: [RULE], idleMs: 1, completeIdleMs: 1 });
      const batches = [...byTrace.values()].sort((x, y) => Math.min(...x.map((s) => s.startMs)) - Math.min(...y.map((s) => s.startMs)));
      for (const batch of batches) {
        streamed.addSpans(batch);
        streamed.advance(Math.max(...batch.map((s) => s.endMs)) + 10);
      }
      expect(streamed.finish().findings).toEqual(expected.findings);
    });
  });

  it('holds to its definition on random interleavings: a plain write is reported iff another writer committed after its writer last saw the key', async () => {
    const agents = ['ann', 'ben', 'cal'];
    const stepArb = fc.record({ agent: fc.constantFrom(...agents), op: fc.constantFrom<Step['op']>('read', 'write', 'cas') });
    // How many generated writes were lost updates and how many were not: the property must see both.
    const seen = { lost: 0, kept: 0 };
    await fc.assert(
      fc.asyncProperty(fc.array(stepArb, { minLength: 1, maxLength: 14 }), fc.boolean(), async (steps, initial) => {
        const { spans, log } = await play(steps, { initial });
        // The oracle, from what the program saw: per agent the version it last read or wrote, and the commits in order.
        const last = new Map<string, { version: number; kind: 'read' | 'write' }>();
        let current: { version: number; by: number } | undefined = initial ? { version: 1, by: -1 } : undefined;
        const expected: { subject: string; overwritten: string; message: string }[] = [];
        log.forEach((entry, i) => {
          if (entry.op === 'read') last.set(entry.agent, { version: entry.version!, kind: 'read' });
          else if (!entry.conflict) {
            const saw = last.get(entry.agent);
            if (entry.op === 'write' && saw !== undefined && current !== undefined && current.version > saw.version && current.by >= 0) {
              const other = log[current.by]!;
              const basis =
                saw.kind === 'write'
                  ? `version ${saw.version} it had written itself`
                  : saw.version === 0
                    ? 'a read that found no such key'
                    : `version ${saw.version} it had read`;
              expected.push({
                subject: entry.spanId,
                overwritten: other.spanId,
                message: `${entry.agent} overwrote ${other.agent}'s update of doc: ${entry.agent} wrote version ${entry.version} based on ${basis}, after ${other.agent} had committed version ${current.version}`,
              });
            }
            last.set(entry.agent, { version: entry.version!, kind: 'write' });
            current = { version: entry.version!, by: i };
          }
        });
        const result = detectLostUpdates(graphOf(spans));
        expect(result.findings.map((f) => ({ subject: f.evidence.spanIds[0], overwritten: f.evidence.spanIds[1], message: f.message }))).toEqual(expected);
        seen.lost += expected.length;
        seen.kept += log.filter((l) => l.op === 'write').length - expected.length;
        // Every write that committed was judged (the setup's write is not in the trace).
        expect(result.checked).toBe(log.filter((l) => l.op !== 'read' && !l.conflict).length);
        expect(result.notEvaluated).toEqual([]);
      }),
      { numRuns: 60 },
    );
    expect(seen.lost).toBeGreaterThan(0);
    expect(seen.kept).toBeGreaterThan(0);
  });

  describe('cost on a hot key', () => {
    /** A model holding only `accesses`, as a trace group with those state accesses. */
    function graphWith(accesses: StateAccessRecord[]): HandoffGraph {
      const model: HandoffModel = { ...buildHandoffModel([]), stateAccesses: accesses };
      return buildHandoffGraph(model);
    }

    function access(i: number, fields: Partial<StateAccessRecord> & Pick<StateAccessRecord, 'kind' | 'startMs' | 'endMs'>): StateAccessRecord {
      return {
        traceId: 'hot',
        spanId: i.toString(16).padStart(16, '0'),
        key: 'hot-key',
        store: 'redis',
        dialect: 'baton',
        agent: undefined,
        taskId: 'hot-task',
        ok: true,
        agentRunSpanId: undefined,
        ...fields,
      };
    }

    it('judges 300k writes of one key by 1000 agent runs in n log n: every 1000th based on a read taken before the write just before it', () => {
      const n = 300_000;
      const accesses: StateAccessRecord[] = [];
      let version = 1;
      for (let i = 0; i < n; i++) {
        const run = `run-${i % 1000}`;
        const t = i * 10;
        // A race: this run read before the previous run's write (t - 8 … t - 7) committed, and writes after it.
        const race = i % 1000 === 999;
        const read = race ? { startMs: t - 9.5, endMs: t - 9.2, versionRead: version - 1 } : { startMs: t, endMs: t + 1, versionRead: version };
        accesses.push(access(2 * i, { kind: 'read', ...read, agent: run, agentRunSpanId: run }));
        version++;
        accesses.push(access(2 * i + 1, { kind: 'write', startMs: t + 2, endMs: t + 3, versionWritten: version, agent: run, agentRunSpanId: run }));
      }
      const result = detectLostUpdates(graphWith(accesses));
      expect(result.checked).toBe(n);
      expect(result.findings).toHaveLength(300);
    });

    it('judges 300k overlapping writes that all claim version 2 in n log n (each write is found against the earliest one)', () => {
      const n = 300_000;
      const accesses: StateAccessRecord[] = [];
      for (let i = 0; i < n; i++) {
        accesses.push(access(i, { kind: 'write', startMs: 0, endMs: 1 + i, versionWritten: 2, agent: `w${i}`, agentRunSpanId: `w${i}` }));
      }
      const run = createLostUpdateRun();
      expect(run.group(graphWith(accesses), 0).checked).toBe(n);
      const findings = run.finish!(n + 1).findings;
      expect(findings).toHaveLength(n - 1);
      expect(new Set(findings.map((f) => f.evidence.spanIds[1]))).toEqual(new Set([access(0, { kind: 'write', startMs: 0, endMs: 1 }).spanId]));
    });
  });
});
