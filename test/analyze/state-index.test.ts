/** KeyWrites: "the newest write committed before t" with settled writes folded into a baseline. */
import { describe, expect, it } from 'vitest';
import { KeyWrites, type WriteFact } from '../../src/analyze/state-index.js';

const write = (endMs: number, version: number, epoch?: number): WriteFact => ({
  endMs,
  version,
  epoch,
  ref: { traceId: 't'.repeat(32), spanId: endMs.toString(16).padStart(16, '0'), startMs: endMs - 1, endMs },
  agent: 'w',
});

describe('KeyWrites', () => {
  it('answers from the writes that ended at or before the time asked, in any order of arrival', () => {
    const writes = new KeyWrites();
    writes.add(write(30, 3));
    writes.add(write(10, 1));
    writes.add(write(20, 2, 7));
    expect(writes.newestBefore(5).version).toBeUndefined();
    expect(writes.newestBefore(10).version?.version).toBe(1);
    expect(writes.newestBefore(25).version?.version).toBe(2);
    expect(writes.newestBefore(25).epoch?.epoch).toBe(7);
    expect(writes.newestBefore(99).version?.version).toBe(3);
  });

  it('keeps answering after settled writes fold into the baseline', () => {
    const writes = new KeyWrites();
    for (let i = 1; i <= 5; i++) writes.add(write(i * 10, i));
    writes.settle(35);
    expect(writes.size).toBe(2);
    expect(writes.newestBefore(36).version?.version).toBe(3);
    expect(writes.newestBefore(60).version?.version).toBe(5);
  });

  it('never names a baseline write that ended after the time asked (a late read after the fold)', () => {
    const writes = new KeyWrites();
    writes.add(write(10, 1));
    writes.add(write(50, 2));
    writes.settle(100);
    // A read at 20 arrives late: version 2 (ended at 50) must not be its culprit.
    expect(writes.newestBefore(20).version).toBeUndefined();
    expect(writes.newestBefore(60).version?.version).toBe(2);
  });
});
