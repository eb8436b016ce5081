/**
 * What a developer sees when something is wrong, and what a trace never holds:
 * every validation failure (bounded) naming the missing property, one diag line
 * per kind of problem, nothing from a body on failure paths unless
 * recordPayloads is on, a schema registry every Baton shares, a warning when no
 * context manager carries context, and validation sampling as documented.
 */
import { context, diag, DiagLogLevel, ROOT_CONTEXT } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  BATON_HANDOFF_STATUS,
  BATON_VALIDATION_ERROR_COUNT,
  BATON_VALIDATION_ERROR_PATH,
  BATON_VALIDATION_RESULT,
  BatonOperation,
} from '../../src/model/attributes.js';
import { SchemaRegistrationError } from '../../src/model/errors.js';
import { MAX_SCHEMA_ISSUES, SchemaRegistry } from '../../src/schemas/validators.js';
import { Baton, type BatonOptions } from '../../src/sdk/baton.js';
import { NO_CONTEXT_MANAGER, resetContextManagerCheck } from '../../src/sdk/context-check.js';
import { draft } from '../helpers/envelopes.js';
import { createOtelHarness, onlySpan, type OtelHarness } from '../helpers/otel.js';

let otel: OtelHarness;
let warnings: string[];
beforeEach(() => {
  otel = createOtelHarness();
  warnings = [];
  const record = (message: string) => warnings.push(message);
  diag.setLogger(
    { error: record, warn: record, info: () => undefined, debug: () => undefined, verbose: () => undefined },
    DiagLogLevel.WARN,
  );
});
afterEach(async () => {
  diag.disable();
  await otel.shutdown();
});

const make = (options: Partial<BatonOptions> = {}) => new Baton({ tracer: otel.tracer, meter: otel.meter, ...options });
const batonWarnings = () => warnings.filter((w) => w.startsWith('baton: '));

const SECRET = 'the-customer-ssn-123-45-6789';

describe('validation feedback', () => {
  it('lists every failure, each missing property named by its own pointer', () => {
    const baton = make();
    const { output: _o, metadata: _m, ...partial } = draft();
    const rx = context.with(ROOT_CONTEXT, () => baton.receive({ ...partial, status: 'done?' }));
    expect(rx.valid).toBe(false);
    expect(rx.issues.map((i) => [i.instancePath, i.keyword])).toEqual([
      ['/output', 'required'],
      ['/metadata', 'required'],
      ['/status', 'enum'],
    ]);
    expect(rx.issues[0]!.message).toBe("is required (must have required property 'output')");
    const receive = onlySpan(otel.spans(), BatonOperation.HandoffReceive);
    expect(receive.attributes[BATON_VALIDATION_ERROR_PATH]).toBe('/output');
    expect(receive.attributes[BATON_VALIDATION_ERROR_COUNT]).toBe(3);
  });

  it(`keeps at most ${MAX_SCHEMA_ISSUES} issues and counts them all`, () => {
    const baton = make();
    const envelope = draft({
      context: { original_goal: 'g', constraints: Array.from({ length: 50 }, () => 7 as never), decisions_made: [] },
    });
    const rx = context.with(ROOT_CONTEXT, () => baton.receive(envelope));
    expect(rx.issues).toHaveLength(MAX_SCHEMA_ISSUES);
    expect(rx.issues[49 - 40]!.instancePath).toBe('/context/constraints/9');
    expect(onlySpan(otel.spans(), BatonOperation.HandoffReceive).attributes[BATON_VALIDATION_ERROR_COUNT]).toBe(50);
  });
});

describe('diag reports', () => {
  it('reports each kind of validation failure once, however often it happens', () => {
    const baton = make();
    for (let i = 0; i < 5; i++) baton.send(draft({ status: 'done?' as never }));
    for (let i = 0; i < 3; i++) baton.send({ ...draft(), output: undefined } as never);
    expect(baton.stats().validationFailures).toBe(8);
    expect(batonWarnings()).toEqual([
      'baton: envelope research → analysis invalid at send: /status must be equal to one of the allowed values',
      "baton: envelope research → analysis invalid at send: /output is required (must have required property 'output')",
    ]);
  });

  it('reports each kind of instrumentation fault once, counting every one', () => {
    const broken = new Baton({
      tracer: {
        startSpan: () => {
          throw new Error('exporter on fire');
        },
      } as never,
      meter: otel.meter,
    });
    for (let i = 0; i < 4; i++) broken.send(draft());
    for (let i = 0; i < 2; i++) broken.publish({ topic: 'done' });
    expect(broken.stats().faults).toBe(6);
    expect(batonWarnings()).toEqual([
      'baton: instrumentation fault in send: exporter on fire',
      'baton: instrumentation fault in publish: exporter on fire',
    ]);
  });
});

