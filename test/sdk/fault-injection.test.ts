/**
 * Fault injection through the public API: every method of Baton (and of what it
 * returns) driven with arbitrary and hostile values (proxies whose traps throw,
 * BigInt, cycles, symbols, frozen objects, huge strings, thenables whose `then`
 * throws) on real OpenTelemetry parts, some of them broken (tracers, spans, span
 * processors, exporters, meters, instruments, the diag logger).
 *
 * Properties: in warn mode nothing Baton does throws into the host and the host's
 * own value or exception comes back unchanged; in strict mode every throw that is
 * not the host's own is a BatonError with a documented code.
 */
import { context, diag, DiagLogLevel, type Meter, type Span, type Tracer } from '@opentelemetry/api';
import {
  AggregationTemporality,
  InMemoryMetricExporter,
  MeterProvider,
  PeriodicExportingMetricReader,
} from '@opentelemetry/sdk-metrics';
import {
  BasicTracerProvider,
  InMemorySpanExporter,
  SimpleSpanProcessor,
  type SpanExporter,
  type SpanProcessor,
} from '@opentelemetry/sdk-trace-base';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BatonError } from '../../src/model/errors.js';
import { Baton, type BatonMode } from '../../src/sdk/baton.js';
import { draft } from '../helpers/envelopes.js';
import { installContextManager } from '../helpers/otel.js';

/** Codes documented in src/model/errors.ts that the SDK may throw in strict mode. */
const SDK_CODES = new Set([
  'BATON_ENVELOPE_INVALID',
  'BATON_ENVELOPE_TOO_LARGE',
  'BATON_SCHEMA_UNKNOWN',
  'BATON_INSTRUMENTATION_FAULT',
]);

const boom = (what: string) => () => {
  throw new Error(`${what} on fire`);
};

/** A Proxy on which every trap throws: reading, listing, even instanceof. */
function hostileProxy(target: object = {}): object {
  const trap = boom('proxy trap');
  return new Proxy(target, {
    get: trap,
    has: trap,
    ownKeys: trap,
    getOwnPropertyDescriptor: trap,
    getPrototypeOf: trap,
    set: trap,
    defineProperty: trap,
  });
}

function cyclic(): object {
  const envelope = draft() as unknown as Record<string, unknown>;
  envelope.context = { ...draft().context, self: envelope };
  return envelope;
}

function withThrowingGetter(field: string): object {
  const envelope = draft() as unknown as Record<string, unknown>;
  Object.defineProperty(envelope, field, { enumerable: true, get: boom(`getter ${field}`) });
  return envelope;
}

const HUGE = 'x'.repeat(1_200_000);

/**
 * A value made only when a call runs. fast-check inspects and prints what it
 * generates, and a Proxy whose traps throw breaks fast-check itself: those
 * values travel as Lazy and are materialized by the test.
 */
class Lazy {
  constructor(readonly make: () => unknown) {}
  toString(): string {
    return `Lazy(${this.make.name || 'value'})`;
  }
}
const lazy = (make: () => unknown): fc.Arbitrary<unknown> => fc.constant(new Lazy(make));

/** Replaces every Lazy inside fast-check's plain objects and arrays by the value it makes. */
function materialize(value: unknown, depth = 0): unknown {
  if (value instanceof Lazy) return value.make();
  if (depth > 6 || value === null || typeof value !== 'object') return value;
  if (Array.isArray(value)) return value.map((item) => materialize(item, depth + 1));
  if (Object.getPrototypeOf(value) !== Object.prototype) return value;
  const out: Record<string, unknown> = {};
  for (const key of Object.keys(value)) out[key] = materialize((value as Record<string, unknown>)[key], depth + 1);
  return out;
}

