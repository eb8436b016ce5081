/**
 * detectStaleEpochReads (rule stale-epoch-read) on the committed fixtures: the
 * lagging-replica read of `stale-read.json`, the epoch variants of the rule, the
 * clock-skew allowance, and what the rule says when reads carry no version.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { formatMs } from '../../../src/analyze/detectors/evidence.js';
import { detectStaleEpochReads, RULE } from '../../../src/analyze/detectors/stale-epoch-read.js';
import { BATON_EPOCH, BATON_STATE_VERSION_READ } from '../../../src/model/attributes.js';
import type { HandoffGraph } from '../../../src/model/handoff-model.js';
import type { SpanRecord } from '../../../src/model/span-record.js';
import { Baton } from '../../../src/sdk/baton.js';
import { InMemoryStateStore, instrumentStore } from '../../../src/sdk/state-store.js';
import { auditOne, graphOf, invalidGraphs, ruleOf, setAttributes, spansOf, stripAttributes, expectCouldNotRun } from '../../helpers/analyze.js';
import { createOtelHarness } from '../../helpers/otel.js';
import { loadFixture, toSpanRecords } from '../../helpers/traces.js';

const STALE_TRACE = '15b07d11d5cd21af5a461594bcf5b0fd';
// stale-read.json, identified by attributes:
// the state.read by analysis of key research-stale-read/research from pipeline_state_replica, version_read 1
const STALE_READ = 'f684f6e415ea70b3';
// the state.write by research of the same key, version_written 2, step output (ended 1.83 ms before the read began)
const NEWER_WRITE = '09bbf1685ad4897d';
// the handoff.send analysis → writer, in the same agent run as the read and after it
const ANALYSIS_SEND = 'ea6240a10d101c53';

// clean.json: reviewer's handoff.receive from writer, and writer's handoff.send it answers.
const CLEAN_REVIEWER_RECEIVE = '6c0eaf9b0221c256';
const CLEAN_WRITER_SEND = '250ae4a1cca5565f';
const CLEAN_TRIAGE_SEND = '762fe0e52d015981'; // clean.json: triage's handoff.send, the task's first at epoch 1

const UNVERSIONED = 'state reads without baton.state.version_read or baton.epoch';

let clean: SpanRecord[];
let stale: SpanRecord[];

beforeAll(async () => {
  [clean, stale] = await Promise.all([loadFixture('clean'), loadFixture('stale-read')]);
});

/** How long before the stale read began the write it missed had committed, read off the fixture. */
function gapMs(spans: readonly SpanRecord[]): number {
  return spans.find((s) => s.spanId === STALE_READ)!.startMs - spans.find((s) => s.spanId === NEWER_WRITE)!.endMs;
}

