/**
 * detectPartialHandoffs (rule partial-handoff) on the committed fixtures: the
 * writer of `partial-handoff.json` that never published its completion event,
 * events nobody consumed (and the unconsumedEvents and graceMs options), and
 * what the rule says when writes do not name the event that must follow them.
 */
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { detectPartialHandoffs, RULE } from '../../../src/analyze/detectors/partial-handoff.js';
import { BATON_EVENT_EXPECTED_TOPIC, BATON_IDEMPOTENCY_KEY, BatonOperation, MESSAGING_MESSAGE_ID } from '../../../src/model/attributes.js';
import type { HandoffGraph } from '../../../src/model/handoff-model.js';
import type { SpanRecord } from '../../../src/model/span-record.js';
import { auditOne, graphOf, invalidGraphs, isOperation, ruleOf, stripAttributes } from '../../helpers/analyze.js';
import { Baton } from '../../../src/sdk/baton.js';
import { InMemoryStateStore, instrumentStore } from '../../../src/sdk/state-store.js';
import { instrumentRedis, RedisStateStore, RedisStreamBus } from '../../../src/stores/redis.js';
import { createOtelHarness } from '../../helpers/otel.js';
import { shouldSkipStoreTests, startRedis, type RunningServer } from '../../helpers/servers.js';
import { loadFixture, toSpanRecords } from '../../helpers/traces.js';

const PARTIAL_TRACE = '6ddc1580eea6fc537d67dff395736890';
// partial-handoff.json: writer's state.write of key research-partial-handoff/writer,
// expected_topic task.writer.complete (no event.publish on that topic follows it).
const WRITER_WRITE = '8ba5ba35484c22ce';

// clean.json: the five event.publish spans, by start time. Their messaging.message.id
// is a fresh UUID each time the fixtures are generated: read it from the fixture.
const CLEAN_PUBLISHES = [
  ['88718f9fc4a79f37', 'task.triage.complete', 'triage'],
  ['926642306ef69eea', 'task.research.complete', 'research'],
  ['233ef26bb9d41c51', 'task.analysis.complete', 'analysis'],
  ['ad628694abb37d8c', 'task.writer.complete', 'writer'],
  ['a72dce051651aea9', 'task.reviewer.complete', 'reviewer'],
] as const;

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** The messaging.message.id the SDK stamped on the publish span `spanId` of `spans`. */
function messageIdOf(spans: readonly SpanRecord[], spanId: string): string {
  const id = spans.find((s) => s.spanId === spanId)?.attributes[MESSAGING_MESSAGE_ID];
  if (typeof id !== 'string' || !UUID.test(id)) throw new Error(`span ${spanId} has no UUID messaging.message.id`);
  return id;
}

const UNANNOUNCED = 'writes without baton.event.expected_topic: which event should follow is unknown';

let clean: SpanRecord[];
let partial: SpanRecord[];
/** clean.json without its event.consume spans: every event published, none consumed. */
let unconsumed: SpanRecord[];

beforeAll(async () => {
  [clean, partial] = await Promise.all([loadFixture('clean'), loadFixture('partial-handoff')]);
  unconsumed = clean.filter((s) => !isOperation(BatonOperation.EventConsume)(s));
});

