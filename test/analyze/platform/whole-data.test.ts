/**
 * State rules see the whole input, not one trace at a time: the cases of the
 * analyzer-platform issue, each produced by the real Baton SDK over the real
 * OTel SDK as two separate traces (two processes: nothing links them but the
 * store), each beside a near-miss that must stay clean. Expectations come from
 * what the programs did (the versions their stores returned), not from the trace.
 */
import { context, ROOT_CONTEXT } from '@opentelemetry/api';
import { afterEach, describe, expect, it } from 'vitest';
import { auditSpans } from '../../../src/analyze/audit.js';
import type { AuditReport } from '../../../src/model/audit-report.js';
import { Baton } from '../../../src/sdk/baton.js';
import { createOtelHarness, type OtelHarness } from '../../helpers/otel.js';
import { toSpanRecords } from '../../helpers/traces.js';

const harnesses: OtelHarness[] = [];
afterEach(async () => {
  await Promise.all(harnesses.splice(0).map((h) => h.shutdown()));
});

/** A process of its own: its own provider, its own root context. */
function processOf(name: string): { baton: Baton; harness: OtelHarness; run<T>(fn: () => T): T } {
  const harness = createOtelHarness(name);
  harnesses.push(harness);
  const baton = new Baton({ tracer: harness.tracer, meter: harness.meter });
  return { baton, harness, run: (fn) => context.with(ROOT_CONTEXT, fn) };
}

const pause = (ms = 3) => new Promise((resolve) => setTimeout(resolve, ms));

async function audit(...processes: { harness: OtelHarness }[]): Promise<AuditReport> {
  const batches = processes.map((p, i) => toSpanRecords(p.harness.spans(), `process-${i}`));
  return auditSpans(batches);
}

const rule = (report: AuditReport, id: string) => report.findings.filter((f) => f.ruleId === id);

describe('stale-epoch-read over the whole input', () => {
  it('finds a worker fenced out by a failover in another trace reading at its old epoch', async () => {
    const coordinator = processOf('coordinator');
    const worker = processOf('worker');
    // The coordinator fails over: the lease moves to epoch 2, committed in its own trace.
    const failover = coordinator.run(() =>
      coordinator.baton.runAgent('coordinator', () =>
        coordinator.baton.traceStateWrite({ key: 'lease/job-7', agent: 'coordinator', epoch: 2, system: 'redis' }, () => ({ version: 5, epoch: 2 })),
      ),
    );
    await pause();
    // The old worker, in its own trace, still reads the lease at epoch 1.
    const stale = worker.run(() =>
      worker.baton.runAgent('worker', () =>
        worker.baton.traceStateRead({ key: 'lease/job-7', agent: 'worker', system: 'redis' }, () => ({ version: 4, epoch: 1 })),
      ),
    );
    expect([failover.epoch, stale.epoch]).toEqual([2, 1]);
    const report = await audit(coordinator, worker);
    const findings = rule(report, 'stale-epoch-read');
    expect(findings).toHaveLength(1);
    expect(findings[0]!.message).toContain('worker read lease/job-7 at version 4 after version 5 was committed by coordinator');
    // Evidence names both traces: the read's first.
    const readSpan = worker.harness.spans().find((s) => s.name.startsWith('read'))!;
    const writeSpan = coordinator.harness.spans().find((s) => s.name.startsWith('write'))!;
    expect(findings[0]!.evidence.spanIds.slice(0, 2)).toEqual([readSpan.spanContext().spanId, writeSpan.spanContext().spanId]);
    expect(findings[0]!.evidence.traceIds).toEqual([readSpan.spanContext().traceId, writeSpan.spanContext().traceId]);
  });

  it('stays clean when the other trace committed the same key in another database', async () => {
    const coordinator = processOf('coordinator');
    const worker = processOf('worker');
    coordinator.run(() =>
      coordinator.baton.traceStateWrite({ key: 'lease/job-7', agent: 'coordinator', epoch: 2, system: 'postgresql' }, () => ({ version: 5, epoch: 2 })),
    );
    await pause();
    worker.run(() => worker.baton.traceStateRead({ key: 'lease/job-7', agent: 'worker', system: 'redis' }, () => ({ version: 4, epoch: 1 })));
    const report = await audit(coordinator, worker);
    expect(rule(report, 'stale-epoch-read')).toEqual([]);
    expect(report.rules.find((r) => r.ruleId === 'stale-epoch-read')!.status).toBe('ran');
  });

  it('stays clean when the read in the other trace began before the write committed', async () => {
    const coordinator = processOf('coordinator');
    const worker = processOf('worker');
    worker.run(() => worker.baton.traceStateRead({ key: 'lease/job-7', agent: 'worker', system: 'redis' }, () => ({ version: 4, epoch: 1 })));
    await pause();
    coordinator.run(() =>
      coordinator.baton.traceStateWrite({ key: 'lease/job-7', agent: 'coordinator', epoch: 2, system: 'redis' }, () => ({ version: 5, epoch: 2 })),
    );
    const report = await audit(coordinator, worker);
    expect(rule(report, 'stale-epoch-read')).toEqual([]);
  });
});

