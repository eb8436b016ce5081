import { describe, expect, it } from 'vitest';
import { FAULTS } from '../../examples/pipeline/pipeline.js';
import { generateScenario, SCENARIOS } from '../../fixtures/generate.js';
import { parseOtlpJsonRequest } from '../../src/ingest/otlp-json.js';
import { BATON_HANDOFF_ID, BATON_OPERATION, BatonOperation } from '../../src/model/attributes.js';
import { loadFixture, runPipelineSpans, toSpanRecords } from '../helpers/traces.js';

describe('the example pipeline', () => {
  it('clean run: five agents, every handoff sent and received, each receive parented or linked to its send', async () => {
    const { spans, result } = await runPipelineSpans();
    expect(result.outcome).toBe('completed');
    const records = toSpanRecords(spans);
    const sends = records.filter((s) => s.attributes[BATON_OPERATION] === BatonOperation.HandoffSend);
    const receives = records.filter((s) => s.attributes[BATON_OPERATION] === BatonOperation.HandoffReceive);
    expect(sends).toHaveLength(4);
    for (const send of sends) {
      const receive = receives.find((r) => r.attributes[BATON_HANDOFF_ID] === send.attributes[BATON_HANDOFF_ID])!;
      expect(receive).toBeDefined();
      expect(receive.parentSpanId === send.spanId || receive.links.some((l) => l.spanId === send.spanId)).toBe(true);
    }
  });

  it('fixtures are what `npm run fixtures` generates: same scenarios, same seeded span ids and names', async () => {
    expect(SCENARIOS).toEqual(['clean', ...FAULTS]);
    for (const scenario of ['clean', 'stale-read'] as const) {
      const { json } = await generateScenario(scenario);
      const fresh = parseOtlpJsonRequest(JSON.parse(json), 'fresh');
      const committed = await loadFixture(scenario);
      const shape = (spans: typeof fresh) => spans.map((s) => [s.spanId, s.parentSpanId, s.name]).sort();
      expect(shape(fresh)).toEqual(shape(committed));
    }
  });
});
