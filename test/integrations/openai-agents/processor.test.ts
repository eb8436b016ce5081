/**
 * BatonAgentsTracingProcessor on the real SDK tracing (@openai/agents spans and
 * traces, created through its own API) into the real OTel SDK.
 */
import { createAgentSpan, createFunctionSpan, createHandoffSpan, setTraceProcessors, setTracingDisabled, withTrace, type Span, type SpanData, type Trace } from '@openai/agents';
import { diag, trace, type TracerProvider } from '@opentelemetry/api';
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor, type ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { AgentsIdGenerator, BatonAgentsTracingProcessor, OPENAI_AGENTS_SCOPE } from '../../../src/integrations/openai-agents/index.js';
import { otelSpanIdOf, otelTraceIdOf, otelWorkflowSpanIdOf } from '../../../src/model/openai-agents.js';
import { installContextManager } from '../../helpers/otel.js';

function harness(options: { idGenerator?: boolean; maxOpenSpans?: number } = {}) {
  installContextManager();
  const exporter = new InMemorySpanExporter();
  const provider = new BasicTracerProvider({
    spanProcessors: [new SimpleSpanProcessor(exporter)],
    ...(options.idGenerator === false ? {} : { idGenerator: new AgentsIdGenerator() }),
  });
  const processor = new BatonAgentsTracingProcessor({ tracerProvider: provider, maxOpenSpans: options.maxOpenSpans });
  // vitest sets NODE_ENV=test, which disables the SDK's tracing unless re-enabled.
  setTracingDisabled(false);
  setTraceProcessors([processor]);
  return { exporter, provider, processor, spans: (): ReadableSpan[] => exporter.getFinishedSpans() };
}

afterEach(() => {
  setTraceProcessors([]);
});

async function handoffRun(): Promise<{ trace: Trace; sender: Span<SpanData>; handoff: Span<SpanData>; receiver: Span<SpanData> }> {
  let out: { trace: Trace; sender: Span<SpanData>; handoff: Span<SpanData>; receiver: Span<SpanData> } | undefined;
  await withTrace(
    'support',
    async (trace) => {
      const sender = createAgentSpan({ data: { name: 'triage' } }, trace);
      sender.start();
      const handoff = createHandoffSpan({ data: { from_agent: 'triage' } }, sender);
      handoff.start();
      handoff.spanData.to_agent = 'billing';
      handoff.end();
      sender.end();
      const receiver = createAgentSpan({ data: { name: 'billing' } }, trace);
      receiver.start();
      receiver.end();
      out = { trace, sender, handoff, receiver };
    },
    { groupId: 'conv-1' },
  );
  return out!;
}