/** Arbitrary hostile values: anything fast-check makes, and the shapes that broke hosts before. */
const hostile: fc.Arbitrary<unknown> = fc.oneof(
  fc.anything({ withBigInt: true, withNullPrototype: true, withBoxedValues: true, withMap: true, withSet: true }),
  fc.bigInt(),
  fc.string({ unit: 'binary' }),
  fc.constantFrom<unknown>(null, undefined, Symbol('s'), Number.NaN, Number.POSITIVE_INFINITY, -0, () => 'a function'),
  lazy(() => HUGE),
  lazy(() => hostileProxy()),
  lazy(() => hostileProxy([])),
  lazy(cyclic),
  lazy(() => Object.freeze(draft())),
  lazy(() => Object.create(null) as object),
  lazy(() => withThrowingGetter('status')),
  lazy(() => withThrowingGetter('handoff')),
  lazy(() => withThrowingGetter('source_agent')),
  lazy(() => draft({ status: HUGE as never })),
  lazy(() => draft({ source_agent: HUGE })),
  lazy(() => ({ ...draft(), output: { summary: HUGE, artifacts: [] } })),
  lazy(() => ({ ...draft(), handoff: { trace_context: hostileProxy(), id: 7n } })),
  lazy(() => draft()),
);

/** Envelopes: mostly valid ones and their near misses, plus anything hostile. */
const envelopes: fc.Arbitrary<unknown> = fc.oneof(
  { weight: 3, arbitrary: lazy(() => draft()) },
  {
    weight: 1,
    arbitrary: fc
      .record({ field: fc.constantFrom('status', 'task_id', 'context', 'metadata', 'output', 'handoff'), value: hostile })
      .map(({ field, value }) => ({ ...draft(), [field]: value })),
  },
  { weight: 3, arbitrary: hostile },
);

const wireTexts: fc.Arbitrary<unknown> = fc.oneof(
  lazy(() => JSON.stringify(draft())),
  fc.json(),
  fc.string(),
  fc.constant('{"task_id": '),
  lazy(() => JSON.stringify({ ...draft(), output: { summary: HUGE, artifacts: [] } })),
  lazy(() => JSON.stringify({ ...draft(), status: `secret-${'y'.repeat(500)}` })),
  envelopes,
);

/** Per-call options objects: undefined, real-looking ones with hostile values, or hostile themselves. */
const callOptions: fc.Arbitrary<unknown> = fc.oneof(
  fc.constant(undefined),
  fc.record(
    {
      schema: fc.oneof(fc.constantFrom('baton.handoff-envelope@1', 'baton.handoff-envelope@2', 'nope@9', ''), hostile),
      handoffId: hostile,
      attempt: hostile,
      timeoutBudgetMs: fc.oneof(fc.integer(), hostile),
      agent: hostile,
      ack: fc.constantFrom('auto', 'manual', 'sometimes'),
      parenting: fc.oneof(fc.constantFrom('auto', 'parent', 'link'), hostile),
      system: hostile,
      taskId: hostile,
      dependsOn: fc.oneof(fc.array(hostile, { maxLength: 3 }), hostile),
    },
    { requiredKeys: [] },
  ),
  hostile,
);

/** What the host's function does: return a value, throw, resolve, reject, or return a broken thenable. */
type HostBehaviour =
  | { kind: 'return'; value: unknown }
  | { kind: 'throw' }
  | { kind: 'resolve'; value: unknown }
  | { kind: 'reject' }
  | { kind: 'then-getter-throws' }
  | { kind: 'then-call-throws' };

const hostBehaviours: fc.Arbitrary<HostBehaviour> = fc.oneof(
  hostile.map((value) => ({ kind: 'return' as const, value })),
  fc.constant({ kind: 'throw' as const }),
  hostile.map((value) => ({ kind: 'resolve' as const, value })),
  fc.constant({ kind: 'reject' as const }),
  fc.constant({ kind: 'then-getter-throws' as const }),
  fc.constant({ kind: 'then-call-throws' as const }),
);

/** The host's own exception: identity is what the properties check. */
class HostError extends Error {}

interface HostCall {
  fn: () => unknown;
  /** Checks what Baton returned (or threw) against what the host's fn did. */
  settle: (outcome: { threw: boolean; error?: unknown; value?: unknown }, mode: BatonMode) => Promise<void>;
}

