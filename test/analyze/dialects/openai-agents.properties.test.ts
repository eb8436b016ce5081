/**
 * Properties of the OpenAI Agents SDK reading on inputs no fixture holds:
 * the JSON encoding on arbitrary values throws only TraceInputError, and the
 * dialect on arbitrary span forests (any names, errors, parents missing or in a
 * cycle) never throws, never invents a span and never reads more handoffs than
 * the spans that can hold one.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { buildHandoffModel } from '../../../src/analyze/build-model.js';
import { parseOpenAiAgentsJson } from '../../../src/ingest/encodings/openai-agents.js';
import { TraceInputError } from '../../../src/ingest/errors.js';

const NAMES = ['triage', 'billing', 'Billing Agent', 'refunds', 'null', ''];
const spanData = fc.oneof(
  fc.record({ type: fc.constant('agent'), name: fc.constantFrom(...NAMES) }),
  fc.record({ type: fc.constant('handoff'), from_agent: fc.option(fc.constantFrom(...NAMES), { nil: undefined }), to_agent: fc.option(fc.constantFrom(...NAMES), { nil: undefined }) }),
  fc.record({ type: fc.constant('function'), name: fc.constantFrom('lookup', 'transfer_to_billing', 'ask_billing'), input: fc.constant('{}'), output: fc.constant('') }),
  fc.record({ type: fc.constantFrom('generation', 'response', 'guardrail', 'custom', 'weird') }),
);
const error = fc.oneof(
  fc.constant(null),
  fc.record({ message: fc.constantFrom('Error running tool (non-fatal)', 'Multiple handoffs requested'), data: fc.option(fc.record({ requested_agents: fc.array(fc.constantFrom(...NAMES), { maxLength: 3 }) }), { nil: undefined }) }),
);

/** A forest of SDK span items: each span's parent is an earlier one, a later one (possibly a cycle), missing, or none. */
const forest = fc.array(fc.record({ data: spanData, error, parent: fc.integer({ min: -2, max: 30 }), start: fc.integer({ min: 0, max: 50 }), length: fc.integer({ min: 0, max: 20 }) }), { minLength: 1, maxLength: 30 }).map((specs) =>
  specs.map((spec, i) => ({
    object: 'trace.span',
    id: `span_${i.toString(16).padStart(24, '0')}`,
    trace_id: 'trace_0123456789abcdef0123456789abcdef',
    parent_id: spec.parent === -1 ? null : spec.parent === -2 ? 'span_missing' : `span_${(spec.parent % specs.length).toString(16).padStart(24, '0')}`,
    started_at: new Date(Date.UTC(2030, 0, 1) + spec.start).toISOString(),
    ended_at: new Date(Date.UTC(2030, 0, 1) + spec.start + spec.length).toISOString(),
    span_data: spec.data,
    error: spec.error,
  })),
);

describe('parseOpenAiAgentsJson', () => {
  it('on any JSON value throws only TraceInputError, naming the source', () => {
    fc.assert(
      fc.property(fc.jsonValue(), (value) => {
        try {
          parseOpenAiAgentsJson(value, 'x.json');
        } catch (e) {
          expect(e).toBeInstanceOf(TraceInputError);
          expect((e as TraceInputError).message.startsWith('x.json: ')).toBe(true);
        }
      }),
      { numRuns: 300 },
    );
  });

  it('on items with arbitrary fields replaced throws only TraceInputError', () => {
    fc.assert(
      fc.property(forest, fc.nat(), fc.constantFrom('id', 'trace_id', 'parent_id', 'started_at', 'ended_at', 'span_data', 'error', 'object'), fc.jsonValue(), (items, at, key, value) => {
        const copy = items.map((item) => ({ ...item }));
        (copy[at % copy.length] as Record<string, unknown>)[key] = value;
        try {
          parseOpenAiAgentsJson({ data: copy }, 'x.json');
        } catch (e) {
          expect(e).toBeInstanceOf(TraceInputError);
        }
      }),
      { numRuns: 200 },
    );
  });
});

describe('openai-agents dialect', () => {
  it('on any span forest never throws, names only real spans, and reads at most one handoff per span that can hold one', () => {
    fc.assert(
      fc.property(forest, (items) => {
        const spans = parseOpenAiAgentsJson({ data: items }, 'x.json');
        const model = buildHandoffModel(spans, { onIgnored: () => undefined });
        const ids = new Set(spans.map((s) => s.spanId));
        let carriers = 0;
        for (const item of items) if (item.span_data.type === 'handoff' || item.span_data.type === 'function') carriers++;
        const agentSpans = items.filter((i) => i.span_data.type === 'agent').length;
        // A function span may delegate to several agents nested in it; a handoff span hands to one.
        expect(model.handoffs.length).toBeLessThanOrEqual(carriers + agentSpans);
        for (const h of model.handoffs) {
          expect(ids.has(h.send!.spanId)).toBe(true);
          for (const r of h.receives) expect(ids.has(r.spanId)).toBe(true);
          expect(h.dialect).toBe('openai-agents');
          expect(h.sendCount).toBeGreaterThanOrEqual(1);
        }
        expect(model.agentRuns.length).toBeLessThanOrEqual(agentSpans);
      }),
      { numRuns: 300 },
    );
  });
});