describe('BatonAgentsTracingProcessor', () => {
  it('takes null options as the defaults (the global provider) instead of throwing a TypeError into the host', async () => {
    installContextManager();
    const exporter = new InMemorySpanExporter();
    const provider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });
    trace.setGlobalTracerProvider(provider);
    try {
      const processor = new BatonAgentsTracingProcessor(null as unknown as undefined);
      setTracingDisabled(false);
      setTraceProcessors([processor]);
      await handoffRun();
      expect(exporter.getFinishedSpans().map((s) => s.name).sort()).toEqual(['execute_tool transfer_to_billing', 'invoke_agent billing', 'invoke_agent triage', 'invoke_workflow support']);
      expect(processor.faults).toBe(0);
    } finally {
      trace.disable();
    }
  });

  it('counts a tracer provider whose getTracer throws, and a maxOpenSpans that is not a number, as faults, each reported once', () => {
    const warn = vi.spyOn(diag, 'warn').mockImplementation(() => {});
    try {
      const broken = { getTracer: () => { throw new Error('provider shut down'); } } as unknown as TracerProvider;
      const processor = new BatonAgentsTracingProcessor({ tracerProvider: broken, maxOpenSpans: Number.NaN });
      expect(processor.faults).toBe(2);
      expect(warn.mock.calls.map((c) => String(c[0]))).toEqual([
        'baton openai-agents processor: options.tracerProvider failed (reported once): provider shut down',
        'baton openai-agents processor: options.maxOpenSpans failed (reported once): maxOpenSpans must be a number, not NaN: using 10000',
      ]);
    } finally {
      warn.mockRestore();
    }
  });

  it('writes agent and handoff spans on the GenAI conventions, with the SDK ids, times and structure', async () => {
    const h = harness();
    const run = await handoffRun();
    const spans = h.spans();
    const byName = new Map(spans.map((s) => [s.name, s]));
    const traceId = otelTraceIdOf(run.trace.traceId);
    const workflow = byName.get('invoke_workflow support')!;
    const sender = byName.get('invoke_agent triage')!;
    const handoff = byName.get('execute_tool transfer_to_billing')!;
    const receiver = byName.get('invoke_agent billing')!;
    expect(spans.every((s) => s.spanContext().traceId === traceId && s.instrumentationScope.name === OPENAI_AGENTS_SCOPE)).toBe(true);
    expect(workflow.spanContext().spanId).toBe(otelWorkflowSpanIdOf(run.trace.traceId));
    expect(workflow.attributes['gen_ai.conversation.id']).toBe('conv-1');
    expect(sender.spanContext().spanId).toBe(otelSpanIdOf(run.sender.spanId));
    expect(sender.parentSpanContext?.spanId).toBe(workflow.spanContext().spanId);
    expect(handoff.parentSpanContext?.spanId).toBe(sender.spanContext().spanId);
    expect(receiver.parentSpanContext?.spanId).toBe(workflow.spanContext().spanId);
    expect(handoff.attributes).toMatchObject({
      'gen_ai.operation.name': 'execute_tool',
      'gen_ai.transfer.target.name': 'billing',
      'gen_ai.transfer.mode': 'pass_control',
      'openai_agents.handoff.from_agent': 'triage',
      'openai_agents.span.id': run.handoff.spanId,
    });
    expect(sender.attributes).toMatchObject({ 'gen_ai.operation.name': 'invoke_agent', 'gen_ai.agent.name': 'triage' });
    const startMs = sender.startTime[0] * 1e3 + sender.startTime[1] / 1e6;
    expect(startMs).toBe(Date.parse(run.sender.startedAt!));
  });

  it('keeps the structure by live parents when the provider generates its own ids, and the SDK ids as attributes', async () => {
    const h = harness({ idGenerator: false });
    const run = await handoffRun();
    const spans = h.spans();
    const sender = spans.find((s) => s.name === 'invoke_agent triage')!;
    const handoff = spans.find((s) => s.name.startsWith('execute_tool'))!;
    expect(handoff.parentSpanContext?.spanId).toBe(sender.spanContext().spanId);
    expect(sender.attributes['openai_agents.span.id']).toBe(run.sender.spanId);
  });

  it('ends the trace of a run that threw (the SDK never ends it), marked as not ended by the SDK', async () => {
    const h = harness();
    await withTrace('max turns', async (trace) => {
      const task = createAgentSpan({ data: { name: 'planner' } }, trace);
      task.start();
      task.setError({ message: 'Error in agent run', data: { error: 'MaxTurnsExceededError' } });
      task.end();
      throw new Error('stop before the trace ends');
    }).catch(() => undefined);
    // withTrace ends its trace in finally; a Runner that throws does not. Either way exactly one workflow span is written.
    const workflows = h.spans().filter((s) => s.name === 'invoke_workflow max turns');
    expect(workflows).toHaveLength(1);
    expect(workflows[0]!.attributes['openai_agents.trace.ended']).toBe(false);
    expect(workflows[0]!.status.code).toBe(2);
  });

  it('ends spans still open at shutdown, so nothing is lost when the app exits', async () => {
    const h = harness();
    await withTrace('open', async (trace) => {
      createAgentSpan({ data: { name: 'stuck' } }, trace).start();
    });
    expect(h.spans().some((s) => s.name === 'invoke_agent stuck')).toBe(false);
    await h.processor.shutdown();
    expect(h.spans().some((s) => s.name === 'invoke_agent stuck')).toBe(true);
  });

  it('never throws into the SDK: a failing tracer is counted and reported once through diag', async () => {
    const warn = vi.spyOn(diag, 'warn').mockImplementation(() => undefined);
    const processor = new BatonAgentsTracingProcessor({
      tracer: {
        startSpan: () => {
          throw new Error('exporter broke');
        },
        startActiveSpan: () => {
          throw new Error('exporter broke');
        },
      } as never,
    });
    setTracingDisabled(false);
    setTraceProcessors([processor]);
    await expect(handoffRun()).resolves.toBeDefined();
    expect(processor.faults).toBeGreaterThan(1);
    expect(warn.mock.calls.filter((c) => String(c[0]).includes('onSpanStart'))).toHaveLength(1);
    warn.mockRestore();
  });

  it('records tool arguments and results only when recordPayloads is set', async () => {
    for (const recordPayloads of [false, true]) {
      installContextManager();
      const exporter = new InMemorySpanExporter();
      const provider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });
      setTracingDisabled(false);
      setTraceProcessors([new BatonAgentsTracingProcessor({ tracerProvider: provider, recordPayloads })]);
      await withTrace('payloads', async (trace) => {
        const agent = createAgentSpan({ data: { name: 'billing' } }, trace);
        agent.start();
        // Secrets no hex id can contain (a card number "4242" matched a random trace id once in CI).
        const tool = createFunctionSpan({ data: { name: 'charge', input: '{"card":"card-Q9"}', output: '' } }, agent);
        tool.start();
        tool.spanData.output = 'charged';
        tool.setError({ message: 'Error running tool (non-fatal)', data: { error: 'card card-Q9 declined' } });
        tool.end();
        agent.end();
      });
      const span = exporter.getFinishedSpans().find((s) => s.name === 'execute_tool charge')!;
      const text = JSON.stringify(span.attributes);
      expect(span.status).toMatchObject({ code: 2, message: 'Error running tool (non-fatal)' });
      if (recordPayloads) {
        expect(span.attributes).toMatchObject({ 'gen_ai.tool.call.arguments': '{"card":"card-Q9"}', 'gen_ai.tool.call.result': 'charged' });
        expect(text).toContain('declined');
      } else expect(text).not.toMatch(/card-Q9|charged|declined/);
    }
  });

  it('drops and counts spans past maxOpenSpans', async () => {
    const warn = vi.spyOn(diag, 'warn').mockImplementation(() => undefined);
    const h = harness({ maxOpenSpans: 2 });
    await handoffRun();
    expect(h.processor.dropped).toBeGreaterThan(0);
    warn.mockRestore();
  });
});

describe('otelSpanIdOf / otelTraceIdOf', () => {
  it('keeps the hex of SDK ids and hashes any other id deterministically', () => {
    expect(otelTraceIdOf('trace_0123456789abcdef0123456789ABCDEF')).toBe('0123456789abcdef0123456789abcdef');
    expect(otelSpanIdOf('span_0123456789abcdef01234567')).toBe('0123456789abcdef');
    expect(otelSpanIdOf('my-span')).toMatch(/^[0-9a-f]{16}$/);
    expect(otelSpanIdOf('my-span')).toBe(otelSpanIdOf('my-span'));
    expect(otelSpanIdOf('my-span')).not.toBe(otelSpanIdOf('my-span2'));
    expect(otelTraceIdOf('trace_00000000000000000000000000000000')).not.toMatch(/^0+$/);
    expect(otelTraceIdOf('x')).toMatch(/^[0-9a-f]{32}$/);
  });
});
