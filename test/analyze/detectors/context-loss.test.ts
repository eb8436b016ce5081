/**
 * detectContextLoss (rule context-loss) on the committed fixtures: the writer of
 * `context-loss.json` that drops decisions_made and constraints, fewer entries
 * than the hop before, a first hop with nothing before it, and what the rule
 * says when sends do not record which context fields were missing.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { detectContextLoss, RULE } from '../../../src/analyze/detectors/context-loss.js';
import { BATON_CONTEXT_DECISIONS_COUNT, BATON_CONTEXT_MISSING_FIELDS, BATON_ENVELOPE_SCHEMA_ID } from '../../../src/model/attributes.js';
import type { HandoffGraph } from '../../../src/model/handoff-model.js';
import type { SpanRecord } from '../../../src/model/span-record.js';
import { auditOne, graphOf, invalidGraphs, ruleOf, setAttributes, stripAttributes, expectCouldNotRun } from '../../helpers/analyze.js';
import { loadFixture } from '../../helpers/traces.js';

const LOSS_TRACE = 'c1b0217bd8880caf478e1597babdf56e';
// context-loss.json:
const WRITER_SEND = '7c7b11c1e06b9b9b'; // handoff.send writer → reviewer, missing_fields [decisions_made, constraints]
const ANALYSIS_SEND = 'cec8a75516e22333'; // handoff.send analysis → writer (the hop into the sender): 3 decisions, 2 constraints

// clean.json handoff.send spans (decisions_count 1 / 2 / 3 / 4, constraints_count 2 each):
const CLEAN_TRIAGE_SEND = '762fe0e52d015981';
const CLEAN_ANALYSIS_SEND = 'cd29c830ff143fcb';
const CLEAN_WRITER_SEND = '250ae4a1cca5565f';

const UNRECORDED = 'handoffs without baton.context.missing_fields on the send side';

let clean: SpanRecord[];
let loss: SpanRecord[];

beforeAll(async () => {
  [clean, loss] = await Promise.all([loadFixture('clean'), loadFixture('context-loss')]);
});

describe('detectContextLoss', () => {
  it.each(invalidGraphs())('throws a TypeError prefixed "context-loss:" for %s', (_label, input) => {
    expect(() => detectContextLoss(input as HandoffGraph)).toThrow(TypeError);
    expect(() => detectContextLoss(input as HandoffGraph)).toThrow(/^context-loss: expected a HandoffGraph/);
  });

  it('reports the writer → reviewer handoff of context-loss.json with what the hop before carried', () => {
    const result = detectContextLoss(graphOf(loss));
    expect(result.findings).toEqual([
      {
        ruleId: RULE,
        severity: 'warning',
        message: 'writer → reviewer drops decisions_made (3 before) and constraints (2 before)',
        hint: expect.stringContaining('decisions_made'),
        evidence: {
          traceId: LOSS_TRACE,
          traceIds: [LOSS_TRACE],
          spanIds: [WRITER_SEND, ANALYSIS_SEND],
          startMs: loss.find((s) => s.spanId === WRITER_SEND)!.startMs,
        },
        agents: ['writer', 'reviewer'],
        taskId: 'research-context-loss',
      },
    ]);
    expect(result.checked).toBe(4);
    expect(result.notEvaluated).toEqual([]);
  });

  it('finds nothing on the clean fixture, having checked all four sends', () => {
    expect(detectContextLoss(graphOf(clean))).toEqual({ findings: [], checked: 4, notEvaluated: [] });
  });

  it('reports a handoff carrying fewer decisions than the hop into its sender', () => {
    const spans = setAttributes(clean, CLEAN_WRITER_SEND, { [BATON_CONTEXT_DECISIONS_COUNT]: 1 });
    expect(detectContextLoss(graphOf(spans)).findings.map((f) => [f.message, f.evidence.spanIds])).toEqual([
      ['writer → reviewer drops 2 of 3 decisions_made', [CLEAN_WRITER_SEND, CLEAN_ANALYSIS_SEND]],
    ]);
  });

  it('reports a missing field on the first hop without a count from before', () => {
    const spans = setAttributes(clean, CLEAN_TRIAGE_SEND, { [BATON_CONTEXT_MISSING_FIELDS]: ['decisions_made'] });
    expect(detectContextLoss(graphOf(spans)).findings.map((f) => [f.message, f.evidence.spanIds, f.agents])).toEqual([
      ['triage → research drops decisions_made', [CLEAN_TRIAGE_SEND], ['triage', 'research']],
    ]);
  });

  it('counts a missing context object as losing both fields', () => {
    const spans = setAttributes(clean, CLEAN_WRITER_SEND, { [BATON_CONTEXT_MISSING_FIELDS]: ['context'] });
    expect(detectContextLoss(graphOf(spans)).findings.map((f) => f.message)).toEqual([
      'writer → reviewer drops decisions_made (3 before) and constraints (2 before)',
    ]);
  });

  describe("an app's own envelope schema without a context object", () => {
    const WITHOUT_CONTEXT = 'handoffs of an envelope schema of your own with no context object (nor one on the hop before): nothing to lose';
    const ownSchema = { [BATON_ENVELOPE_SCHEMA_ID]: 'acme.ticket', [BATON_CONTEXT_MISSING_FIELDS]: ['context'] };

    it('on the first hop: not judged, and said so, rather than reported as dropping decisions and constraints', () => {
      const spans = setAttributes(clean, CLEAN_TRIAGE_SEND, ownSchema);
      expect(detectContextLoss(graphOf(spans))).toEqual({ findings: [], checked: 3, notEvaluated: [{ count: 1, reason: WITHOUT_CONTEXT }] });
    });

    it('after a hop that carried decisions and constraints: still a loss', () => {
      const spans = setAttributes(clean, CLEAN_WRITER_SEND, ownSchema);
      expect(detectContextLoss(graphOf(spans)).findings.map((f) => f.message)).toEqual([
        'writer → reviewer drops decisions_made (3 before) and constraints (2 before)',
      ]);
    });

    it("Baton's own envelope without a context object is a loss on the first hop too", () => {
      const spans = setAttributes(clean, CLEAN_TRIAGE_SEND, { [BATON_CONTEXT_MISSING_FIELDS]: ['context'] });
      expect(detectContextLoss(graphOf(spans)).findings.map((f) => f.message)).toEqual(['triage → research drops decisions_made and constraints']);
    });
  });

  describe('when sends do not record missing fields', () => {
    it('checks nothing and says how many handoffs it could not judge, rather than passing context-loss.json', async () => {
      const spans = stripAttributes(loss, [BATON_CONTEXT_MISSING_FIELDS]);
      expect(detectContextLoss(graphOf(spans))).toEqual({ findings: [], checked: 0, notEvaluated: [{ count: 4, reason: UNRECORDED }] });
      expectCouldNotRun(await auditOne(spans, { only: [RULE] }), RULE, [{ count: 4, reason: UNRECORDED }]);
    });
  });

  describe('through auditSpans', () => {
    it('reports what the detector reports on the model', async () => {
      const report = await auditOne(loss, { only: [RULE] });
      expect(report.findings).toEqual(detectContextLoss(graphOf(loss)).findings);
      expect(ruleOf(report, RULE)).toMatchObject({ findings: 1, checked: 4, couldNotRun: false });
    });
  });
});
