/**
 * The report's slowest tasks carry their critical paths. Without a live view the
 * Auditor works a path out only for a task entering the slowest list; a live view
 * (`onUpdate`) gets every task with its path. Both must give the same report, and
 * each kept task the path its group's update carried.
 */
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { Auditor, type AuditUpdate } from '../../src/analyze/audit.js';
import { readTraceInputs } from '../../src/ingest/index.js';
import type { AuditReport, TaskSummary } from '../../src/model/audit-report.js';
import { FIXTURES_DIR } from '../helpers/traces.js';

async function audit(files: readonly string[], slowestTasks: number, live: boolean): Promise<{ report: AuditReport; tasks: TaskSummary[] }> {
  const tasks: TaskSummary[] = [];
  const auditor = new Auditor({
    slowestTasks,
    ...(live ? { onUpdate: (u: AuditUpdate) => void (u.kind === 'group' && u.task && tasks.push(u.task)) } : {}),
  });
  for await (const batch of readTraceInputs(files)) auditor.addSpans(batch);
  return { report: auditor.finish(), tasks };
}

describe('Auditor slowest tasks', () => {
  it.each([1, 3, 20])('with %i kept: the same report with and without a live view, each kept task with its group’s path', async (kept) => {
    const files = (await readdir(FIXTURES_DIR)).filter((n) => n.endsWith('.json')).map((n) => join(FIXTURES_DIR, n));
    const plain = await audit(files, kept, false);
    const live = await audit(files, kept, true);
    expect(JSON.stringify(plain.report)).toBe(JSON.stringify(live.report));
    expect(plain.report.tasks.slowest.length).toBe(Math.min(kept, live.tasks.length));
    for (const task of plain.report.tasks.slowest) {
      const pushed = live.tasks.find((t) => t.traceId === task.traceId && t.wallMs === task.wallMs)!;
      expect(pushed).toBeDefined();
      expect(task.criticalPath).toEqual(pushed.criticalPath);
    }
    // The fixtures' tasks hand off: a kept task without a path would mean it was never worked out.
    expect(plain.report.tasks.slowest.some((t) => t.criticalPath.length > 0)).toBe(true);
  });
});