function hostCall(behaviour: HostBehaviour): HostCall {
  const error = new HostError('the host failed');
  let ran = 0;
  let produced: unknown;
  const fn = (): unknown => {
    ran++;
    switch (behaviour.kind) {
      case 'return':
        produced = behaviour.value;
        return produced;
      case 'throw':
        throw error;
      case 'resolve':
        produced = Promise.resolve(behaviour.value);
        return produced;
      case 'reject':
        produced = Promise.reject(error);
        return produced;
      case 'then-getter-throws':
        produced = Object.defineProperty({}, 'then', { get: boom('then getter') });
        return produced;
      case 'then-call-throws':
        produced = { then: boom('then()') };
        return produced;
    }
  };
  const settle: HostCall['settle'] = async (outcome, mode) => {
    // In strict mode a fault before the host's function runs is thrown instead of running it.
    if (outcome.threw && ran === 0) {
      expect(mode, `thrown before the host ran: ${describeThrown(outcome.error)}`).toBe('strict');
      expectBatonError(outcome.error);
      return;
    }
    expect(ran).toBe(1);
    if (behaviour.kind === 'throw') {
      expect(outcome.threw).toBe(true);
      expect(outcome.error).toBe(error);
      return;
    }
    if (outcome.threw) {
      // Only strict mode may throw, and then only a BatonError for a fault after the host succeeded.
      expect(mode, `thrown after the host ran: ${describeThrown(outcome.error)}`).toBe('strict');
      expectBatonError(outcome.error);
      return;
    }
    if (behaviour.kind === 'return' || behaviour.kind === 'then-getter-throws' || behaviour.kind === 'then-call-throws') {
      expect(outcome.value).toBe(produced);
      return;
    }
    const settle = async (promise: unknown): Promise<{ ok: boolean; value: unknown }> => {
      try {
        return { ok: true, value: await (promise as Promise<unknown>) };
      } catch (rejection) {
        return { ok: false, value: rejection };
      }
    };
    // The host's own promise decides: Promise.resolve(aProxy) rejects by itself, with the proxy's error.
    const own = await settle(produced);
    const got = await settle(outcome.value);
    if (own.ok && !got.ok) {
      expect(mode, `rejected after the host resolved: ${describeThrown(got.value)}`).toBe('strict');
      expectBatonError(got.value);
      return;
    }
    expect(got.ok).toBe(own.ok);
    expect(got.value).toBe(own.value);
  };
  return { fn, settle };
}

function describeThrown(error: unknown): string {
  try {
    return error instanceof Error
      ? `${error.name}: ${error.message}\n${error.stack?.split('\n').slice(1, 6).join('\n')}`
      : typeof error;
  } catch {
    return 'an undescribable value';
  }
}

function expectBatonError(error: unknown): void {
  expect(error).toBeInstanceOf(BatonError);
  expect(SDK_CODES.has((error as BatonError).code)).toBe(true);
}

// ---- broken OpenTelemetry parts ---------------------------------------------------------------

type Part =
  | 'healthy'
  | 'tracer-throws'
  | 'span-end-throws'
  | 'span-set-throws'
  | 'span-context-throws'
  | 'processor-on-start-throws'
  | 'processor-on-end-throws'
  | 'exporter-throws'
  | 'hostile-tracer';
type MeterPart = 'healthy' | 'create-throws' | 'instruments-throw' | 'hostile-meter' | 'none';

const throwingProcessor = (where: 'onStart' | 'onEnd'): SpanProcessor => ({
  onStart: where === 'onStart' ? boom('onStart') : () => undefined,
  onEnd: where === 'onEnd' ? boom('onEnd') : () => undefined,
  forceFlush: () => Promise.resolve(),
  shutdown: () => Promise.resolve(),
});

const throwingExporter: SpanExporter = {
  export: boom('exporter'),
  shutdown: () => Promise.resolve(),
};

