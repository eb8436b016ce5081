/**
 * Each rule's `reads` (rule.ts): the model lists its `group` reads. The Auditor
 * skips a rule in a group where all of them are empty, so the declaration must
 * be true: on such a group the rule returns no findings, no checks and no
 * "not evaluated" reasons (the report's per-rule status must not change), and
 * remembers nothing that changes a later result. Held on the models of every
 * committed fixture (Baton's own and every framework's), with the rule's lists
 * emptied and everything else of the model kept.
 */
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import { buildHandoffGraph } from '../../../src/analyze/build-graph.js';
import { buildHandoffModel } from '../../../src/analyze/build-model.js';
import { DETECTORS, RULE_IDS, type RuleId } from '../../../src/analyze/detectors/index.js';
import { readsNothingIn, type ModelList, type RuleRun } from '../../../src/analyze/detectors/rule.js';
import { readTraceInputs } from '../../../src/ingest/index.js';
import type { DetectorResult } from '../../../src/model/finding.js';
import type { HandoffGraph, HandoffModel } from '../../../src/model/handoff-model.js';
import type { SpanRecord } from '../../../src/model/span-record.js';
import { FIXTURES_DIR } from '../../helpers/traces.js';

const ALL_LISTS: readonly ModelList[] = ['handoffs', 'agentRuns', 'stateAccesses', 'events'];

/** Every committed fixture file the analyzer reads as OTLP/JSON or an SDK's JSON: Baton's, and one encoding per framework scenario. */
async function fixtureFiles(): Promise<string[]> {
  const files: string[] = [];
  for (const name of await readdir(FIXTURES_DIR)) if (name.endsWith('.json')) files.push(join(FIXTURES_DIR, name));
  const frameworks = join(FIXTURES_DIR, 'frameworks');
  for (const entry of await readdir(frameworks, { withFileTypes: true })) {
    if (!entry.isDirectory()) continue;
    for (const name of await readdir(join(frameworks, entry.name))) {
      if (name.endsWith('.otlp.json') || name.endsWith('.native.jsonl')) files.push(join(frameworks, entry.name, name));
    }
  }
  return files.sort();
}

/** The fixture's trace groups as models, one per trace (enough to give every rule groups with and without each list). */
async function modelsOf(file: string): Promise<HandoffModel[]> {
  const byTrace = new Map<string, SpanRecord[]>();
  for await (const batch of readTraceInputs([file])) {
    for (const span of batch) {
      let list = byTrace.get(span.traceId);
      if (!list) byTrace.set(span.traceId, (list = []));
      list.push(span);
    }
  }
  return [...byTrace.values()].map((spans) => buildHandoffModel(spans));
}

/** The model with `lists` emptied: a group of the same data in which those parts are absent. */
function without(model: HandoffModel, lists: readonly ModelList[]): HandoffGraph {
  const copy: { -readonly [K in keyof HandoffModel]: HandoffModel[K] } = { ...model };
  for (const list of lists) copy[list] = [];
  return buildHandoffGraph(copy);
}

function createRun(id: RuleId): RuleRun {
  return (DETECTORS[id].rule.create as (options: never) => RuleRun)({} as never);
}

/** A result as the report sees it: findings, checks and reasons. */
function summary(result: DetectorResult): unknown {
  return { findings: result.findings, checked: result.checked, notEvaluated: [...result.notEvaluated].sort((a, b) => (a.reason < b.reason ? -1 : 1)) };
}

let models: HandoffModel[] = [];

beforeAll(async () => {
  models = [];
  for (const file of await fixtureFiles()) models.push(...(await modelsOf(file)));
});

describe('readsNothingIn', () => {
  it('is true only when every named list of the model is empty', () => {
    const model = models.find((m) => m.handoffs.length > 0 && m.agentRuns.length > 0)!;
    expect(model).toBeDefined();
    expect(readsNothingIn(model, ['handoffs'])).toBe(false);
    expect(readsNothingIn(without(model, ['handoffs']).model, ['handoffs'])).toBe(true);
    expect(readsNothingIn(without(model, ['handoffs']).model, ['handoffs', 'agentRuns'])).toBe(false);
    expect(readsNothingIn(without(model, ALL_LISTS).model, ALL_LISTS)).toBe(true);
  });
});

describe.each(RULE_IDS.filter((id) => DETECTORS[id].rule.reads !== undefined))('%s reads', (id) => {
  const reads = DETECTORS[id].rule.reads!;

  it('names only lists of the model', () => {
    expect(reads.length).toBeGreaterThan(0);
    for (const list of reads) expect(ALL_LISTS).toContain(list);
  });

  it('the fixtures give it groups with its lists and groups without them', () => {
    expect(models.length).toBeGreaterThan(50);
    expect(models.some((m) => !readsNothingIn(m, reads))).toBe(true);
  });

  it('on a group without its lists: no findings, no checks, no reasons', () => {
    for (const model of models) {
      const run = createRun(id);
      const result = run.group(without(model, reads), model.horizon.endMs);
      expect(summary(result), model.traceIds[0]).toEqual({ findings: [], checked: 0, notEvaluated: [] });
    }
  });

  it('groups without its lists, anywhere in the input, change no result of the run', () => {
    const graphs = models.map((model) => buildHandoffGraph(model));
    const empties = models.map((model) => without(model, reads));
    const endMs = Math.max(...models.map((m) => m.horizon.endMs));
    const baseline = createRun(id);
    const expected = graphs.map((graph) => summary(baseline.group(graph, graph.model.horizon.endMs)));
    const expectedFinish = baseline.finish ? summary(baseline.finish(endMs)) : undefined;
    fc.assert(
      fc.property(fc.array(fc.nat(graphs.length), { minLength: 1, maxLength: 40 }), (positions) => {
        const run = createRun(id);
        const insertAt = new Map<number, number>();
        for (const p of positions) insertAt.set(p, (insertAt.get(p) ?? 0) + 1);
        const got: unknown[] = [];
        for (let i = 0; i <= graphs.length; i++) {
          for (let k = 0; k < (insertAt.get(i) ?? 0); k++) {
            const empty = empties[(i + k) % empties.length]!;
            expect(summary(run.group(empty, empty.model.horizon.endMs))).toEqual({ findings: [], checked: 0, notEvaluated: [] });
          }
          if (i < graphs.length) got.push(summary(run.group(graphs[i]!, graphs[i]!.model.horizon.endMs)));
        }
        expect(got).toEqual(expected);
        if (run.finish) expect(summary(run.finish(endMs))).toEqual(expectedFinish);
      }),
      { numRuns: 15 },
    );
  });
});
