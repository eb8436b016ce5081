/**
 * How much work a dialect does on a trace, counted rather than timed (tests never assert
 * timing): every property read of a span and every lookup through the dialect context
 * (span by id, parent, children, and each step of `ancestorWhere`). A walk up a chain
 * reads each span it passes, and a scan over the spans reads each span it looks at, so a
 * quadratic reading shows as work growing with the square of the trace.
 *
 * The traces are the growth benchmark's shapes (bench/generate-shapes.ts), the same spans
 * `bench/shapes.ts` measures, parsed as `baton audit` parses them.
 */
import { generateShapeRequests } from '../../bench/generate-shapes.js';
import type { Dialect, DialectContext, DialectResult } from '../../src/analyze/dialects/dialect.js';
import { DIALECTS } from '../../src/analyze/dialects/index.js';
import { SpanIndex } from '../../src/analyze/span-index.js';
import { parseOtlpJsonRequest } from '../../src/ingest/index.js';
import type { SpanRecord } from '../../src/model/span-record.js';

/** The spans of growth shape `id` at size `n`. */
export function shapeSpans(id: string, n: number): SpanRecord[] {
  const spans: SpanRecord[] = [];
  for (const request of generateShapeRequests(id, n)) spans.push(...parseOtlpJsonRequest(request, `shape ${id}`));
  return spans;
}

/** A meter: reads of spans and lookups through the context, while it is on. */
class WorkMeter {
  on = false;
  reads = 0;
  lookups = 0;
}

/** A context over `spans` that counts each lookup, walking `ancestorWhere` one counted parent at a time (as SpanIndex walks it). */
class CountingContext implements DialectContext {
  readonly #index: SpanIndex;
  readonly #meter: WorkMeter;
  readonly #size: number;

  constructor(spans: readonly SpanRecord[], meter: WorkMeter) {
    this.#index = new SpanIndex(spans);
    this.#meter = meter;
    this.#size = this.#index.size;
  }

  #count(): void {
    if (this.#meter.on) this.#meter.lookups++;
  }

  span(spanId: string): SpanRecord | undefined {
    this.#count();
    return this.#index.span(spanId);
  }

  parentOf(span: SpanRecord): SpanRecord | undefined {
    this.#count();
    return this.#index.parentOf(span);
  }

  childrenOf(span: SpanRecord): readonly SpanRecord[] {
    this.#count();
    return this.#index.childrenOf(span);
  }

  ancestorWhere(span: SpanRecord, test: (candidate: SpanRecord) => boolean): SpanRecord | undefined {
    let steps = this.#size;
    for (let current = this.parentOf(span); current && steps-- > 0; current = this.parentOf(current)) {
      if (current === span) return undefined;
      if (test(current)) return current;
    }
    return undefined;
  }
}

/** What a dialect did with the spans it claims in `spans` (claimed as buildHandoffModel claims them), and the work it took. */
export function interpretWork(dialect: Dialect, spans: readonly SpanRecord[]): { work: number; result: DialectResult } {
  const meter = new WorkMeter();
  // Every span behind a proxy counting its property reads while the meter is on.
  const handler: ProxyHandler<SpanRecord> = {
    get(target, key, receiver) {
      if (meter.on) meter.reads++;
      return Reflect.get(target, key, receiver);
    },
  };
  const counted = spans.map((span) => new Proxy(span, handler));
  const mine: SpanRecord[] = [];
  for (const span of counted) if (DIALECTS.find((d) => d.claims(span)) === dialect) mine.push(span);
  const context = new CountingContext(counted, meter);
  // Built before counting: the children index is the context's own cost, linear, paid once.
  if (counted.length > 0) context.childrenOf(counted[0]!);
  meter.on = true;
  const result = dialect.interpret(mine, context);
  meter.on = false;
  return { work: meter.reads + meter.lookups, result };
}
