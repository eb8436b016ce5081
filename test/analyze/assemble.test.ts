/**
 * assembleHandoffModel (through buildHandoffModel, as the Auditor calls it): who a
 * state access or event belongs to when its span names no agent. Traces come from
 * the real SDK: `traceStateRead`, `instrumentStore` and `publish`/`consume` called
 * inside `runAgent` without an `agent`, as an app writes them.
 */
import { describe, expect, it } from 'vitest';
import { buildHandoffModel } from '../../src/analyze/build-model.js';
import { detectPartialHandoffs } from '../../src/analyze/detectors/partial-handoff.js';
import { Baton } from '../../src/sdk/baton.js';
import { InMemoryStateStore, instrumentStore } from '../../src/sdk/state-store.js';
import { graphOf } from '../helpers/analyze.js';
import { createOtelHarness } from '../helpers/otel.js';
import { toSpanRecords } from '../helpers/traces.js';

describe('assembleHandoffModel', () => {
  it('gives a state access or event without gen_ai.agent.name the agent of its enclosing agent run', async () => {
    const otel = createOtelHarness();
    const baton = new Baton({ tracer: otel.tracer, meter: otel.meter });
    const store = instrumentStore(baton, new InMemoryStateStore<string>(), { system: 'memory' });
    const log: { agent: string; did: string }[] = [];
    await baton.runAgent('research', async () => {
      await store.set('doc:t1', 'v1', { taskId: 't1', announces: 'doc.ready' });
      log.push({ agent: 'research', did: 'write doc:t1' });
    }, { taskId: 't1' });
    await baton.runAgent('analyst', async () => {
      await baton.traceStateRead({ key: 'doc:t1', taskId: 't1' }, () => store.store.get('doc:t1'));
      log.push({ agent: 'analyst', did: 'read doc:t1' });
      baton.publish({ topic: 'analysis.orphan', taskId: 't1' });
      log.push({ agent: 'analyst', did: 'publish analysis.orphan' });
    }, { taskId: 't1' });
    // Outside any run: nobody to name.
    await baton.traceStateRead({ key: 'doc:t1' }, () => store.store.get('doc:t1'));
    log.push({ agent: '', did: 'read doc:t1' });
    const spans = toSpanRecords(otel.spans());
    await otel.shutdown();

    const model = buildHandoffModel(spans);
    expect(spans.filter((s) => s.attributes['gen_ai.agent.name'] !== undefined && s.attributes['baton.operation'] !== 'agent.run')).toEqual([]);
    const parts = [
      ...model.stateAccesses.map((a) => ({ startMs: a.startMs, agent: a.agent ?? '', did: `${a.kind} ${a.key}` })),
      ...model.events.map((e) => ({ startMs: e.startMs, agent: e.agent ?? '', did: `${e.kind} ${e.topic}` })),
    ].sort((a, b) => a.startMs - b.startMs);
    expect(parts.map(({ agent, did }) => ({ agent, did }))).toEqual(log);
    // The findings name them: the partial write's writer and the unconsumed event's publisher.
    expect(detectPartialHandoffs(graphOf(spans)).findings.map((f) => f.message)).toEqual([
      expect.stringMatching(/^research wrote doc:t1 \(version 1\) but never published doc\.ready$/),
      expect.stringMatching(/^event analysis\.orphan \(.+\) published by analyst was never consumed$/),
    ]);
  });
});