describe('diag lines quote received text escaped', () => {
  it('an agent name with a newline, a terminal escape and a bidi override stays on one printable line', () => {
    const hostile = 'x\u001b[2J\u001b[31m\nbaton: all handoffs valid\u202e';
    const baton = make();
    baton.receive(JSON.stringify({ task_id: 't', source_agent: hostile, target_agent: 'y', status: 'complete' }));
    const lines = batonWarnings();
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^baton: envelope x\\u001b\[2J\\u001b\[31m\\nbaton: all handoffs valid\\u202e → y invalid at receive: /);
    // eslint-disable-next-line no-control-regex
    expect(lines[0]).not.toMatch(/[\u0000-\u001f\u202e]/);
  });
});

describe('privacy on failure paths', () => {
  it('text that is not JSON: the status and the warning give the position, never the text', () => {
    const baton = make();
    const rx = context.with(ROOT_CONTEXT, () => baton.receive(`{"task_id": "${SECRET}", oops`));
    expect(rx.issues).toEqual([{ instancePath: '', keyword: 'json', message: 'is not valid JSON (at character 44)' }]);
    const receive = onlySpan(otel.spans(), BatonOperation.HandoffReceive);
    expect(receive.status.message).toBe('envelope unknown → unknown invalid at receive: / is not valid JSON (at character 44)');
    expect(JSON.stringify([receive.attributes, receive.status, receive.events, receive.name])).not.toContain('ssn');
    expect(batonWarnings().join('\n')).not.toContain('ssn');
  });

  it('a status outside the schema enum is not recorded', () => {
    const baton = make();
    context.with(ROOT_CONTEXT, () => baton.receive(JSON.stringify(draft({ status: SECRET as never }))));
    const receive = onlySpan(otel.spans(), BatonOperation.HandoffReceive);
    expect(receive.attributes[BATON_HANDOFF_STATUS]).toBeUndefined();
    expect(receive.attributes[BATON_VALIDATION_ERROR_PATH]).toBe('/status');
    expect(JSON.stringify([receive.attributes, receive.status])).not.toContain('ssn');
  });

  it('a status in the enum is recorded on the send span, and not repeated on the receive span (conventions 2)', () => {
    const baton = make();
    context.with(ROOT_CONTEXT, () => baton.receive(JSON.stringify(baton.send(draft({ status: 'partial' })))));
    expect(onlySpan(otel.spans(), BatonOperation.HandoffSend).attributes[BATON_HANDOFF_STATUS]).toBe('partial');
    expect(onlySpan(otel.spans(), BatonOperation.HandoffReceive).attributes[BATON_HANDOFF_STATUS]).toBeUndefined();
  });

  it.each([
    ['an invalid envelope', () => draft({ output: { summary: SECRET, artifacts: [42 as never] } })],
    ['a too-large envelope', () => draft({ output: { summary: `${SECRET}${'x'.repeat(3000)}`, artifacts: [] } })],
    [
      'an envelope with a bad nested field',
      () => draft({ context: { original_goal: SECRET, constraints: SECRET as never, decisions_made: [] } }),
    ],
  ])('%s: no span, status or warning holds body text', (_label, envelope) => {
    const baton = make({ maxEnvelopeBytes: 2048 });
    const wire = JSON.stringify(baton.send(envelope()));
    context.with(ROOT_CONTEXT, () => baton.receive(wire));
    for (const span of otel.spans()) {
      expect(JSON.stringify([span.name, span.attributes, span.status, span.events, span.links])).not.toContain('ssn');
    }
    expect(batonWarnings().join('\n')).not.toContain('ssn');
  });
});

describe('schema registry', () => {
  it('is shared by every Baton made without one: a schema registered through one is known to the next', () => {
    const schema = { $id: 'https://example.test/ticket.v1.json', type: 'object', required: ['id'] };
    new Baton().schemas.register('test.ticket', '1', schema);
    const other = make();
    expect(other.schemas).toBe(SchemaRegistry.shared());
    expect(other.schemas.has('test.ticket', '1')).toBe(true);
    // The same schema again is a no-op; another one under the same id@version is refused.
    expect(() => make().schemas.register('test.ticket', '1', schema)).not.toThrow();
    expect(() => make().schemas.register('test.ticket', '1', { type: 'string' })).toThrow(SchemaRegistrationError);
    const rx = context.with(ROOT_CONTEXT, () => other.receive({ id: 'T-1' }, { schema: 'test.ticket@1' }));
    expect(rx.valid).toBe(true);
  });

  it('a registry passed in is used as given', () => {
    const own = new SchemaRegistry();
    expect(make({ schemas: own }).schemas).toBe(own);
    expect(own).not.toBe(SchemaRegistry.shared());
  });
});

describe('context manager check', () => {
  it('warns once when no context manager carries context, then not again', () => {
    context.disable();
    resetContextManagerCheck();
    try {
      const baton = make();
      baton.send(draft());
      baton.send(draft());
      baton.runAgent('a', () => 1);
      expect(batonWarnings().filter((w) => w.includes('context manager'))).toEqual([`baton: ${NO_CONTEXT_MANAGER}`]);
    } finally {
      context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
    }
  });

  it('says nothing with AsyncLocalStorage, across await too', async () => {
    resetContextManagerCheck();
    make().send(draft());
    await new Promise((resolve) => setTimeout(resolve, 5));
    expect(batonWarnings().filter((w) => w.includes('context manager'))).toEqual([]);
  });
});

describe('a context manager that throws', () => {
  it('is a fault: the host function runs once and its value, or its exception, comes back unchanged', async () => {
    const real = new AsyncLocalStorageContextManager();
    const throwing = {
      active: () => ROOT_CONTEXT,
      with: () => {
        throw new Error('context manager on fire');
      },
      bind: <T>(_ctx: unknown, target: T) => target,
      enable() {
        return this;
      },
      disable() {
        return this;
      },
    };
    context.disable();
    context.setGlobalContextManager(throwing);
    try {
      const baton = make();
      let runs = 0;
      expect(baton.runAgent('a', () => ++runs)).toBe(1);
      const rx = baton.receive(JSON.stringify(baton.send(draft())));
      expect(rx.run(() => 'ran')).toBe('ran');
      const failure = new Error('the host failed');
      expect(() =>
        baton.traceStateWrite({ key: 'k' }, () => {
          throw failure;
        }),
      ).toThrow(failure);
      expect(await baton.consume(baton.publish({ topic: 't' }), async () => 'consumed')).toBe('consumed');
      expect(runs).toBe(1);
      // runAgent, rx.run, traceStateWrite, and consume twice (its own context, then the span's).
      expect(baton.stats().faults).toBe(5);
      expect(batonWarnings()).toContain('baton: instrumentation fault in context: context manager on fire');
    } finally {
      context.disable();
      context.setGlobalContextManager(real.enable());
    }
  });
});

describe('validation sampling', () => {
  it('validates the first envelopes of an edge, then one in thenOneIn; sizes and spans for all', () => {
    const baton = make({ validationSampling: { firstPerEdge: 2, thenOneIn: 3 } });
    for (let i = 0; i < 8; i++) baton.send(draft());
    const results = otel
      .spans()
      .filter((s) => s.attributes['baton.operation'] === BatonOperation.HandoffSend)
      .map((s) => s.attributes[BATON_VALIDATION_RESULT] ?? 'skipped');
    expect(results).toEqual(['valid', 'valid', 'skipped', 'skipped', 'valid', 'skipped', 'skipped', 'valid']);
    for (const span of otel.spans()) expect(span.attributes['baton.envelope.size_bytes']).toBeGreaterThan(500);
  });

  it('counts per edge: a new target is validated from its first envelope', () => {
    const baton = make({ validationSampling: { firstPerEdge: 1, thenOneIn: 100 } });
    baton.send(draft());
    baton.send(draft());
    baton.send(draft({ target_agent: 'writer' }));
    const results = otel.spans().map((s) => s.attributes[BATON_VALIDATION_RESULT] ?? 'skipped');
    expect(results).toEqual(['valid', 'skipped', 'valid']);
  });
});

describe('an envelope with an own __proto__ key (JSON.parse makes them)', () => {
  it('is copied with the key as data: the copy and its handoff block keep Object.prototype', () => {
    const baton = make();
    const parsed = JSON.parse(
      `{"__proto__": {"polluted": true}, "handoff": {"__proto__": {"polluted": true}, "id": "h-1"}, ${JSON.stringify(draft()).slice(1)}`,
    ) as Record<string, unknown>;
    const sent = baton.send(parsed) as unknown as Record<string, unknown> & { handoff: Record<string, unknown> };
    expect(Object.getPrototypeOf(sent)).toBe(Object.prototype);
    expect(Object.getPrototypeOf(sent.handoff)).toBe(Object.prototype);
    expect(sent.handoff.id).toBe('h-1');
    expect((sent as { polluted?: unknown }).polluted).toBeUndefined();
    expect(Object.hasOwn(sent, '__proto__')).toBe(true);
  });
});