function brokenSpans(tracer: Tracer, methods: readonly string[]): Tracer {
  return {
    startSpan: (...args: Parameters<Tracer['startSpan']>) => {
      const span = tracer.startSpan(...args);
      return new Proxy(span, {
        get(target, property, receiver) {
          if (methods.includes(String(property))) return boom(`span.${String(property)}`);
          const value = Reflect.get(target, property, receiver) as unknown;
          return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value;
        },
      }) as Span;
    },
    startActiveSpan: tracer.startActiveSpan.bind(tracer),
  } as Tracer;
}

const spans = new InMemorySpanExporter();
const healthyProvider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(spans)] });
const healthy = healthyProvider.getTracer('fault-injection');

function tracerFor(part: Part): Tracer {
  switch (part) {
    case 'healthy':
      return healthy;
    case 'tracer-throws':
      return { startSpan: boom('startSpan'), startActiveSpan: boom('startActiveSpan') } as unknown as Tracer;
    case 'span-end-throws':
      return brokenSpans(healthy, ['end']);
    case 'span-set-throws':
      return brokenSpans(healthy, ['setAttribute', 'setAttributes', 'setStatus', 'recordException']);
    case 'span-context-throws':
      return brokenSpans(healthy, ['spanContext', 'isRecording']);
    case 'processor-on-start-throws':
      return new BasicTracerProvider({ spanProcessors: [throwingProcessor('onStart')] }).getTracer('x');
    case 'processor-on-end-throws':
      return new BasicTracerProvider({ spanProcessors: [throwingProcessor('onEnd')] }).getTracer('x');
    case 'exporter-throws':
      return new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(throwingExporter)] }).getTracer('x');
    case 'hostile-tracer':
      return hostileProxy() as Tracer;
  }
}

const metricExporter = new InMemoryMetricExporter(AggregationTemporality.CUMULATIVE);
const reader = new PeriodicExportingMetricReader({ exporter: metricExporter, exportIntervalMillis: 3_600_000 });
const meterProvider = new MeterProvider({ readers: [reader] });
const realMeter = meterProvider.getMeter('fault-injection');

function meterFor(part: MeterPart): Meter | undefined {
  switch (part) {
    case 'healthy':
      return realMeter;
    case 'none':
      return undefined;
    case 'create-throws':
      return new Proxy(realMeter, {
        get: (target, property) =>
          String(property).startsWith('create') ? boom(`meter.${String(property)}`) : Reflect.get(target, property),
      });
    case 'instruments-throw': {
      const instrument = {
        add: boom('add'),
        record: boom('record'),
        addCallback: boom('addCallback'),
        removeCallback: () => undefined,
      };
      return new Proxy(realMeter, {
        get: (target, property) => (String(property).startsWith('create') ? () => instrument : Reflect.get(target, property)),
      });
    }
    case 'hostile-meter':
      return hostileProxy() as Meter;
  }
}

// ---- the calls ------------------------------------------------------------------------------

type Call =
  | { method: 'send'; envelope: unknown; options: unknown }
  | { method: 'receive'; input: unknown; options: unknown; then: 'nothing' | 'run' | 'ack'; host: HostBehaviour }
  | { method: 'runAgent'; name: unknown; options: unknown; host: HostBehaviour; usage: unknown; block: unknown }
  | { method: 'traceStateRead' | 'traceStateWrite'; access: unknown; host: HostBehaviour }
  | { method: 'publish'; event: unknown }
  | { method: 'consume'; message: unknown; options: unknown; host: HostBehaviour }
  | { method: 'stats' };

const accessArb = fc.oneof(
  fc.record(
    { key: fc.oneof(fc.string(), hostile), epoch: fc.oneof(fc.integer(), hostile), agent: hostile },
    { requiredKeys: ['key'] },
  ),
  hostile,
);
const eventArb = fc.oneof(
  fc.record(
    { topic: fc.oneof(fc.string(), hostile), id: hostile, payload: hostile, key: hostile, agent: hostile },
    { requiredKeys: ['topic'] },
  ),
  hostile,
);

