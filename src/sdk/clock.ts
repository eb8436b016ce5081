/**
 * The SDK's one clock: wall-clock epoch milliseconds with a sub-millisecond part,
 * passed as the start and end time of every span Baton starts.
 *
 * Why not let OpenTelemetry time the spans: OTel JS 2.x starts a span at
 * `Date.now()`, whole milliseconds, so the gap between two spans (send → receive,
 * write → read) is quantized to 1 ms, which on one machine is most of a handoff's
 * coordination latency. A fractional-ms number as `startTime` keeps its fraction:
 * sdk-trace turns it into an HrTime with `millisToHrTime`, to the nanosecond digit
 * (a double near 1.8e12 ms resolves about 0.25 µs). The end time must be explicit
 * too: a span given a startTime and ended without one ends at `Date.now()`, which
 * can fall before its fractional start (OTel then clamps the duration to 0).
 *
 * Why the clamp: `performance.timeOrigin + performance.now()` is monotonic but
 * does not follow the wall clock after process start: a clock step or a suspended
 * machine moves them apart, which is why OTel JS anchors span starts on
 * `Date.now()` (open-telemetry/opentelemetry-js#3129, #3434). Kept inside the wall
 * clock's current millisecond, the reading never drifts from `Date.now()` by a
 * millisecond, host spans and Baton's stay in order, and `new Date(nowMs())` is
 * `Date.now()`. While the two clocks agree (the normal case, a few µs apart) the
 * fraction is the monotonic clock's; once they disagree by more than a
 * millisecond the fraction pins to an edge of the millisecond, which is
 * whole-millisecond resolution as before, never a backwards step.
 */

/** Largest fraction kept: just under 1 ms, and `wallMs + it` stays exact in a double until 2248. */
const MAX_FRACTION_MS = 1 - 2 ** -10;

/**
 * Now, in epoch milliseconds with a fractional part: an OTel `TimeInput`.
 * `performance.timeOrigin` is read on every call although it costs about half of a
 * reading (~60 ns): fake timers (vitest's, sinon's) replace `performance`, origin
 * included, and a cached origin would then pin every reading to a millisecond's edge
 * in a host app's own tests.
 */
export function nowMs(): number {
  const wallMs = Date.now();
  const preciseMs = performance.timeOrigin + performance.now();
  return Math.min(Math.max(preciseMs, wallMs), wallMs + MAX_FRACTION_MS);
}
