/**
 * detectContextBlowup (rule context-blowup) on the committed fixtures: the
 * forward-everything chain of `context-blowup.json`, the growth factor and
 * budget options in tokens and (without token counts) in bytes, and what the
 * rule says when handoffs record no context size.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { detectContextBlowup, RULE } from '../../../src/analyze/detectors/context-blowup.js';
import { BATON_CONTEXT_SIZE_BYTES, BATON_CONTEXT_TOKEN_COUNT } from '../../../src/model/attributes.js';
import type { HandoffGraph } from '../../../src/model/handoff-model.js';
import type { SpanRecord } from '../../../src/model/span-record.js';
import { auditOne, graphOf, invalidGraphs, ruleOf, stripAttributes, expectCouldNotRun } from '../../helpers/analyze.js';
import { loadFixture } from '../../helpers/traces.js';

const BLOWUP_TRACE = '2eb7fdd2dbe61f18938edbe1461d7ab7';
// context-blowup.json: the four handoff.send spans of the chain, with their baton.context.token_count.
const BLOWUP_SENDS = [
  '5c37ee3ed4335e14', // triage → research, 4092 tokens
  '084e9d52c854d86b', // research → analysis, 8200 tokens (2.0x)
  '68e6fd045743b725', // analysis → writer, 12320 tokens
  'b4e36e6d6a137e4a', // writer → reviewer, 16453 tokens (past 16000)
];
// clean.json: the four handoff.send spans, 92 / 108 / 120 / 133 tokens, 178 / 220 / 273 / 307 context bytes.
const CLEAN_SENDS = ['762fe0e52d015981', '478c5299d80639dc', 'cd29c830ff143fcb', '250ae4a1cca5565f'];

const PATH = 'triage → research → analysis → writer → reviewer';
const UNMEASURED = 'chains with handoffs lacking baton.context.token_count and baton.context.size_bytes';

let clean: SpanRecord[];
let blowup: SpanRecord[];

beforeAll(async () => {
  [clean, blowup] = await Promise.all([loadFixture('clean'), loadFixture('context-blowup')]);
});

describe('detectContextBlowup', () => {
  it.each(invalidGraphs())('throws a TypeError prefixed "context-blowup:" for %s', (_label, input) => {
    expect(() => detectContextBlowup(input as HandoffGraph)).toThrow(TypeError);
    expect(() => detectContextBlowup(input as HandoffGraph)).toThrow(/^context-blowup: expected a HandoffGraph/);
  });

  it('reports the chain of context-blowup.json: growth per hop and the hop past the budget, every send as evidence', () => {
    const result = detectContextBlowup(graphOf(blowup));
    expect(result.findings).toEqual([
      {
        ruleId: RULE,
        severity: 'error',
        message: `context grew from 4092 to 16453 tokens along ${PATH}: up to 2.0x per hop (limit 1.5x); past the 16000 tokens budget at writer → reviewer`,
        hint: expect.stringContaining('Summarize'),
        evidence: { traceId: BLOWUP_TRACE, traceIds: [BLOWUP_TRACE], spanIds: BLOWUP_SENDS, startMs: blowup.find((s) => s.spanId === BLOWUP_SENDS[0])!.startMs },
        agents: ['triage', 'research', 'analysis', 'writer', 'reviewer'],
        taskId: 'research-context-blowup',
      },
    ]);
    expect(result.checked).toBe(1);
    expect(result.notEvaluated).toEqual([]);
  });

  it('finds nothing on the clean fixture, having checked its one chain', () => {
    expect(detectContextBlowup(graphOf(clean))).toEqual({ findings: [], checked: 1, notEvaluated: [] });
  });

  describe('options', () => {
    it('reports growth alone as a warning when the budget is raised (maxTokens)', () => {
      const findings = detectContextBlowup(graphOf(blowup), { maxTokens: 20_000 }).findings;
      expect(findings.map((f) => [f.severity, f.message])).toEqual([
        ['warning', `context grew from 4092 to 16453 tokens along ${PATH}: up to 2.0x per hop (limit 1.5x)`],
      ]);
    });

    it('reports the budget alone when the growth limit is raised (maxGrowthPerHop)', () => {
      const findings = detectContextBlowup(graphOf(blowup), { maxGrowthPerHop: 2.5 }).findings;
      expect(findings.map((f) => [f.severity, f.message])).toEqual([
        ['error', `context grew from 4092 to 16453 tokens along ${PATH}: past the 16000 tokens budget at writer → reviewer`],
      ]);
    });

    it('ignores growth below minGrowthTokens whatever the ratio', () => {
      // Each hop adds about 4100 tokens.
      expect(detectContextBlowup(graphOf(blowup), { maxTokens: 20_000, minGrowthTokens: 4200 }).findings).toEqual([]);
      expect(detectContextBlowup(graphOf(blowup), { maxTokens: 20_000, minGrowthTokens: 4100 }).findings).toHaveLength(1);
    });

    it('holds the clean chain to a tighter budget and growth limit', () => {
      expect(
        detectContextBlowup(graphOf(clean), { maxTokens: 100 }).findings.map((f) => [f.severity, f.message, f.evidence.spanIds]),
      ).toEqual([
        ['error', `context grew from 92 to 133 tokens along ${PATH}: past the 100 tokens budget at research → analysis`, CLEAN_SENDS],
      ]);
      // 92 → 108 is the steepest hop (1.17x).
      expect(detectContextBlowup(graphOf(clean), { maxGrowthPerHop: 1.1, minGrowthTokens: 10 }).findings.map((f) => f.message)).toEqual([
        `context grew from 92 to 133 tokens along ${PATH}: up to 1.2x per hop (limit 1.1x)`,
      ]);
    });

    it('measures in bytes when token counts are missing, against the byte budget', () => {
      const spans = stripAttributes(clean, [BATON_CONTEXT_TOKEN_COUNT]);
      expect(detectContextBlowup(graphOf(spans))).toEqual({ findings: [], checked: 1, notEvaluated: [] });
      expect(detectContextBlowup(graphOf(spans), { maxBytes: 200 }).findings.map((f) => f.message)).toEqual([
        `context grew from 178 to 307 bytes along ${PATH}: past the 200 bytes budget at research → analysis`,
      ]);
      // The token budget no longer applies.
      expect(detectContextBlowup(graphOf(spans), { maxTokens: 100 }).findings).toEqual([]);
    });
  });

  describe('when handoffs record no context size', () => {
    it('checks nothing and says how many chains it could not measure, rather than passing context-blowup.json', async () => {
      const spans = stripAttributes(blowup, [BATON_CONTEXT_TOKEN_COUNT, BATON_CONTEXT_SIZE_BYTES]);
      expect(detectContextBlowup(graphOf(spans))).toEqual({ findings: [], checked: 0, notEvaluated: [{ count: 1, reason: UNMEASURED }] });
      expectCouldNotRun(await auditOne(spans, { only: [RULE] }), RULE, [{ count: 1, reason: UNMEASURED }]);
    });
  });

  describe('through auditSpans', () => {
    it('reports what the detector reports on the model', async () => {
      const report = await auditOne(blowup, { only: [RULE] });
      expect(report.findings).toEqual(detectContextBlowup(graphOf(blowup)).findings);
      expect(ruleOf(report, RULE)).toMatchObject({ findings: 1, checked: 1, couldNotRun: false });
    });

    it('passes rules.context-blowup options to the detector', async () => {
      const report = await auditOne(blowup, { rules: { 'context-blowup': { maxTokens: 20_000, maxGrowthPerHop: 2.5 } } });
      expect(report.findings).toEqual([]);
    });
  });
});