const calls: fc.Arbitrary<Call> = fc.oneof(
  fc.record({ method: fc.constant('send' as const), envelope: envelopes, options: callOptions }),
  fc.record({
    method: fc.constant('receive' as const),
    input: wireTexts,
    options: callOptions,
    then: fc.constantFrom('nothing' as const, 'run' as const, 'ack' as const),
    host: hostBehaviours,
  }),
  fc.record({
    method: fc.constant('runAgent' as const),
    name: fc.oneof(fc.string(), hostile),
    options: callOptions,
    host: hostBehaviours,
    usage: hostile,
    block: hostile,
  }),
  fc.record({
    method: fc.constantFrom('traceStateRead' as const, 'traceStateWrite' as const),
    access: accessArb,
    host: hostBehaviours,
  }),
  fc.record({ method: fc.constant('publish' as const), event: eventArb }),
  fc.record({
    method: fc.constant('consume' as const),
    message: fc.oneof(eventArb, hostile),
    options: callOptions,
    host: hostBehaviours,
  }),
  fc.constant({ method: 'stats' as const }),
);

const batonOptions = fc.record(
  {
    schema: fc.oneof(fc.constantFrom('baton.handoff-envelope@1', 'baton.handoff-envelope@2', 'nope@1'), hostile),
    propagation: fc.oneof(fc.constantFrom('w3c', 'global'), hostile),
    receiveParenting: fc.oneof(fc.constantFrom('auto', 'parent', 'link'), hostile),
    recordPayloads: fc.oneof(fc.boolean(), hostile),
    maxRecordedPayloadBytes: fc.oneof(fc.nat(100), hostile),
    maxEnvelopeBytes: fc.oneof(fc.nat(1 << 21), hostile),
    validationSampling: fc.oneof(fc.record({ firstPerEdge: fc.nat(3), thenOneIn: fc.integer({ min: 1, max: 3 }) }), hostile),
  },
  { requiredKeys: [] },
);

/** Runs one call, returning how many host-visible throws broke the property (the expect()s throw instead). */
async function perform(baton: Baton, generated: Call, mode: BatonMode): Promise<void> {
  const call = materialize(generated) as Call;
  const attempt = (act: () => unknown): { threw: boolean; error?: unknown; value?: unknown } => {
    try {
      return { threw: false, value: act() };
    } catch (error) {
      return { threw: true, error };
    }
  };
  const noHostCode = (outcome: { threw: boolean; error?: unknown }) => {
    if (!outcome.threw) return;
    expect(mode, `thrown: ${describeThrown(outcome.error)}`).toBe('strict');
    expectBatonError(outcome.error);
  };
  switch (call.method) {
    case 'send':
      noHostCode(attempt(() => baton.send(call.envelope as object, call.options as never)));
      return;
    case 'receive': {
      const outcome = attempt(() => baton.receive(call.input, call.options as never));
      noHostCode(outcome);
      if (outcome.threw) return;
      const rx = outcome.value as ReturnType<Baton['receive']>;
      if (call.then === 'ack') noHostCode(attempt(() => rx.ack()));
      if (call.then === 'run') {
        const host = hostCall(call.host);
        await host.settle(
          attempt(() => rx.run(host.fn)),
          mode,
        );
      }
      return;
    }
    case 'runAgent': {
      const host = hostCall(call.host);
      const outcome = attempt(() =>
        baton.runAgent(
          call.name as string,
          (run) => {
            // The handle's own methods must not throw either (outside strict mode).
            const usage = attempt(() => run.setUsage(call.usage as number, call.usage as number));
            if (usage.threw) expect(mode).toBe('strict');
            expect(() => run.block(call.block as string)).not.toThrow();
            return host.fn();
          },
          call.options as never,
        ),
      );
      await host.settle(outcome, mode);
      return;
    }
    case 'traceStateRead':
    case 'traceStateWrite': {
      const host = hostCall(call.host);
      await host.settle(
        attempt(() => baton[call.method](call.access as never, host.fn)),
        mode,
      );
      return;
    }
    case 'publish':
      noHostCode(attempt(() => baton.publish(call.event as never)));
      return;
    case 'consume': {
      const host = hostCall(call.host);
      await host.settle(
        attempt(() => baton.consume(call.message as never, host.fn, call.options as never)),
        mode,
      );
      return;
    }
    case 'stats':
      expect(() => baton.stats()).not.toThrow();
  }
}

