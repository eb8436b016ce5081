/**
 * Traces written by the SDK of conventions 1 still read: fixtures/conventions-v1/ holds
 * the example pipeline's traces as that SDK wrote them (copies of the fixtures before
 * conventions 2, never regenerated), and each must audit exactly as the same trace
 * written under conventions 2 (test/helpers/conventions.ts; the example pipeline's test
 * checks that function against what the SDK writes now): same findings with the same
 * evidence, same rule summaries, edges and tasks. Only the versions seen differ.
 */
import { readFile } from 'node:fs/promises';
import { beforeAll, describe, expect, it } from 'vitest';
import { SCENARIOS, type Scenario } from '../../fixtures/generate.js';
import { parseOtlpJsonRequest } from '../../src/ingest/otlp-json.js';
import { BATON_CONVENTIONS_VERSION } from '../../src/model/attributes.js';
import type { AuditReport } from '../../src/model/audit-report.js';
import type { SpanRecord } from '../../src/model/span-record.js';
import { auditOne } from '../helpers/analyze.js';
import { countDropped, toConventions2 } from '../helpers/conventions.js';
import { RULES_OF_FAULT } from '../helpers/fault-rules.js';
import { FIXTURES_DIR } from '../helpers/traces.js';

const v1 = {} as Record<Scenario, SpanRecord[]>;

beforeAll(async () => {
  for (const name of SCENARIOS) {
    const path = `${FIXTURES_DIR}conventions-v1/${name}.json`;
    v1[name] = parseOtlpJsonRequest(JSON.parse(await readFile(path, 'utf8')), `fixtures/conventions-v1/${name}.json`);
  }
});

/** The report without the versions seen, the one part that must differ. */
function withoutVersions(report: AuditReport): unknown {
  return { ...report, inputs: { ...report.inputs, conventionsVersions: [] } };
}

describe('conventions 1 traces', () => {
  it.each(SCENARIOS)('fixtures/conventions-v1/%s.json was written under conventions 1 and carries what version 2 leaves out', (name) => {
    const versions = new Set(v1[name].map((s) => s.attributes[BATON_CONVENTIONS_VERSION]).filter((v) => v !== undefined));
    expect([...versions]).toEqual(['1']);
    // Every handoff span of version 1 repeated something: the comparison below is not of two equal traces.
    expect(countDropped(v1[name])).toBeGreaterThan(10);
  });

  it.each(SCENARIOS)('%s: audits exactly as the same trace written under conventions 2', async (name) => {
    const old = await auditOne(v1[name]);
    const current = await auditOne(toConventions2(v1[name]));
    expect(old.inputs.conventionsVersions).toEqual(['1']);
    expect(current.inputs.conventionsVersions).toEqual(['2']);
    expect(withoutVersions(current)).toEqual(withoutVersions(old));
    // And what the pipeline's fault must trigger, so the equality is of reports that found something.
    const expected = name === 'clean' ? [] : RULES_OF_FAULT[name];
    expect([...new Set(current.findings.map((f) => f.ruleId))].sort()).toEqual([...expected].sort());
  });

  it('a conventions 1 trace and a conventions 2 trace audited together: one report of both, versions 1 and 2 seen', async () => {
    const both = await auditOne([...v1['ack-timeout'], ...toConventions2(v1['schema-drift'])]);
    expect(both.inputs.conventionsVersions).toEqual(['1', '2']);
    expect([...new Set(both.findings.map((f) => f.ruleId))].sort()).toEqual(['ack-timeout', 'schema-drift']);
  });
});