describe('detectPartialHandoffs', () => {
  it.each(invalidGraphs())('throws a TypeError prefixed "partial-handoff:" for %s', (_label, input) => {
    expect(() => detectPartialHandoffs(input as HandoffGraph)).toThrow(TypeError);
    expect(() => detectPartialHandoffs(input as HandoffGraph)).toThrow(/^partial-handoff: expected a HandoffGraph/);
  });

  it('reports the writer write of partial-handoff.json whose completion event never went out', () => {
    const result = detectPartialHandoffs(graphOf(partial));
    expect(result.findings).toEqual([
      {
        ruleId: RULE,
        severity: 'error',
        message: 'writer wrote research-partial-handoff/writer (version 1) in attempt 1 but never published task.writer.complete',
        hint: expect.stringContaining('transactional outbox'),
        evidence: { traceId: PARTIAL_TRACE, traceIds: [PARTIAL_TRACE], spanIds: [WRITER_WRITE], startMs: partial.find((s) => s.spanId === WRITER_WRITE)!.startMs },
        agents: ['writer'],
        taskId: 'research-partial-handoff',
      },
    ]);
    // Five announced writes and four published events.
    expect(result.checked).toBe(9);
    expect(result.notEvaluated).toEqual([]);
  });

  it('finds nothing on the clean fixture, having checked five announced writes and five events', () => {
    expect(detectPartialHandoffs(graphOf(clean))).toEqual({ findings: [], checked: 10, notEvaluated: [] });
  });

  describe('unconsumed events', () => {
    it('reports each published event nobody consumed as a warning naming topic, message id and publisher', () => {
      const result = detectPartialHandoffs(graphOf(unconsumed));
      expect(result.findings.map((f) => [f.severity, f.message, f.evidence.spanIds, f.agents])).toEqual(
        CLEAN_PUBLISHES.map(([spanId, topic, agent]) => [
          'warning',
          `event ${topic} (${messageIdOf(clean, spanId)}) published by ${agent} was never consumed`,
          [spanId],
          [agent],
        ]),
      );
      expect(result.checked).toBe(10);
    });

    it('does not look at events with unconsumedEvents: false', () => {
      expect(detectPartialHandoffs(graphOf(unconsumed), { unconsumedEvents: false })).toEqual({
        findings: [],
        checked: 5,
        notEvaluated: [],
      });
    });

    it('does not expect events published within graceMs of the end of the data to be consumed yet', () => {
      // reviewer's publish ends under 1 ms before the horizon (the reviewer run's end): inside a 1 ms
      // grace; writer's, the next latest, ends well before it.
      const graph = graphOf(unconsumed);
      const endOf = (spanId: string) => unconsumed.find((s) => s.spanId === spanId)!.endMs;
      expect(graph.model.horizon.endMs - endOf(CLEAN_PUBLISHES[4][0])).toBeLessThan(1);
      expect(graph.model.horizon.endMs - endOf(CLEAN_PUBLISHES[3][0])).toBeGreaterThan(1);
      const result = detectPartialHandoffs(graph, { graceMs: 1 });
      expect(result.findings.map((f) => f.evidence.spanIds[0])).toEqual(CLEAN_PUBLISHES.slice(0, 4).map(([spanId]) => spanId));
      expect(result.checked).toBe(9);
    });
  });

  describe('when writes do not name the event that must follow', () => {
    it('says which writes it could not judge instead of passing partial-handoff.json', () => {
      const result = detectPartialHandoffs(graphOf(stripAttributes(partial, [BATON_EVENT_EXPECTED_TOPIC])));
      expect(result.findings).toEqual([]);
      // Only the four published (and consumed) events were checked.
      expect(result.checked).toBe(4);
      expect(result.notEvaluated).toEqual([{ count: 6, reason: UNANNOUNCED }]);
    });

    it('checks nothing without announced writes and without events, and the audit says the rule could not run', async () => {
      const spans = stripAttributes(clean, [BATON_EVENT_EXPECTED_TOPIC]).filter(
        (s) => !isOperation(BatonOperation.EventPublish, BatonOperation.EventConsume)(s),
      );
      expect(detectPartialHandoffs(graphOf(spans))).toEqual({
        findings: [],
        checked: 0,
        notEvaluated: [{ count: 6, reason: UNANNOUNCED }],
      });
      expect(ruleOf(await auditOne(spans, { only: [RULE] }), RULE)).toMatchObject({ checked: 0, couldNotRun: true });
    });
  });

  describe('through auditSpans', () => {
    it('reports what the detector reports on the model', async () => {
      const report = await auditOne(partial, { only: [RULE] });
      expect(report.findings).toEqual(detectPartialHandoffs(graphOf(partial)).findings);
      expect(ruleOf(report, RULE)).toMatchObject({ findings: 1, checked: 9, couldNotRun: false });
    });

    it('passes rules.partial-handoff options to the detector', async () => {
      const report = await auditOne(unconsumed, { only: [RULE], rules: { 'partial-handoff': { unconsumedEvents: false } } });
      expect(report.findings).toEqual([]);
      expect(ruleOf(report, RULE).checked).toBe(5);
    });
  });
});

/**
 * An idempotent retry: the first write committed and published its event, the retry
 * was answered by the store (`deduplicated: true`) and committed nothing, so it owes
 * no event of its own. Found by a user's app on RedisStateStore, whose event goes out
 * in the first write's Lua script only.
 */
