import { context, ROOT_CONTEXT } from '@opentelemetry/api';
import { describe, expect, it } from 'vitest';
import { AGENTS } from '../../examples/pipeline/pipeline.js';
import { LiveSession } from '../../dashboards/live-session.js';
import type { SpanRecord } from '../../src/model/span-record.js';
import type { RequestOrigin } from '../../src/receiver/intake.js';
import { Baton } from '../../src/sdk/baton.js';
import { withoutSpans } from '../helpers/analyze.js';
import { draft } from '../helpers/envelopes.js';
import { createOtelHarness } from '../helpers/otel.js';
import { loadFixture, runPipelineSpans, toSpanRecords } from '../helpers/traces.js';

const ORIGIN: RequestOrigin = { protocol: 'http', encoding: 'protobuf', peer: 'test' };

/** A session on a clock the test moves. */
function sessionAt(startMs: number, options: Partial<ConstructorParameters<typeof LiveSession>[0]> = {}) {
  const clock = { now: startMs };
  const session = new LiveSession({ mode: 'receive', clock: () => clock.now, ...options });
  return { session, clock };
}

const lastEnd = (spans: readonly SpanRecord[]) => Math.max(...spans.map((s) => s.endMs));

describe('LiveSession', () => {
  it('counts every offered span as accepted and analyzes the pipeline into its edges', async () => {
    const { spans } = await runPipelineSpans([], { taskId: 'live-clean' });
    const records = toSpanRecords(spans);
    const { session, clock } = sessionAt(lastEnd(records));
    expect(session.offer(records.slice(0, 10), ORIGIN)).toEqual({ status: 'accepted', rejected: 0 });
    expect(session.offer(records.slice(10), ORIGIN)).toEqual({ status: 'accepted', rejected: 0 });
    await session.drained();
    let view = session.view();
    expect(view.counters.accepted).toBe(records.length);
    expect(view.counters.tracesOpen).toBe(1);
    expect(view.agents.find((a) => a.name === 'research')?.state).toBe('working');
    // The root has arrived: the group closes once settleMs passed since its last span.
    clock.now += 7_000;
    session.tick();
    view = session.view();
    expect(view.counters.tracesOpen).toBe(0);
    expect(view.counters.tracesAnalyzed).toBe(1);
    // The pipeline's own order of agents is its handoff chain.
    const expected = AGENTS.slice(0, -1).map((a, i) => `${a} → ${AGENTS[i + 1]}`).sort();
    expect(view.edges.map((e) => `${e.source} → ${e.target}`).sort()).toEqual(expected);
    expect(view.edges.every((e) => e.handoffs === 1 && e.recentHandoffs[0]!.traceId === records[0]!.traceId)).toBe(true);
    expect(view.findings).toEqual([]);
    expect(view.agents.find((a) => a.name === 'research')?.state).toBe('idle');
  });

  it('lists an agent seen only on handoff spans: the sender from the edge of its send, which has no gen_ai.agent.name (conventions 2)', async () => {
    const otel = createOtelHarness();
    const baton = new Baton({ tracer: otel.tracer, meter: otel.meter });
    baton.receive(JSON.stringify(baton.send(draft({ source_agent: 'planner', target_agent: 'coder' }))));
    const records = toSpanRecords(otel.spans());
    await otel.shutdown();
    expect(records.filter((s) => s.attributes['baton.operation'] === 'handoff.send').map((s) => s.attributes['gen_ai.agent.name'])).toEqual([undefined]);
    const { session } = sessionAt(lastEnd(records));
    session.offer(records, ORIGIN);
    await session.drained();
    expect(session.view().agents.map((a) => a.name).sort()).toEqual(['coder', 'planner']);
  });

  it('closes a group of old data once nothing more of it arrived for the arrival quiet time (2 s), not before and not at a later tick only', async () => {
    const { spans } = await runPipelineSpans(['ack-timeout'], { taskId: 'live-settled' });
    const records = toSpanRecords(spans);
    // The spans arrive after their group settled by span time (an exporter that held them): more of
    // the same trace may follow, so it waits 2 s from arrival; the drain that ends then closes it.
    const { session, clock } = sessionAt(lastEnd(records) + 7_000);
    session.offer(records, ORIGIN);
    await session.drained();
    expect(session.view().counters).toMatchObject({ tracesOpen: 1, tracesAnalyzed: 0 });
    clock.now += 1_999;
    session.tick();
    expect(session.view().counters).toMatchObject({ tracesOpen: 1, tracesAnalyzed: 0 });
    clock.now += 2;
    session.tick();
    const view = session.view();
    expect(view.counters).toMatchObject({ tracesOpen: 0, tracesAnalyzed: 1, splitTraces: 0 });
    expect(view.findings.map((f) => f.ruleId)).toEqual(['ack-timeout']);
  });

  it('analyzes old data that arrives in two pieces as one trace (a followed file appended to twice); a piece later than the quiet time is counted split', async () => {
    const { spans, result } = await runPipelineSpans([], { taskId: 'live-two-writes' });
    expect(result.notes).toEqual([]);
    const records = toSpanRecords(spans);
    // In the order the program ended them: the first piece has no root, and the root ends last.
    const half = Math.floor(records.length / 2);
    for (const [gapMs, split] of [
      [1_500, 0],
      [70_000, 1],
    ] as const) {
      const { session, clock } = sessionAt(lastEnd(records) + 10 * 60_000);
      await session.push(records.slice(0, half));
      await session.drained();
      clock.now += gapMs;
      session.tick();
      await session.push(records.slice(half));
      await session.drained();
      // The late piece misses the parents its first piece had: it waits the idle time, as any incomplete trace.
      clock.now += split === 0 ? 2_001 : 60_001;
      session.tick();
      const view = session.view();
      expect(view.counters).toMatchObject({ accepted: records.length, tracesOpen: 0, splitTraces: split });
      if (split === 0) {
        expect(view.counters.tracesAnalyzed).toBe(1);
        // The clean run, whole: no finding (cut in two, its first piece showed an event never consumed).
        expect(view.findings).toEqual([]);
        expect(view.edges.map((e) => `${e.source} → ${e.target}`).sort()).toEqual(AGENTS.slice(0, -1).map((a, i) => `${a} → ${AGENTS[i + 1]}`).sort());
      } else {
        expect(view.findings.length).toBeGreaterThan(0);
      }
    }
  });

  it('takes old state data as complete only once nothing arrived for the quiet time: an outbox relay\'s trace a second later is joined, one never sent is flagged', async () => {
    for (const relayed of [true, false]) {
      // Two processes, as an outbox has them: the writer commits, the relay publishes in a trace of its own.
      const writer = createOtelHarness('writer');
      const relay = createOtelHarness('outbox-relay');
      const writerBaton = new Baton({ tracer: writer.tracer, meter: writer.meter });
      const relayBaton = new Baton({ tracer: relay.tracer, meter: relay.meter });
      const written = context.with(ROOT_CONTEXT, () =>
        writerBaton.traceStateWrite({ key: 'draft/7', agent: 'writer', taskId: 'task-7', announces: 'draft.ready' }, () => ({ version: 3 })),
      );
      if (relayed) {
        const message = context.with(ROOT_CONTEXT, () =>
          relayBaton.publish({ topic: 'draft.ready', taskId: 'task-7', key: 'draft/7', stateVersion: written.version, agent: 'outbox-relay' }),
        );
        context.with(ROOT_CONTEXT, () => relayBaton.consume(message, () => undefined, { agent: 'reviewer' }));
      }
      const writes = toSpanRecords(writer.spans(), 'writer');
      const relays = toSpanRecords(relay.spans(), 'relay');
      await Promise.all([writer.shutdown(), relay.shutdown()]);
      // Old data (ten minutes ago), the relay's line a second after the writer's.
      const { session, clock } = sessionAt(lastEnd([...writes, ...relays]) + 10 * 60_000);
      await session.push(writes);
      await session.drained();
      clock.now += 1_000;
      session.tick();
      if (relays.length > 0) await session.push(relays);
      await session.drained();
      clock.now += 8_000;
      session.tick();
      const partial = session.view().findings.filter((f) => f.ruleId === 'partial-handoff').map((f) => f.message);
      expect(session.view().counters.tracesAnalyzed).toBe(relayed ? 2 : 1);
      expect(partial).toEqual(relayed ? [] : ['writer wrote draft/7 (version 3) but never published draft.ready']);
    }
  });

  it('with analyzeOnOffer, analyzes a batch before offer returns; without it, in a later turn', async () => {
    const { spans } = await runPipelineSpans(['ack-timeout'], { taskId: 'live-inline' });
    const records = toSpanRecords(spans);
    const inline = sessionAt(lastEnd(records) + 7_000, { analyzeOnOffer: true });
    inline.session.offer(records, ORIGIN);
    expect(inline.session.view().counters).toMatchObject({ queued: 0, tracesOpen: 1, tracesAnalyzed: 0 });
    inline.clock.now += 2_001;
    inline.session.tick();
    expect(inline.session.view().counters).toMatchObject({ tracesOpen: 0, tracesAnalyzed: 1 });
    expect(inline.session.view().findings.map((f) => f.ruleId)).toEqual(['ack-timeout']);
    const later = sessionAt(lastEnd(records) + 7_000).session;
    later.offer(records, ORIGIN);
    expect(later.view().counters).toMatchObject({ queued: records.length, tracesOpen: 0 });
    await later.drained();
    expect(later.view().counters).toMatchObject({ queued: 0, tracesOpen: 1 });
  });

  it('reports a finding as soon as its group closes, before the input ends', async () => {
    const { spans, result } = await runPipelineSpans(['ack-timeout'], { taskId: 'live-ack' });
    expect(result.notes.join(' ')).toContain('ack-timeout');
    const records = toSpanRecords(spans);
    const { session, clock } = sessionAt(lastEnd(records));
    session.offer(records, ORIGIN);
    await session.drained();
    session.tick();
    expect(session.view().findings).toEqual([]);
    clock.now += 7_000;
    session.tick();
    const view = session.view();
    expect(view.findings.map((f) => f.ruleId)).toEqual(['ack-timeout']);
    expect(view.findings[0]!.foundAtMs).toBe(clock.now);
    expect(view.edges.find((e) => e.source === 'writer' && e.target === 'reviewer')!.failures).toBe(1);
    expect(session.finished).toBe(false);
  });

  it('reports "never acknowledged" when the clock passes one budget past the deadline, not at the end, and not before', async () => {
    const clean = await loadFixture('clean');
    const unacknowledged = withoutSpans(clean, ['6c0eaf9b0221c256']); // reviewer's handoff.receive
    const sendStartMs = clean.find((s) => s.spanId === '250ae4a1cca5565f')!.startMs; // writer's handoff.send
    const budgetMs = clean.find((s) => s.spanId === '250ae4a1cca5565f')!.attributes['baton.timeout_budget_ms'] as number;
    // Without the receive, the reviewer's run misses its parent: the group waits idleMs, not settleMs.
    const { session, clock } = sessionAt(lastEnd(unacknowledged), { settleMs: 100, idleMs: 500 });
    session.offer(unacknowledged, ORIGIN);
    await session.drained();
    clock.now += 600;
    expect(clock.now).toBeLessThan(sendStartMs + budgetMs);
    session.tick();
    // The group is analyzed, the budget has not run out: no finding yet, the handoff is still in flight.
    expect(session.view().counters.tracesAnalyzed).toBe(1);
    expect(session.view().findings.filter((f) => f.ruleId === 'ack-timeout')).toEqual([]);
    expect(session.view().edges.find((e) => e.target === 'reviewer')!.inFlight).toBe(1);
    expect(session.view().agents.find((a) => a.name === 'writer')).toMatchObject({ state: 'waiting', waitingOn: ['reviewer'] });
    // Past the deadline, within the retry's grace of one more budget: still nothing.
    clock.now = sendStartMs + budgetMs + 600;
    session.tick();
    expect(session.view().findings.filter((f) => f.ruleId === 'ack-timeout')).toEqual([]);
    clock.now = sendStartMs + 2 * budgetMs + 600;
    session.tick();
    const found = session.view().findings.filter((f) => f.ruleId === 'ack-timeout');
    expect(found).toHaveLength(1);
    expect(found[0]!.message).toContain('reviewer never acknowledged the handoff from writer');
    expect(session.finished).toBe(false);
  });

  it('answers busy with a retry time when the queue is full, counting the spans as throttled', async () => {
    const records = await loadFixture('clean');
    const { session } = sessionAt(lastEnd(records), { maxQueuedSpans: records.length });
    expect(session.offer(records, ORIGIN).status).toBe('accepted');
    const busy = session.offer(records.slice(0, 1), ORIGIN);
    expect(busy.status).toBe('busy');
    expect(busy.status === 'busy' && busy.retryAfterMs).toBeGreaterThanOrEqual(1000);
    await session.drained();
    expect(session.offer(records.slice(0, 1), ORIGIN).status).toBe('accepted');
    const c = session.view().counters;
    expect([c.accepted, c.throttled]).toEqual([records.length + 1, 1]);
    // A batch larger than the whole queue still goes in when the queue is empty.
    await session.drained();
    expect(session.offer([...records, ...records], ORIGIN).status).toBe('accepted');
  });

  it('behind the OTLP/HTTP receiver under load: every span is accepted exactly once or counted throttled, and exporters are told to retry', async () => {
    const { startOtlpHttpReceiver } = await import('../../src/receiver/otlp-http.js');
    const { spansToOtlpJson } = await import('../../src/receiver/otlp-json-recorder.js');
    const template = await loadFixture('clean');
    const session = new LiveSession({ mode: 'receive', maxQueuedSpans: template.length, clock: () => lastEnd(template) });
    const receiver = await startOtlpHttpReceiver(session, { port: 0 });
    let refusals = 0;
    try {
      const bodies = Array.from({ length: 20 }, (_, k) =>
        JSON.stringify(spansToOtlpJson(template.map((s) => ({ ...s, traceId: k.toString(16).padStart(4, '0') + s.traceId.slice(4) })))),
      );
      await Promise.all(
        bodies.map(async (body) => {
          for (;;) {
            const res = await fetch(`${receiver.url}/v1/traces`, { method: 'POST', body, headers: { 'content-type': 'application/json' } });
            const answer = (await res.json()) as { code: number };
            if (res.status === 200) return;
            expect(res.status).toBe(429);
            expect(Number(res.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
            expect(answer.code).toBe(8);
            refusals++;
            await new Promise((r) => setTimeout(r, 20));
          }
        }),
      );
    } finally {
      await receiver.close();
    }
    await session.finish();
    const c = session.view().counters;
    expect(c.accepted).toBe(20 * template.length);
    expect(c.throttled).toBe(refusals * template.length);
    expect(c.agedOut).toBe(0);
    expect(c.tracesAnalyzed).toBe(20);
  });

  it('counts spans older than the retention window as aged out, not analyzed', async () => {
    const records = await loadFixture('clean');
    const { session } = sessionAt(lastEnd(records) + 2 * 3_600_000);
    session.offer(records, ORIGIN);
    await session.drained();
    const c = session.view().counters;
    expect([c.accepted, c.agedOut, c.tracesOpen]).toEqual([records.length, records.length, 0]);
    // Said once, with what to do instead: a followed file of old runs would show only a count.
    expect(session.view().notice).toBe(
      'spans that ended over 60.0 min ago are aged out, not analyzed (--retention-ms): baton audit reads old files whole, baton watch <file> replays them',
    );
    expect((await session.finish()).inputs.spans).toBe(0);
  });

  it('says nothing of aging out while every span is within the retention window', async () => {
    const records = await loadFixture('clean');
    // The clock just inside the window of the span that ended first.
    const { session } = sessionAt(Math.min(...records.map((s) => s.endMs)) + 3_600_000, { retentionMs: 3_600_000 });
    session.offer(records, ORIGIN);
    await session.drained();
    expect(session.view().counters.agedOut).toBe(0);
    expect(session.view().notice).toBeNull();
  });

  it('counts spans the receivers refused and requests they could not read, with the reason shown', () => {
    const { session } = sessionAt(1);
    session.spansRefused(3, 'span 0 (0000000000000000) has an all-zero span id');
    session.requestRefused('HTTP 400: not JSON');
    const view = session.view();
    expect([view.counters.rejected, view.counters.badRequests]).toEqual([3, 1]);
    expect(view.notice).toBe('HTTP 400: not JSON');
  });

  it('refuses new spans as unavailable once closing, and finish analyzes everything still open', async () => {
    const records = await loadFixture('ack-timeout');
    const { session } = sessionAt(lastEnd(records));
    session.offer(records, ORIGIN);
    session.close();
    expect(session.offer(records, ORIGIN).status).toBe('unavailable');
    const report = await session.finish();
    expect(report.inputs.spans).toBe(records.length);
    const view = session.view();
    expect(view.done).toBe(true);
    expect(view.counters.tracesOpen).toBe(0);
    expect(view.findings.map((f) => f.ruleId)).toContain('ack-timeout');
  });

  it('keeps memory bounded over many traces: open traces close, lists stay capped', async () => {
    const { spans } = await runPipelineSpans(['stale-read'], { taskId: 'live-many' });
    const template = toSpanRecords(spans);
    const { session, clock } = sessionAt(lastEnd(template));
    const shift = (k: number): SpanRecord[] =>
      template.map((s) => ({
        ...s,
        traceId: k.toString(16).padStart(8, '0') + s.traceId.slice(8),
        startMs: s.startMs + k * 1000,
        endMs: s.endMs + k * 1000,
        links: s.links.map((l) => ({ ...l, traceId: k.toString(16).padStart(8, '0') + l.traceId.slice(8) })),
      }));
    for (let k = 0; k < 600; k++) {
      session.offer(shift(k), ORIGIN);
      clock.now = lastEnd(template) + k * 1000;
      if (k % 10 === 0) {
        await session.drained();
        session.tick();
      }
    }
    await session.drained();
    clock.now += 10_000;
    session.tick();
    const view = session.view();
    expect(view.counters.accepted).toBe(600 * template.length);
    expect(view.counters.tracesOpen).toBe(0);
    expect(view.counters.tracesAnalyzed).toBe(600);
    expect(view.findingsTotal).toBe(600);
    expect(view.findings.length).toBeLessThanOrEqual(500);
    for (const edge of view.edges) {
      expect(edge.recentLatenciesMs.length).toBeLessThanOrEqual(120);
      expect(edge.recentHandoffs.length).toBeLessThanOrEqual(12);
    }
  });
});