describe('duplicate-write over the whole input', () => {
  it('finds a reconciler in another trace re-posting a write that already committed', async () => {
    const worker = processOf('worker');
    const reconciler = processOf('reconciler');
    const versions: number[] = [];
    worker.run(() =>
      versions.push(
        worker.baton.traceStateWrite({ key: 'invoice/42', agent: 'billing', attempt: 1, idempotencyKey: 'invoice-42-post' }, () => ({ version: 1 })).version,
      ),
    );
    await pause();
    reconciler.run(() =>
      versions.push(
        reconciler.baton.traceStateWrite({ key: 'invoice/42', agent: 'reconciler', attempt: 2, idempotencyKey: 'invoice-42-post' }, () => ({ version: 2 }))
          .version,
      ),
    );
    const report = await audit(worker, reconciler);
    const findings = rule(report, 'duplicate-write');
    expect(findings.map((f) => f.message)).toEqual([
      `invoice/42 written 2 times by attempts 1, 2 (v${versions[0]}, v${versions[1]}) under idempotency key invoice-42-post`,
    ]);
    expect(new Set(findings[0]!.evidence.traceIds).size).toBe(2);
  });

  it('stays clean when the store deduplicated the retry and returned the version it already had', async () => {
    const worker = processOf('worker');
    const reconciler = processOf('reconciler');
    worker.run(() => worker.baton.traceStateWrite({ key: 'invoice/42', agent: 'billing', attempt: 1, idempotencyKey: 'invoice-42-post' }, () => ({ version: 1 })));
    await pause();
    // The store recognised the key: nothing committed twice, the same version came back.
    reconciler.run(() =>
      reconciler.baton.traceStateWrite({ key: 'invoice/42', agent: 'reconciler', attempt: 2, idempotencyKey: 'invoice-42-post' }, () => ({ version: 1 })),
    );
    const report = await audit(worker, reconciler);
    expect(rule(report, 'duplicate-write')).toEqual([]);
    expect(report.rules.find((r) => r.ruleId === 'duplicate-write')!.checked).toBe(2);
  });
});

describe('lost-update over the whole input', () => {
  /** Two processes read doc:7 at version 1; the editor commits first; then the reviewer writes, having read `reviewerRead` first. */
  async function race(reviewerReadsAfterEditor: boolean) {
    const editor = processOf('editor');
    const reviewer = processOf('reviewer');
    let version = 1;
    const log: Record<string, { read?: number; wrote?: number }> = { editor: {}, reviewer: {} };
    const readDoc = (p: typeof editor, agent: string) =>
      (log[agent]!.read = p.baton.traceStateRead({ key: 'doc:7', agent, taskId: 't7', system: 'redis' }, () => ({ version })).version);
    const writeDoc = (p: typeof editor, agent: string) =>
      (log[agent]!.wrote = p.baton.traceStateWrite({ key: 'doc:7', agent, taskId: 't7', system: 'redis' }, () => ({ version: ++version })).version);
    // Each process reads and writes in one agent run, in its own trace.
    const editorRun = editor.run(() =>
      editor.baton.runAgent('editor', async () => {
        readDoc(editor, 'editor');
        await pause();
        writeDoc(editor, 'editor');
      }),
    );
    const reviewerRun = reviewer.run(() =>
      reviewer.baton.runAgent('reviewer', async () => {
        if (!reviewerReadsAfterEditor) readDoc(reviewer, 'reviewer');
        await editorRun;
        await pause();
        if (reviewerReadsAfterEditor) readDoc(reviewer, 'reviewer');
        writeDoc(reviewer, 'reviewer');
      }),
    );
    await reviewerRun;
    return { report: await audit(editor, reviewer), log, editor, reviewer };
  }

  it('finds a writer in one trace replacing, on a read older than it, the update another trace committed', async () => {
    const { report, log, editor, reviewer } = await race(false);
    expect(log).toEqual({ editor: { read: 1, wrote: 2 }, reviewer: { read: 1, wrote: 3 } });
    const findings = rule(report, 'lost-update');
    expect(findings.map((f) => f.message)).toEqual([
      `reviewer overwrote editor's update of doc:7: reviewer wrote version ${log.reviewer!.wrote} based on version ${log.reviewer!.read} it had read, after editor had committed version ${log.editor!.wrote}`,
    ]);
    const writeOf = (p: typeof editor) => p.harness.spans().find((s) => s.name.startsWith('write'))!.spanContext();
    expect(findings[0]!.evidence.spanIds.slice(0, 2)).toEqual([writeOf(reviewer).spanId, writeOf(editor).spanId]);
    expect(findings[0]!.evidence.traceIds).toEqual([writeOf(reviewer).traceId, writeOf(editor).traceId]);
  });

  it('stays clean when the writer in the other trace read the committed version first', async () => {
    const { report, log } = await race(true);
    expect(log).toEqual({ editor: { read: 1, wrote: 2 }, reviewer: { read: 2, wrote: 3 } });
    expect(rule(report, 'lost-update')).toEqual([]);
    expect(report.rules.find((r) => r.ruleId === 'lost-update')).toMatchObject({ status: 'ran', checked: 2 });
  });
});

