/**
 * Warn mode never breaks the host: bad envelopes and instrumentation faults are
 * recorded on the span and counted. Strict mode throws the documented errors.
 * Payload bodies stay off spans unless the host opts in.
 */
import { context, ROOT_CONTEXT, type Tracer } from '@opentelemetry/api';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  BATON_ENVELOPE_BODY,
  BATON_FAULT_COUNT,
  BATON_VALIDATION_ERROR_KEYWORD,
  BATON_VALIDATION_RESULT,
  BatonOperation,
  ERROR_TYPE,
} from '../../src/model/attributes.js';
import {
  BatonError,
  EnvelopeInvalidError,
  EnvelopeTooLargeError,
  InstrumentationFaultError,
  SchemaUnknownError,
} from '../../src/model/errors.js';
import { Baton, type BatonOptions } from '../../src/sdk/baton.js';
import { draft } from '../helpers/envelopes.js';
import { createOtelHarness, onlySpan, type OtelHarness } from '../helpers/otel.js';

let otel: OtelHarness;
beforeEach(() => {
  otel = createOtelHarness();
});
afterEach(async () => {
  await otel.shutdown();
});

const make = (options: Partial<BatonOptions> = {}) => new Baton({ tracer: otel.tracer, meter: otel.meter, ...options });

const circular = (): object => {
  const envelope = draft() as unknown as Record<string, unknown>;
  envelope.self = envelope;
  return envelope;
};

type Case = readonly [
  label: string,
  act: (baton: Baton) => unknown,
  operation: string,
  keyword: string,
  result: 'invalid' | 'error',
  strictError: new (...args: never[]) => BatonError,
  code: string,
];

const CASES: readonly Case[] = [
  ['an envelope missing required fields', (b) => b.send({ task_id: 't' }), BatonOperation.HandoffSend, 'required', 'invalid', EnvelopeInvalidError, 'BATON_ENVELOPE_INVALID'],
  ['a non-object envelope', (b) => b.send(42 as never), BatonOperation.HandoffSend, 'type', 'invalid', EnvelopeInvalidError, 'BATON_ENVELOPE_INVALID'],
  ['an array envelope at receive', (b) => b.receive('[1,2]'), BatonOperation.HandoffReceive, 'type', 'invalid', EnvelopeInvalidError, 'BATON_ENVELOPE_INVALID'],
  ['text that is not JSON at receive', (b) => b.receive('{"task_id": '), BatonOperation.HandoffReceive, 'json', 'invalid', EnvelopeInvalidError, 'BATON_ENVELOPE_INVALID'],
  ['an unknown schema version', (b) => b.send(draft(), { schema: 'baton.handoff-envelope@9' }), BatonOperation.HandoffSend, 'schema', 'error', SchemaUnknownError, 'BATON_SCHEMA_UNKNOWN'],
  ['a circular structure', (b) => b.send(circular()), BatonOperation.HandoffSend, 'serializable', 'invalid', EnvelopeInvalidError, 'BATON_ENVELOPE_INVALID'],
  ['a circular structure received as an object', (b) => b.receive(circular()), BatonOperation.HandoffReceive, 'serializable', 'invalid', EnvelopeInvalidError, 'BATON_ENVELOPE_INVALID'],
  [
    'an object over maxEnvelopeBytes at receive (bounded, then measured)',
    (b) => b.receive(draft({ output: { summary: 'x'.repeat(4096), artifacts: [], confidence: 1 } })),
    BatonOperation.HandoffReceive,
    'maxEnvelopeBytes',
    'invalid',
    EnvelopeTooLargeError,
    'BATON_ENVELOPE_TOO_LARGE',
  ],
  [
    'a payload over maxEnvelopeBytes',
    (b) => b.send(draft({ output: { summary: 'x'.repeat(4096), artifacts: [], confidence: 1 } })),
    BatonOperation.HandoffSend,
    'maxEnvelopeBytes',
    'invalid',
    EnvelopeTooLargeError,
    'BATON_ENVELOPE_TOO_LARGE',
  ],
];