describe('a write the store deduplicated', () => {
  const TOPIC = 'task.research.complete';

  /** The research step: its first write and a retry (with the same or a new idempotency key); publishes after the first only. */
  async function step(retryKey: string) {
    const otel = createOtelHarness();
    const baton = new Baton({ tracer: otel.tracer, meter: otel.meter });
    const store = instrumentStore(baton, new InMemoryStateStore<{ summary: string }>());
    const log: string[] = [];
    await baton.runAgent('research', async () => {
      const first = await store.set('t-1/research', { summary: 'Found 3 competitors' }, { idempotencyKey: 't-1:research', announces: TOPIC });
      log.push(`attempt 1: version ${first.version}`);
      const message = baton.publish({ topic: TOPIC, taskId: 't-1', key: 't-1/research', stateVersion: first.version });
      baton.consume(message, () => log.push(`consumed ${message.topic} v${message.state_version}`), { agent: 'analyst' });
      const retry = await store.set('t-1/research', { summary: 'Found 3 competitors' }, { idempotencyKey: retryKey, announces: TOPIC, attempt: 2 });
      log.push(`attempt 2: version ${retry.version}${retry.deduplicated ? ' (deduplicated)' : ''}`);
    }, { taskId: 't-1' });
    const spans = toSpanRecords(otel.spans());
    await otel.shutdown();
    return { spans, log };
  }

  it('owes no event: the retry answered with the first write version is not a partial handoff', async () => {
    const { spans, log } = await step('t-1:research');
    expect(log).toEqual(['attempt 1: version 1', `consumed ${TOPIC} v1`, 'attempt 2: version 1 (deduplicated)']);
    const result = detectPartialHandoffs(graphOf(spans));
    expect(result).toEqual({ findings: [], checked: 2, notEvaluated: [] });
  });

  it('still reports a retry that committed again (a new idempotency key) and published nothing', async () => {
    const { spans, log } = await step('t-1:research:again');
    expect(log).toEqual(['attempt 1: version 1', `consumed ${TOPIC} v1`, 'attempt 2: version 2']);
    const retryWrite = spans.find((s) => isOperation(BatonOperation.StateWrite)(s) && s.attributes[BATON_IDEMPOTENCY_KEY] === 't-1:research:again')!;
    const result = detectPartialHandoffs(graphOf(spans));
    expect(result.findings.map((f) => [f.severity, f.message, f.evidence.spanIds])).toEqual([
      ['error', `research wrote t-1/research (version 2) in attempt 2 but never published ${TOPIC}`, [retryWrite.spanId]],
    ]);
  });
});

/** The same retry on RedisStateStore, as the app that found it wrote it: the event goes out in the first write's script only. */
describe.skipIf(shouldSkipStoreTests())('a RedisStateStore retry answered by its idempotency key (real Redis)', () => {
  let server: RunningServer;
  let redis: Redis;
  beforeAll(async () => {
    server = await startRedis();
  });
  afterAll(async () => {
    redis?.disconnect();
    await server?.stop();
  });

  it('is no partial handoff: the event of the first write was published and consumed', async () => {
    const otel = createOtelHarness();
    const baton = new Baton({ tracer: otel.tracer, meter: otel.meter });
    redis = instrumentRedis(new Redis({ port: server.port, host: server.host }), { tracer: otel.tracer });
    const store = new RedisStateStore<{ summary: string }>(redis, { tracer: otel.tracer });
    const bus = new RedisStreamBus(baton, redis, { tracer: otel.tracer });
    const topic = 'task.research.complete';
    await bus.ensureGroup(topic, 'analysts');
    const log: string[] = [];
    await baton.runAgent('research', async () => {
      for (const attempt of [1, 2]) {
        const written = await store.set('t-1/out', { summary: 'Found 3 competitors' }, { expectedVersion: 0, attempt, idempotencyKey: 't-1:research:out', event: { topic } });
        log.push(`attempt ${attempt}: version ${written.version}${written.deduplicated ? ' (deduplicated)' : ''}`);
      }
    }, { taskId: 't-1' });
    await baton.runAgent('analyst', async () => {
      for (const delivery of await bus.read(topic, 'analysts', 'a1'))
        await bus.process('analysts', delivery, (m) => void log.push(`consumed ${m.topic} v${m.state_version}`), { agent: 'analyst' });
    }, { taskId: 't-1' });
    expect(log).toEqual(['attempt 1: version 1', 'attempt 2: version 1 (deduplicated)', `consumed ${topic} v1`]);
    const spans = toSpanRecords(otel.spans());
    await otel.shutdown();
    const report = await auditOne(spans, { only: [RULE] });
    expect(report.findings).toEqual([]);
    expect(ruleOf(report, RULE)).toMatchObject({ findings: 0, checked: 2, couldNotRun: false });
  });
});