const parts = fc.constantFrom<Part>(
  'healthy',
  'tracer-throws',
  'span-end-throws',
  'span-set-throws',
  'span-context-throws',
  'processor-on-start-throws',
  'processor-on-end-throws',
  'exporter-throws',
  'hostile-tracer',
);
const meterParts = fc.constantFrom<MeterPart>('healthy', 'none', 'create-throws', 'instruments-throw', 'hostile-meter');

/** A diag logger that throws once armed (the API itself logs while a logger is set and unset). */
let diagArmed = false;
const diagFire = (): void => {
  if (diagArmed) throw new Error('diag on fire');
};
const brokenLogger = { error: diagFire, warn: diagFire, info: diagFire, debug: diagFire, verbose: diagFire };

let totalCalls = 0;
const unhandled: unknown[] = [];
const onUnhandled = (reason: unknown) => unhandled.push(reason);

beforeAll(() => {
  installContextManager();
  process.on('unhandledRejection', onUnhandled);
});
afterAll(async () => {
  process.off('unhandledRejection', onUnhandled);
  diagArmed = false;
  diag.disable();
  await healthyProvider.shutdown();
  await meterProvider.shutdown();
});

describe('Baton under fault injection', () => {
  for (const mode of ['warn', 'strict'] as const) {
    it(`${mode} mode: ${mode === 'warn' ? 'never throws into the host and never changes its result' : 'throws only BatonErrors with documented codes, the host’s own exceptions unchanged'}`, async () => {
      await fc.assert(
        fc.asyncProperty(
          parts,
          meterParts,
          fc.boolean(),
          fc.oneof(batonOptions, hostile),
          fc.array(calls, { minLength: 1, maxLength: 6 }),
          async (part, meterPart, brokenDiag, generatedOptions, sequence) => {
            const options = materialize(generatedOptions);
            // A diag logger that throws: Baton's reports, and OTel's own diag calls inside the SDK, must not escape.
            diagArmed = false;
            diag.disable();
            if (brokenDiag) {
              diag.setLogger(brokenLogger, DiagLogLevel.ALL);
              diagArmed = true;
            }
            let given: unknown = options;
            try {
              if (
                options !== null &&
                typeof options === 'object' &&
                !Array.isArray(options) &&
                Object.getPrototypeOf(options) === Object.prototype
              ) {
                given = { ...(options as object), tracer: tracerFor(part), meter: meterFor(meterPart), mode };
              }
            } catch {
              // options whose getters throw: given to Baton as they are (warn mode, Baton's defaults)
            }
            let baton: Baton;
            try {
              baton = new Baton(given as never);
            } catch (error) {
              // Only strict mode may refuse its options, and only with a BatonError.
              expect((given as { mode?: unknown })?.mode).toBe('strict');
              expectBatonError(error);
              return;
            }
            for (const call of sequence) {
              totalCalls++;
              await context.with(context.active(), () => perform(baton, call, given === options ? 'warn' : mode));
            }
            diagArmed = false;
            diag.disable();
          },
        ),
        { numRuns: mode === 'warn' ? 160 : 100, endOnFailure: true },
      );
      // Promises Baton chained onto the host's must not leave rejections of their own.
      await new Promise((resolve) => setTimeout(resolve, 10));
      expect(unhandled.filter((reason) => !(reason instanceof HostError))).toEqual([]);
    }, 120_000);
  }

  it('drove several hundred calls', () => {
    expect(totalCalls).toBeGreaterThan(500);
  });
});
