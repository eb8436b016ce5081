/**
 * Memory of what the Auditor keeps open, measured (not timed) in a child process
 * after a full GC: a busy service has hundreds of thousands of one-span traces in
 * flight, and each must cost little while it waits (issue 8: 1M of them used 2.4 GiB).
 */
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

const run = promisify(execFile);
const child = fileURLToPath(new URL('./memory/open-traces-child.ts', import.meta.url));

describe('Auditor memory', () => {
  it('keeps an open one-span trace in well under a kilobyte of heap', async () => {
    const { stdout } = await run(process.execPath, ['--expose-gc', '--import', 'tsx', child, '200000'], { maxBuffer: 1 << 20 });
    const result = JSON.parse(stdout) as { bytesPerTrace: number; traces: number; spans: number };
    // Every trace was still counted and analyzed at the end.
    expect(result.traces).toBe(200_000);
    expect(result.spans).toBe(200_000);
    // Measured 480-530 bytes (a span record, its trace entry, its id and name strings);
    // before compact aggregation it was about 2,400.
    expect(result.bytesPerTrace).toBeLessThan(800);
  }, 120_000);
});

describe('Auditor compaction of open spans', () => {
  it.each(['clean', 'stale-read', 'duplicate-write', 'ack-timeout', 'partial-handoff', 'context-blowup', 'schema-drift', 'revision-loop'])(
    'audits %s the same when every span is compacted while open (kept attributes rebuilt, short values shared)',
    async (name) => {
      const { loadFixture } = await import('../../helpers/traces.js');
      const { Auditor } = await import('../../../src/analyze/audit.js');
      const spans = await loadFixture(name);
      const whole = new Auditor();
      whole.addSpans(spans);
      const plain = whole.finish();
      // softOpenSpans 4: compaction from the second open span on; the quiet times equal, so dense input closes nothing sooner.
      const compacting = new Auditor({ softOpenSpans: 4, completeIdleMs: 300_000 });
      for (const span of spans) {
        compacting.addSpans([span]);
        compacting.advance(span.startMs); // a sweep after every span: each one outlives one and is compacted at the next
      }
      expect(compacting.finish()).toEqual(plain);
    },
  );
});
