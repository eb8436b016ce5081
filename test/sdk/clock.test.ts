/**
 * The SDK clock: sub-millisecond readings that never step back and never leave
 * the wall clock's current millisecond, even when the wall clock is moved.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { nowMs } from '../../src/sdk/clock.js';

afterEach(() => {
  vi.useRealTimers();
});

describe('nowMs', () => {
  it('reads sub-millisecond time within Date.now()’s millisecond, never stepping back', () => {
    let previous = -Infinity;
    let fractional = 0;
    for (let i = 0; i < 2000; i++) {
      const before = Date.now();
      const now = nowMs();
      const after = Date.now();
      expect(now).toBeGreaterThanOrEqual(previous);
      expect(Math.floor(now)).toBeGreaterThanOrEqual(before);
      expect(Math.floor(now)).toBeLessThanOrEqual(after);
      if (!Number.isInteger(now)) fractional++;
      previous = now;
    }
    expect(fractional).toBeGreaterThan(0);
  });

  it.each([
    ['ahead of', '2099-01-01T00:00:00.000Z'],
    ['behind', '2001-01-01T00:00:00.000Z'],
  ])('follows the wall clock when it is set far %s the monotonic clock', (_where, iso) => {
    vi.useFakeTimers({ toFake: ['Date'], now: Date.parse(iso) });
    expect(Math.floor(nowMs())).toBe(Date.parse(iso));
    expect(new Date(nowMs()).toISOString()).toBe(iso);
  });
});

describe('sent_at', () => {
  it('carries the send time to the microsecond, so the receiver measures its ack delay without a millisecond of error', async () => {
    const { Baton } = await import('../../src/sdk/baton.js');
    const { createOtelHarness } = await import('../helpers/otel.js');
    const harness = createOtelHarness();
    const baton = new Baton({ tracer: harness.tracer, meter: harness.meter });
    const sent = baton.send({
      task_id: 't',
      source_agent: 'a',
      target_agent: 'b',
      status: 'complete',
      output: { summary: 's', artifacts: [] },
      context: { original_goal: 'g', constraints: [], decisions_made: [] },
      metadata: { started_at: new Date().toISOString(), token_count: 1, model: 'm' },
    });
    const sentAt = sent.handoff.sent_at ?? '';
    expect(sentAt).toMatch(/\.\d{6}Z$/);
    baton.receive(JSON.stringify(sent));
    const spans = harness.spans();
    const send = spans.find((s) => s.attributes['baton.operation'] === 'handoff.send')!;
    const receive = spans.find((s) => s.attributes['baton.operation'] === 'handoff.receive')!;
    const sendStartMs = send.startTime[0] * 1000 + send.startTime[1] / 1e6;
    // The envelope's time is the send span's start, to the microsecond.
    expect(Math.abs(Date.parse(sentAt) + Number(`0.${sentAt.slice(-4, -1)}`) - sendStartMs)).toBeLessThan(0.002);
    const delayMs = receive.attributes['baton.ack.delay_ms'] as number;
    const receiveStartMs = receive.startTime[0] * 1000 + receive.startTime[1] / 1e6;
    // The delay is the receive's start minus sent_at as written (the send's start cut to the microsecond):
    // the span gap, shorter by the sub-microsecond part the envelope could not carry, never a millisecond off.
    const sentAtMs = Date.parse(sentAt) + Number(`0.${sentAt.slice(-4, -1)}`);
    // Tolerance: a double near 1.8e12 ms resolves about 0.25 µs, and the HrTime conversions round a few times.
    expect(Math.abs(delayMs - (receiveStartMs - sentAtMs))).toBeLessThan(0.002);
    expect(receiveStartMs - sendStartMs - delayMs).toBeGreaterThan(-0.002);
    expect(receiveStartMs - sendStartMs - delayMs).toBeLessThan(0.003);
    await harness.shutdown();
  });
});