describe('warn mode (the default)', () => {
  it.each(CASES)('%s: recorded on the span and counted, nothing thrown', (_label, act, operation, keyword, result) => {
    const baton = make({ maxEnvelopeBytes: 2048 });
    expect(() => context.with(ROOT_CONTEXT, () => act(baton))).not.toThrow();
    const span = onlySpan(otel.spans(), operation);
    expect(span.attributes[BATON_VALIDATION_RESULT]).toBe(result);
    expect(span.attributes[BATON_VALIDATION_ERROR_KEYWORD]).toBe(keyword);
    expect(span.attributes[ERROR_TYPE]).toMatch(/^BATON_/);
    expect(baton.stats().validationFailures).toBe(1);
  });

  it('an instrumentation fault (a tracer that throws) is counted, and the host code still runs and returns', () => {
    const broken = {
      startSpan: () => {
        throw new Error('exporter on fire');
      },
      startActiveSpan: () => {
        throw new Error('exporter on fire');
      },
    } as unknown as Tracer;
    const baton = new Baton({ tracer: broken, meter: otel.meter });
    const sent = baton.send(draft());
    expect(sent.task_id).toBe('task-1');
    expect(baton.runAgent('a', () => 'done')).toBe('done');
    expect(baton.receive(JSON.stringify(sent)).envelope).toMatchObject({ task_id: 'task-1' });
    expect(baton.stats().faults).toBeGreaterThanOrEqual(3);
  });

  it('an exception thrown by the host inside runAgent is the host exception, rethrown unchanged', async () => {
    const baton = make();
    const boom = new Error('agent crashed');
    expect(() => baton.runAgent('a', () => {
      throw boom;
    })).toThrow(boom);
    await expect(baton.runAgent('b', async () => Promise.reject(boom))).rejects.toBe(boom);
    expect(baton.stats().faults).toBe(0);
  });
});

describe('per-call options outside the documented values', () => {
  const wire = () => JSON.stringify(make().send(draft(), { timeoutBudgetMs: 1000 }));
  const CALLS: readonly (readonly [string, (b: Baton) => unknown, string])[] = [
    ["receive with ack: 'Manual'", (b) => b.receive(wire(), { ack: 'Manual' as never }), BatonOperation.HandoffReceive],
    ["receive with parenting: 'child'", (b) => b.receive(wire(), { parenting: 'child' as never }), BatonOperation.HandoffReceive],
    ["consume with parenting: 'child'", (b) => b.consume(b.publish({ topic: 't' }), () => 'ran', { parenting: 'child' as never }), BatonOperation.EventConsume],
  ];

  it.each(CALLS)('%s: warn mode falls back to the default, counts a fault and marks the span', (_label, act, operation) => {
    const baton = make();
    const result = context.with(ROOT_CONTEXT, () => act(baton));
    expect(baton.stats().faults).toBe(1);
    const span = onlySpan(otel.spans(), operation);
    expect(span.attributes[BATON_FAULT_COUNT]).toBe(1);
    expect(span.attributes[ERROR_TYPE]).toBe('TypeError');
    if (operation === BatonOperation.EventConsume) expect(result).toBe('ran');
  });

  it("warn mode: ack: 'Manual' acknowledges at once, as the default 'auto' does", () => {
    const baton = make();
    const rx = context.with(ROOT_CONTEXT, () => baton.receive(wire(), { ack: 'Manual' as never }));
    expect(rx.valid).toBe(true);
    expect(onlySpan(otel.spans(), BatonOperation.HandoffReceive).attributes['baton.ack.within_budget']).toBe(true);
  });

  it.each(CALLS)('%s: strict mode throws InstrumentationFaultError naming the option', (_label, act) => {
    const baton = make({ mode: 'strict' });
    expect(() => context.with(ROOT_CONTEXT, () => act(baton))).toThrow(/instrumentation fault in options: option (ack|parenting) must be/);
    expect(() => context.with(ROOT_CONTEXT, () => act(make({ mode: 'strict' })))).toThrow(InstrumentationFaultError);
  });

  it("strict mode: the consume's function does not run", () => {
    const baton = make({ mode: 'strict' });
    let ran = false;
    expect(() => baton.consume(baton.publish({ topic: 't' }), () => (ran = true), { parenting: 'child' as never })).toThrow(InstrumentationFaultError);
    expect(ran).toBe(false);
  });
});