describe('detectStaleEpochReads', () => {
  it.each(invalidGraphs())('throws a TypeError prefixed "stale-epoch-read:" for %s', (_label, input) => {
    expect(() => detectStaleEpochReads(input as HandoffGraph)).toThrow(TypeError);
    expect(() => detectStaleEpochReads(input as HandoffGraph)).toThrow(/^stale-epoch-read: expected a HandoffGraph/);
  });

  it('reports the replica read of stale-read.json: reader, key, versions, writer and the handoff decided on it', () => {
    const gap = formatMs(gapMs(stale));
    const result = detectStaleEpochReads(graphOf(stale));
    expect(result.findings).toHaveLength(1);
    const finding = result.findings[0]!;
    expect(finding).toMatchObject({
      ruleId: RULE,
      severity: 'error',
      message:
        `analysis read research-stale-read/research at version 1 after version 2 was committed by research (${gap} earlier), then handed off on it`,
      agents: ['analysis', 'research'],
      taskId: 'research-stale-read',
    });
    expect(finding.evidence.traceId).toBe(STALE_TRACE);
    // The read, the write it missed, then the handoff analysis sent on it. What follows
    // those three is not asserted: see the report on isInRun (stale-epoch-read.ts), which
    // also counts writer's later send to reviewer as sent "from the same agent run".
    // Only what analysis itself sent after the read: writer's later send is not analysis's decision.
    expect(finding.evidence.spanIds).toEqual([STALE_READ, NEWER_WRITE, ANALYSIS_SEND]);
    expect(finding.evidence.startMs).toBe(stale.find((s) => s.spanId === STALE_READ)!.startMs);
    // Four versioned reads and four receives carrying an epoch.
    expect(result.checked).toBe(8);
    expect(result.notEvaluated).toEqual([]);
  });

  it('finds nothing on the clean fixture, having checked every read and receive', () => {
    expect(detectStaleEpochReads(graphOf(clean))).toEqual({ findings: [], checked: 8, notEvaluated: [] });
  });

  it('reports a read at an older epoch when versions are not recorded', () => {
    let spans = stripAttributes(stale, [BATON_STATE_VERSION_READ]);
    spans = setAttributes(spans, NEWER_WRITE, { [BATON_EPOCH]: 2 });
    const findings = detectStaleEpochReads(graphOf(spans)).findings;
    expect(findings.map((f) => f.message)).toEqual([
      `analysis read research-stale-read/research at epoch 1 after epoch 2 was committed by research (${formatMs(gapMs(stale))} earlier), then handed off on it`,
    ]);
    expect(findings[0]!.evidence.spanIds).toEqual([STALE_READ, NEWER_WRITE, ANALYSIS_SEND]);
  });

  it('reports a handoff received with an epoch older than one the task already sent', () => {
    // An envelope from epoch 0 arriving after the task sent its epoch-1 handoffs.
    const spans = setAttributes(clean, CLEAN_REVIEWER_RECEIVE, { [BATON_EPOCH]: 0 });
    const findings = detectStaleEpochReads(graphOf(spans)).findings;
    expect(findings).toHaveLength(1);
    expect(findings[0]).toMatchObject({
      ruleId: RULE,
      severity: 'error',
      message: 'reviewer acted on a handoff from writer at epoch 0 after the task moved to epoch 1',
      // The stale receive, its send, and last the send that first carried the newer epoch (triage → research).
      evidence: {
        traceId: '8edbfa52334a8b41e747dacf2cf5f801',
        traceIds: ['8edbfa52334a8b41e747dacf2cf5f801'],
        spanIds: [CLEAN_REVIEWER_RECEIVE, CLEAN_WRITER_SEND, CLEAN_TRIAGE_SEND],
      },
      agents: ['writer', 'reviewer'],
      taskId: 'research-clean',
    });
  });

  describe('skewToleranceMs', () => {
    // Tolerances either side of the fixture's own gap between the newer write's end and the stale read.
    it('still reports a write committed more than the tolerance before the read', () => {
      expect(detectStaleEpochReads(graphOf(stale), { skewToleranceMs: gapMs(stale) * 0.9 }).findings).toHaveLength(1);
    });

    it('ignores a write committed within the tolerance of the read (it may not have been visible), still counting the read', () => {
      const result = detectStaleEpochReads(graphOf(stale), { skewToleranceMs: gapMs(stale) * 1.1 });
      expect(result.findings).toEqual([]);
      expect(result.checked).toBe(8);
    });
  });

  describe('when reads carry no version and no epoch', () => {
    it('checks nothing and says how many reads it could not judge, rather than passing them', async () => {
      const spans = stripAttributes(stale, [BATON_STATE_VERSION_READ, BATON_EPOCH]);
      expect(detectStaleEpochReads(graphOf(spans))).toEqual({
        findings: [],
        checked: 0,
        notEvaluated: [{ count: 4, reason: UNVERSIONED }],
      });
      expectCouldNotRun(await auditOne(spans, { only: [RULE] }), RULE, [{ count: 4, reason: UNVERSIONED }]);
    });
  });

  describe('when one side of a key names its store and the other does not', () => {
    const AMBIGUOUS =
      'state reads or writes without db.system.name of a key that several named stores hold: not matched to a store';

    /**
     * research writes doc:t1 twice through instrumentStore; analyst reads a snapshot taken
     * between the writes with traceStateRead (no `system`, so db.system.name = other).
     * `readSystem`/`writeSystems` vary which side names the store. Returns the spans and the
     * program's own log of versions.
     */
    async function runReplicaRead(options: { readSystem?: string; writeSystems: readonly (string | undefined)[] }) {
      const otel = createOtelHarness();
      const baton = new Baton({ tracer: otel.tracer, meter: otel.meter });
      const raw = new InMemoryStateStore<string>();
      const log: { written: number[]; read?: number } = { written: [] };
      let replica = raw;
      for (const [i, system] of options.writeSystems.entries()) {
        const store = instrumentStore(baton, raw, system === undefined ? {} : { system });
        const result = await baton.runAgent('research', () => store.set('doc:t1', `draft ${i}`, { taskId: 't1' }), { taskId: 't1' });
        log.written.push(result.version);
        if (i === 0) replica = raw.snapshot();
      }
      const read = { key: 'doc:t1', taskId: 't1', agent: 'analyst', ...(options.readSystem ? { system: options.readSystem } : {}) };
      const entry = await baton.runAgent('analyst', () => baton.traceStateRead(read, () => replica.get('doc:t1')), { taskId: 't1' });
      log.read = entry?.version;
      const spans = toSpanRecords(otel.spans());
      await otel.shutdown();
      return { spans, log };
    }

    it('reports an unnamed read (traceStateRead without system) that missed a write through instrumentStore with system memory', async () => {
      const { spans, log } = await runReplicaRead({ writeSystems: ['memory', 'memory'] });
      const result = detectStaleEpochReads(graphOf(spans));
      const [read] = spansOf(spans, 'state.read');
      const newer = spansOf(spans, 'state.write')[1]!;
      expect(read!.attributes['db.system.name']).toBe('other'); // what the SDK writes without `system`
      expect(result.findings.map((f) => f.evidence.spanIds.slice(0, 2))).toEqual([[read!.spanId, newer.spanId]]);
      expect(result.findings[0]!.message).toMatch(
        new RegExp(`^analyst read doc:t1 at version ${log.read} after version ${log.written[1]} was committed by`),
      );
      expect(result.notEvaluated).toEqual([]);
    });

    it('reports a read naming its store that missed an unnamed write of the same key', async () => {
      const { spans, log } = await runReplicaRead({ readSystem: 'memory', writeSystems: [undefined, undefined] });
      const findings = detectStaleEpochReads(graphOf(spans)).findings;
      expect(findings.map((f) => f.message.slice(0, f.message.indexOf(' by ')))).toEqual([
        `analyst read doc:t1 at version ${log.read} after version ${log.written[1]} was committed`,
      ]);
    });

    it('finds nothing when the unnamed read saw the newest named write (near miss)', async () => {
      // Both writes happen before the snapshot's key is read from the live store: no snapshot lag.
      const otel = createOtelHarness();
      const baton = new Baton({ tracer: otel.tracer, meter: otel.meter });
      const raw = new InMemoryStateStore<string>();
      const store = instrumentStore(baton, raw, { system: 'memory' });
      await store.set('doc:t1', 'a', { taskId: 't1' });
      await store.set('doc:t1', 'b', { taskId: 't1' });
      const entry = await baton.traceStateRead({ key: 'doc:t1', taskId: 't1' }, () => raw.get('doc:t1'));
      expect(entry?.version).toBe(2);
      const result = detectStaleEpochReads(graphOf(toSpanRecords(otel.spans())));
      expect(result).toEqual({ findings: [], checked: 1, notEvaluated: [] });
    });

    it('matches an unnamed read to no store when the key is written in two named stores, and says so', async () => {
      const { spans } = await runReplicaRead({ writeSystems: ['redis', 'postgresql'] });
      const result = detectStaleEpochReads(graphOf(spans));
      expect(result).toEqual({ findings: [], checked: 1, notEvaluated: [{ count: 1, reason: AMBIGUOUS }] });
    });

    it('keeps two named stores apart: a read from one never meets the writes of another', async () => {
      const { spans } = await runReplicaRead({ readSystem: 'redis', writeSystems: ['postgresql', 'postgresql'] });
      expect(detectStaleEpochReads(graphOf(spans))).toEqual({ findings: [], checked: 1, notEvaluated: [] });
    });
  });

  describe('through auditSpans', () => {
    it('reports what the detector reports on the model', async () => {
      const report = await auditOne(stale, { only: [RULE] });
      expect(report.findings).toEqual(detectStaleEpochReads(graphOf(stale)).findings);
      // The other rules are listed, as off.
      expect(report.rules.filter((r) => r.status !== 'off').map((r) => r.ruleId)).toEqual([RULE]);
      expect(ruleOf(report, RULE)).toMatchObject({ findings: 1, checked: 8, couldNotRun: false });
    });

    it('passes rules.stale-epoch-read options to the detector', async () => {
      const report = await auditOne(stale, { rules: { 'stale-epoch-read': { skewToleranceMs: 2 } } });
      expect(report.findings).toEqual([]);
    });
  });
});
