/**
 * detectDuplicateWrites (rule duplicate-write) on the committed fixtures: the
 * retried research write of `duplicate-write.json`, the fallback identity
 * (task + step + key) when no idempotency key is recorded, updates by the same
 * attempt, and what the rule says when writes carry no identity at all.
 */
import { DETECTORS } from '../../../src/analyze/detectors/index.js';
import { beforeAll, describe, expect, it } from 'vitest';
import { detectDuplicateWrites, RULE } from '../../../src/analyze/detectors/duplicate-write.js';
import { BATON_ATTEMPT, BATON_IDEMPOTENCY_KEY, BATON_STEP, BatonOperation } from '../../../src/model/attributes.js';
import type { HandoffGraph } from '../../../src/model/handoff-model.js';
import type { SpanRecord } from '../../../src/model/span-record.js';
import { auditOne, graphOf, invalidGraphs, isOperation, ruleOf, setAttributes, stripAttributes } from '../../helpers/analyze.js';
import { loadFixture } from '../../helpers/traces.js';

const DUPLICATE_TRACE = '7f2a901d13f22428e3292091dbfd91b4';
// duplicate-write.json: the two state.write spans of key research-duplicate-write/research,
// step output, idempotency key research-duplicate-write:research:output.
const WRITE_ATTEMPT_1 = '1e037a23fb999768'; // attempt 1, version_written 2 (the worker then crashed)
const WRITE_ATTEMPT_2 = '0c221e6e5603595c'; // attempt 2 (the coordinator's retry), version_written 4

const UNKEYED = 'writes with neither baton.idempotency_key nor baton.task.id + baton.step';

let clean: SpanRecord[];
let duplicate: SpanRecord[];

beforeAll(async () => {
  [clean, duplicate] = await Promise.all([loadFixture('clean'), loadFixture('duplicate-write')]);
});

describe('detectDuplicateWrites', () => {
  it.each(invalidGraphs())('throws a TypeError prefixed "duplicate-write:" for %s', (_label, input) => {
    expect(() => detectDuplicateWrites(input as HandoffGraph)).toThrow(TypeError);
    expect(() => detectDuplicateWrites(input as HandoffGraph)).toThrow(/^duplicate-write: expected a HandoffGraph/);
  });

  it('reports the write committed by attempts 1 and 2 of duplicate-write.json, with both writes as evidence', () => {
    const result = detectDuplicateWrites(graphOf(duplicate));
    expect(result.findings).toEqual([
      {
        ruleId: RULE,
        severity: 'error',
        message:
          'research-duplicate-write/research written 2 times by attempts 1, 2 (v2, v4) under idempotency key research-duplicate-write:research:output',
        hint: expect.stringContaining('idempotency key'),
        evidence: {
          traceId: DUPLICATE_TRACE,
          traceIds: [DUPLICATE_TRACE],
          spanIds: [WRITE_ATTEMPT_1, WRITE_ATTEMPT_2],
          startMs: duplicate.find((s) => s.spanId === WRITE_ATTEMPT_1)!.startMs,
        },
        agents: ['research'],
        taskId: 'research-duplicate-write',
      },
    ]);
    // Eight writes, each with an idempotency key (the two draft writes have their own).
    expect(result.checked).toBe(8);
    expect(result.notEvaluated).toEqual([]);
  });

  it('finds nothing on the clean fixture, having checked all six writes', () => {
    expect(detectDuplicateWrites(graphOf(clean))).toEqual({ findings: [], checked: 6, notEvaluated: [] });
  });

  it('falls back to task + step + key without idempotency keys, and counts the writes it cannot identify', () => {
    const result = detectDuplicateWrites(graphOf(stripAttributes(duplicate, [BATON_IDEMPOTENCY_KEY])));
    expect(result.findings.map((f) => [f.message, f.evidence.spanIds])).toEqual([
      ['research-duplicate-write/research written 2 times by attempts 1, 2 (v2, v4)', [WRITE_ATTEMPT_1, WRITE_ATTEMPT_2]],
    ]);
    // The two draft writes have no step: they cannot be identified.
    expect(result.checked).toBe(6);
    expect(result.notEvaluated).toEqual([{ count: 2, reason: UNKEYED }]);
  });

  it('treats two writes of the same attempt as an update, not a duplicate', () => {
    const spans = setAttributes(duplicate, WRITE_ATTEMPT_2, { [BATON_ATTEMPT]: 1 });
    expect(detectDuplicateWrites(graphOf(spans)).findings).toEqual([]);
  });

  it('reports writes whose attempts are unknown, without claiming attempt numbers', () => {
    const spans = stripAttributes(duplicate, [BATON_ATTEMPT], isOperation(BatonOperation.StateWrite));
    expect(detectDuplicateWrites(graphOf(spans)).findings.map((f) => f.message)).toEqual([
      'research-duplicate-write/research written 2 times (v2, v4) under idempotency key research-duplicate-write:research:output',
    ]);
  });

  describe('when writes carry no identity', () => {
    it('checks nothing and says how many writes it could not identify, rather than passing them', async () => {
      const spans = stripAttributes(duplicate, [BATON_IDEMPOTENCY_KEY, BATON_STEP]);
      expect(detectDuplicateWrites(graphOf(spans))).toEqual({ findings: [], checked: 0, notEvaluated: [{ count: 8, reason: UNKEYED }] });
      expect(ruleOf(await auditOne(spans, { only: [RULE] }), RULE)).toEqual({
        ruleId: RULE,
        description: DETECTORS[RULE].description,
        severity: DETECTORS[RULE].maxSeverity,
        status: 'could-not-run',
        findings: 0,
        checked: 0,
        notEvaluated: [{ count: 8, reason: UNKEYED }],
        couldNotRun: true,
      });
    });
  });

  describe('through auditSpans', () => {
    it('reports what the detector reports on the model', async () => {
      const report = await auditOne(duplicate, { only: [RULE] });
      expect(report.findings).toEqual(detectDuplicateWrites(graphOf(duplicate)).findings);
      expect(ruleOf(report, RULE)).toMatchObject({ findings: 1, checked: 8, couldNotRun: false });
    });

    it('is silent when turned off with rules: { duplicate-write: false }', async () => {
      const report = await auditOne(duplicate, { rules: { 'duplicate-write': false } });
      expect(report.findings.map((f) => f.ruleId)).toEqual(['partial-handoff']);
      expect(ruleOf(report, RULE)).toMatchObject({ status: 'off', findings: 0, checked: 0 });
    });
  });
});