describe('publish without a topic', () => {
  it.each([
    ['an empty object', {}],
    ['an empty topic', { topic: '' }],
    ['a number as topic', { topic: 7 }],
  ])('%s: warn mode returns the message and its span, and counts a fault as publish(null) does', (_label, event) => {
    const baton = make();
    const message = baton.publish(event as never);
    expect(message.id).toMatch(/\S/);
    expect(baton.stats().faults).toBe(1);
    expect(onlySpan(otel.spans(), BatonOperation.EventPublish).attributes[BATON_FAULT_COUNT]).toBe(1);
    expect(make().publish({ topic: 'task.done' }).topic).toBe('task.done');
    expect(baton.stats().faults).toBe(1);
  });

  it('strict mode throws InstrumentationFaultError', () => {
    expect(() => make({ mode: 'strict' }).publish({} as never)).toThrow(InstrumentationFaultError);
  });
});

describe('runAgent without a name', () => {
  it.each([
    ['an empty name', ''],
    ['a number as name', 7],
    ['no name', undefined],
  ])('%s: warn mode runs the function in an `unknown` agent run and counts one fault', (_label, name) => {
    const baton = make();
    let ran = 0;
    expect(baton.runAgent(name as never, () => ++ran)).toBe(1);
    expect(baton.stats().faults).toBe(1);
    const span = onlySpan(otel.spans(), BatonOperation.AgentRun);
    expect(span.name).toBe('invoke_agent unknown');
    expect(span.attributes['gen_ai.agent.name']).toBe('unknown');
    expect(span.attributes[BATON_FAULT_COUNT]).toBe(1);
    expect(make().runAgent('planner', () => 'ok')).toBe('ok');
    expect(baton.stats().faults).toBe(1);
  });

  it("strict mode throws InstrumentationFaultError and the function does not run", () => {
    let ran = false;
    expect(() => make({ mode: 'strict' }).runAgent('', () => (ran = true))).toThrow(InstrumentationFaultError);
    expect(ran).toBe(false);
  });
});

describe('state access without a key, consume without a message', () => {
  const CASES: [string, (baton: Baton, fn: () => number) => number, string][] = [
    ['traceStateRead({})', (baton, fn) => baton.traceStateRead({} as never, fn), BatonOperation.StateRead],
    ["traceStateWrite({ key: '' })", (baton, fn) => baton.traceStateWrite({ key: '' }, fn), BatonOperation.StateWrite],
    ['consume(null)', (baton, fn) => baton.consume(null as never, fn), BatonOperation.EventConsume],
    ['consume({})', (baton, fn) => baton.consume({} as never, fn), BatonOperation.EventConsume],
  ];

  it.each(CASES)('%s: warn mode runs the function in a span of `unknown` and counts one fault', (_label, act, operation) => {
    const baton = make();
    let ran = 0;
    expect(act(baton, () => ++ran)).toBe(1);
    expect(baton.stats().faults).toBe(1);
    const span = onlySpan(otel.spans(), operation);
    expect(span.name).toMatch(/ unknown$/);
    expect(span.attributes[BATON_FAULT_COUNT]).toBe(1);
  });

  it.each(CASES)('%s: strict mode throws InstrumentationFaultError before the function runs', (_label, act) => {
    let ran = false;
    expect(() => act(make({ mode: 'strict' }), () => Number((ran = true)))).toThrow(InstrumentationFaultError);
    expect(ran).toBe(false);
  });

  it('a keyed access and a published message are no fault', () => {
    const baton = make();
    baton.traceStateRead({ key: 'k' }, () => 1);
    baton.consume(baton.publish({ topic: 't' }), () => 1);
    expect(baton.stats().faults).toBe(0);
  });
});