describe('partial-handoff over the whole input', () => {
  it('does not flag a transactional outbox whose relay publishes the event in another trace', async () => {
    const writer = processOf('writer');
    const relay = processOf('outbox-relay');
    const consumer = processOf('consumer');
    const written = writer.run(() =>
      writer.baton.runAgent(
        'writer',
        () =>
          writer.baton.traceStateWrite(
            { key: 'draft/7', agent: 'writer', taskId: 'task-7', announces: 'draft.ready', system: 'postgresql' },
            () => ({ version: 3 }),
          ),
        { taskId: 'task-7' },
      ),
    );
    await pause();
    // The relay reads the outbox row later and publishes, in a trace of its own.
    const message = relay.run(() =>
      relay.baton.publish({ topic: 'draft.ready', taskId: 'task-7', key: 'draft/7', stateVersion: written.version, agent: 'outbox-relay' }),
    );
    await pause();
    consumer.run(() => consumer.baton.consume(message, () => undefined, { agent: 'reviewer' }));
    const report = await audit(writer, relay, consumer);
    expect(rule(report, 'partial-handoff')).toEqual([]);
    expect(report.rules.find((r) => r.ruleId === 'partial-handoff')!.checked).toBe(2);
  });

  it('still flags the write when the relay published another version of the key', async () => {
    const writer = processOf('writer');
    const relay = processOf('outbox-relay');
    writer.run(() =>
      writer.baton.traceStateWrite({ key: 'draft/7', agent: 'writer', taskId: 'task-7', announces: 'draft.ready' }, () => ({ version: 3 })),
    );
    await pause();
    relay.run(() => relay.baton.publish({ topic: 'draft.ready', taskId: 'task-7', key: 'draft/7', stateVersion: 2, agent: 'outbox-relay' }));
    const report = await audit(writer, relay);
    expect(rule(report, 'partial-handoff').map((f) => f.message)).toContain('writer wrote draft/7 (version 3) but never published draft.ready');
  });

  it('finds an event consumed by nobody in any trace, and not one consumed in another trace', async () => {
    const producer = processOf('producer');
    const consumer = processOf('consumer');
    const consumed = producer.run(() => producer.baton.publish({ topic: 'a.done', agent: 'a' }));
    producer.run(() => producer.baton.publish({ topic: 'b.done', agent: 'b' }));
    await pause();
    consumer.run(() => consumer.baton.consume(consumed, () => undefined, { agent: 'c' }));
    await pause();
    // Something later in the data, so neither publish is at the very end.
    consumer.run(() => consumer.baton.runAgent('c', () => undefined));
    const report = await audit(producer, consumer);
    expect(rule(report, 'partial-handoff').map((f) => f.message)).toEqual([expect.stringMatching(/^event b\.done \(.*\) published by b was never consumed$/)]);
  });
});

describe('ack-timeout: "now" is the end of all the input', () => {
  it('reports a handoff never acknowledged although its sender exited, when the data runs past its budget', async () => {
    const sender = processOf('sender');
    const other = processOf('other');
    sender.run(() =>
      sender.baton.runAgent('planner', () =>
        sender.baton.send(
          { task_id: 't-1', source_agent: 'planner', target_agent: 'coder', status: 'complete', output: { summary: 's', artifacts: [] }, context: { original_goal: 'g', constraints: [], decisions_made: [] }, metadata: { started_at: new Date().toISOString(), token_count: 1, model: 'm' } },
          { timeoutBudgetMs: 5 },
        ),
      ),
    );
    await pause(30);
    // Another task keeps running well past the 5 ms budget.
    other.run(() => other.baton.runAgent('monitor', () => undefined));
    const report = await audit(sender, other);
    expect(rule(report, 'ack-timeout').map((f) => [f.severity, f.message])).toEqual([
      ['error', 'coder never acknowledged the handoff from planner within its 5 ms budget'],
    ]);
  });

  it('leaves it not evaluated when the data ends within its budget', async () => {
    const sender = processOf('sender');
    sender.run(() =>
      sender.baton.send(
        { task_id: 't-1', source_agent: 'planner', target_agent: 'coder', status: 'complete', output: { summary: 's', artifacts: [] }, context: { original_goal: 'g', constraints: [], decisions_made: [] }, metadata: { started_at: new Date().toISOString(), token_count: 1, model: 'm' } },
        { timeoutBudgetMs: 60_000 },
      ),
    );
    const report = await audit(sender);
    expect(rule(report, 'ack-timeout')).toEqual([]);
    expect(report.rules.find((r) => r.ruleId === 'ack-timeout')!.notEvaluated).toEqual([
      { count: 1, reason: 'handoffs not acknowledged yet, still within budget when the data ends' },
    ]);
  });
});
