/**
 * Nothing read from a span makes the framework dialects throw: the constructed
 * AutoGen, Agent Framework, Python framework (ADK, Strands, Pydantic AI, CrewAI, smolagents, Agno, AG2) and OpenLLMetry traces and the recorded Mastra runs with attributes replaced by any value,
 * names truncated, links pointed anywhere (at themselves included) and parents
 * dropped or made cyclic still assemble, and every handoff still names spans
 * that are in the data.
 */
import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import { buildHandoffModel } from '../../../src/analyze/build-model.js';
import { readTraceInputs } from '../../../src/ingest/index.js';
import type { AttributeValue, SpanRecord } from '../../../src/model/span-record.js';
import { encodingsOf } from './framework-fixtures.js';

const fixtures: Record<string, SpanRecord[]> = {};

beforeAll(async () => {
  for (const [framework, scenario] of [
    ['autogen', 'selector-hub'],
    ['autogen', 'retry'],
    ['agent-framework', 'fan-out'],
    ['agent-framework', 'dropped'],
    ['python', 'strands-swarm'],
    ['python', 'crewai-hierarchical'],
    ['python', 'pydantic-ai-v2-delegation'],
    ['python', 'adk-failed-transfer'],
    ['mastra', 'workflow'],
    ['mastra', 'loop'],
    ['python', 'openllmetry-langgraph-swarm'],
    ['python', 'openllmetry-crewai-hierarchical'],
    ['python', 'openllmetry-decorators'],
    ['openai-agents', 'retry.openllmetry'],
    ['openinference-agents', 'agno-team'],
    ['openinference-agents', 'smolagents-failed-member'],
    ['python', 'ag2-group-loop'],
    ['python', 'ag2-failed-transfer'],
    ['python', 'ag2-auto-pattern-a2a'],
    ['python', 'ag2-sequential-chats'],
  ] as const) {
    const spans: SpanRecord[] = [];
    for await (const batch of readTraceInputs([(await encodingsOf(framework, scenario))[0]!])) spans.push(...batch);
    fixtures[`${framework}/${scenario}`] = spans;
  }
});

const attributeValue: fc.Arbitrary<AttributeValue> = fc.oneof(
  fc.string(),
  fc.integer(),
  fc.double(),
  fc.boolean(),
  fc.constant(null),
  fc.array(fc.string(), { maxLength: 3 }),
  fc.constantFrom('', 'x.(y)-A', 'group_topic_a3c9f0e2-5b1d-4c7e-9f21-7d4e8b6a0c13.(k)-T', 'dropped type mismatch', 'buffered'),
);

/** One mutation of one span, by index. */
const mutation = fc.record({
  at: fc.nat(),
  kind: fc.constantFrom('attribute', 'name', 'link', 'parent', 'self-parent', 'drop-links'),
  key: fc.nat(),
  value: attributeValue,
  target: fc.nat(),
});

type Mutation = typeof mutation extends fc.Arbitrary<infer T> ? T : never;

function mutate(spans: readonly SpanRecord[], mutations: readonly Mutation[]): SpanRecord[] {
  const out = spans.map((s) => ({ ...s, attributes: { ...s.attributes }, links: [...s.links] }));
  for (const m of mutations) {
    const span = out[m.at % out.length]!;
    const other = out[m.target % out.length]!;
    switch (m.kind) {
      case 'attribute': {
        const keys = Object.keys(span.attributes);
        if (keys.length > 0) (span.attributes as Record<string, AttributeValue>)[keys[m.key % keys.length]!] = m.value;
        break;
      }
      case 'name':
        (span as { name: string }).name = span.name.slice(0, m.key % (span.name.length + 1));
        break;
      case 'link':
        span.links.push({ traceId: other.traceId, spanId: other.spanId });
        break;
      case 'parent':
        (span as { parentSpanId: string }).parentSpanId = other.spanId;
        break;
      case 'self-parent':
        (span as { parentSpanId: string }).parentSpanId = span.spanId;
        break;
      case 'drop-links':
        span.links.length = 0;
        break;
    }
  }
  return out;
}

describe('framework dialects on mutated traces', () => {
  it.each([
    'autogen/selector-hub',
    'autogen/retry',
    'agent-framework/fan-out',
    'agent-framework/dropped',
    'python/strands-swarm',
    'python/crewai-hierarchical',
    'python/pydantic-ai-v2-delegation',
    'python/adk-failed-transfer',
    'python/openllmetry-langgraph-swarm',
    'python/openllmetry-crewai-hierarchical',
    'python/openllmetry-decorators',
    'openai-agents/retry.openllmetry',
    'python/ag2-group-loop',
    'python/ag2-failed-transfer',
    'python/ag2-auto-pattern-a2a',
    'python/ag2-sequential-chats',
  ])('%s: never throw, and every handoff names spans in the data', (name) => {
    fc.assert(
      fc.property(fc.array(mutation, { minLength: 1, maxLength: 12 }), (mutations) => {
        const spans = mutate(fixtures[name]!, mutations);
        const ids = new Set(spans.map((s) => s.spanId));
        const model = buildHandoffModel(spans);
        for (const handoff of model.handoffs) {
          if (handoff.send) expect(ids.has(handoff.send.spanId)).toBe(true);
          for (const receive of handoff.receives) expect(ids.has(receive.spanId)).toBe(true);
          for (const delivery of handoff.deliveries ?? []) expect(ids.has(delivery.spanId)).toBe(true);
        }
      }),
      { numRuns: 200 },
    );
  });
});