describe('strict mode', () => {
  it.each(CASES)('%s: throws the documented error', (_label, act, _operation, _keyword, _result, ErrorClass, code) => {
    const baton = make({ mode: 'strict', maxEnvelopeBytes: 2048 });
    let thrown: unknown;
    try {
      context.with(ROOT_CONTEXT, () => act(baton));
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(ErrorClass);
    expect(thrown).toBeInstanceOf(BatonError);
    expect((thrown as BatonError).code).toBe(code);
  });

  it('carries the failing JSON pointer and keyword on EnvelopeInvalidError', () => {
    const baton = make({ mode: 'strict' });
    const error = (() => {
      try {
        baton.send(draft({ status: 'done?' as never }));
      } catch (e) {
        return e as EnvelopeInvalidError;
      }
      throw new Error('expected a throw');
    })();
    expect(error.issues[0]).toMatchObject({ instancePath: '/status', keyword: 'enum' });
    expect(error.side).toBe('send');
    expect(error.message).toMatch(/^envelope fails baton\.handoff-envelope@1 at send: \/status/);
  });

  it('turns an instrumentation fault into InstrumentationFaultError', () => {
    const broken = { startSpan: () => { throw new Error('exporter on fire'); } } as unknown as Tracer;
    const baton = new Baton({ tracer: broken, meter: otel.meter, mode: 'strict' });
    expect(() => baton.send(draft())).toThrow(InstrumentationFaultError);
  });
});

describe('payload privacy', () => {
  it('records sizes but never the body by default', () => {
    const baton = make();
    context.with(ROOT_CONTEXT, () => baton.receive(JSON.stringify(baton.send(draft()))));
    for (const span of otel.spans()) {
      expect(span.attributes[BATON_ENVELOPE_BODY]).toBeUndefined();
      expect(JSON.stringify(span.attributes)).not.toContain('three vendors compared');
    }
  });

  it('records the body, truncated, only when the host opts in', () => {
    const baton = make({ recordPayloads: true, maxRecordedPayloadBytes: 64 });
    baton.send(draft());
    const body = onlySpan(otel.spans(), BatonOperation.HandoffSend).attributes[BATON_ENVELOPE_BODY] as string;
    // 50 bytes of the envelope and the 14-byte mark: exactly the 64 allowed.
    expect(body).toBe(`${JSON.stringify(baton.send(draft())).slice(0, 50)}…[truncated]`);
    expect(Buffer.byteLength(body)).toBe(64);
  });

  it('an envelope whose getter throws: exactly one fault, marked on the send span, no validation failure, the input returned', () => {
    const baton = make();
    const envelope = draft() as unknown as Record<string, unknown>;
    Object.defineProperty(envelope, 'status', {
      enumerable: true,
      get() {
        throw new Error('hostile getter');
      },
    });
    let sent: unknown;
    expect(() => {
      sent = baton.send(envelope);
    }).not.toThrow();
    expect(sent).toBe(envelope);
    expect(baton.stats()).toMatchObject({ faults: 1, validationFailures: 0, handoffsSent: 0 });
    const span = onlySpan(otel.spans(), BatonOperation.HandoffSend);
    expect(span.attributes[BATON_FAULT_COUNT]).toBe(1);
    expect(span.attributes[ERROR_TYPE]).toBe('Error');
    expect(span.attributes[BATON_VALIDATION_RESULT]).toBeUndefined();
  });
});
