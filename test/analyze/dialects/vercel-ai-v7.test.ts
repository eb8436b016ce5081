/**
 * Vercel AI SDK 7 traces, which the otel-genai dialect reads (not vercel-ai): v7's
 * OpenTelemetry integration (`@ai-sdk/otel` 1.x, `OpenTelemetry` class, tracer
 * `gen_ai`) writes GenAI-convention spans. The shapes below follow its source
 * (ai 7.0.173 / @ai-sdk/otel 1.0.173, read from the npm tarballs): a root
 * `invoke_agent {modelId}` (or `invoke_agent {functionId}` with
 * `agentSpanName: 'functionId'`) carrying `gen_ai.agent.name` = functionId, a
 * `step N` span (`gen_ai.operation.name` = `agent_step`) per step, `chat {modelId}`
 * model calls and `execute_tool {toolName}` under the step, and a tool's `execute`
 * run in the tool span's context, so a callee agent's `invoke_agent` nests under the
 * caller's `execute_tool`. Constructed (ai 7 is not installed here), through the
 * real OTel SDK.
 */
import { context, SpanKind, SpanStatusCode, trace, type Attributes, type Context } from '@opentelemetry/api';
import { afterEach, describe, expect, it } from 'vitest';
import { buildHandoffModel } from '../../../src/analyze/build-model.js';
import type { SpanRecord } from '../../../src/model/span-record.js';
import { createOtelHarness, type OtelHarness } from '../../helpers/otel.js';
import { toSpanRecords } from '../../helpers/traces.js';

const MODEL = 'gpt-5-mini';

const harnesses: OtelHarness[] = [];
afterEach(async () => {
  for (const h of harnesses.splice(0)) await h.shutdown();
});

interface V7Agent {
  /** experimental_telemetry.functionId; undefined: not set. */
  readonly functionId?: string;
  /** Tool calls of its first step, each possibly running another agent; `failed`: the tool threw. */
  readonly tools?: readonly { readonly name: string; readonly runs?: V7Agent; readonly failed?: boolean }[];
}

/** Writes one `generateText` as @ai-sdk/otel's OpenTelemetry integration records it. */
function writeV7(root: V7Agent, options: { agentSpanName?: 'functionId' } = {}): SpanRecord[] {
  const otel = createOtelHarness('ai-v7');
  harnesses.push(otel);
  const tracer = otel.tracer;
  let nowMs = Date.UTC(2030, 0, 1);
  const start = (name: string, attributes: Attributes, parent: Context) => tracer.startSpan(name, { kind: SpanKind.INTERNAL, startTime: (nowMs += 1), attributes }, parent);
  const agent = (spec: V7Agent, parent: Context): void => {
    const attributes: Attributes = { 'gen_ai.operation.name': 'invoke_agent', 'gen_ai.provider.name': 'openai', 'gen_ai.request.model': MODEL };
    if (spec.functionId !== undefined) attributes['gen_ai.agent.name'] = spec.functionId;
    const name = options.agentSpanName === 'functionId' ? `invoke_agent ${spec.functionId ?? MODEL}` : `invoke_agent ${MODEL}`;
    const rootSpan = start(name, attributes, parent);
    const rootContext = trace.setSpan(parent, rootSpan);
    const step = start('step 1', { 'gen_ai.operation.name': 'agent_step' }, rootContext);
    const stepContext = trace.setSpan(rootContext, step);
    start(`chat ${MODEL}`, { 'gen_ai.operation.name': 'chat', 'gen_ai.request.model': MODEL, 'gen_ai.usage.input_tokens': 40 }, stepContext).end((nowMs += 1));
    for (const tool of spec.tools ?? []) {
      const toolSpan = start(
        `execute_tool ${tool.name}`,
        { 'gen_ai.operation.name': 'execute_tool', 'gen_ai.tool.name': tool.name, 'gen_ai.tool.call.id': `call_${nowMs}`, 'gen_ai.tool.type': 'function' },
        stepContext,
      );
      if (tool.runs) agent(tool.runs, trace.setSpan(stepContext, toolSpan));
      if (tool.failed) toolSpan.setStatus({ code: SpanStatusCode.ERROR, message: 'tool failed' });
      toolSpan.end((nowMs += 1));
    }
    step.end((nowMs += 1));
    rootSpan.end((nowMs += 1));
  };
  context.with(context.active(), () => agent(root, context.active()));
  return toSpanRecords(otel.spans());
}

describe('Vercel AI SDK 7 spans (otel-genai)', () => {
  it.each([[{}], [{ agentSpanName: 'functionId' as const }]])('reads agents named by functionId and delegation through execute_tool as return_to_caller (%j)', (options) => {
    const spans = writeV7(
      {
        functionId: 'supervisor',
        tools: [
          { name: 'lookup' },
          { name: 'ask_research', runs: { functionId: 'research', tools: [{ name: 'ask_writer', runs: { functionId: 'writer' } }] } },
          { name: 'ask_math', runs: { functionId: 'math' } },
        ],
      },
      options,
    );
    const model = buildHandoffModel(spans);
    expect(model.agentRuns.map((r) => r.agent)).toEqual(['supervisor', 'research', 'writer', 'math']);
    expect(model.handoffs.map((h) => `${h.source} → ${h.target} ${h.mode} ${h.inferred ? 'inferred' : 'declared'} ${h.dialect}`)).toEqual([
      'supervisor → research return_to_caller inferred otel-genai',
      'research → writer return_to_caller inferred otel-genai',
      'supervisor → math return_to_caller inferred otel-genai',
    ]);
    expect(model.handoffs.every((h) => h.receives.length === 1)).toBe(true);
  });

  it('names no agent after the model when functionId is unset, and makes no handoff to it', () => {
    const ignored: string[] = [];
    const spans = writeV7({ functionId: 'triage', tools: [{ name: 'ask_helper', runs: {} }] });
    const model = buildHandoffModel(spans, { onIgnored: (_d, i) => ignored.push(i.reason) });
    expect(model.agentRuns.map((r) => r.agent)).toEqual(['triage']);
    expect(model.handoffs).toEqual([]);
    expect(ignored).toContainEqual(expect.stringMatching(/names no agent.*which agent ran is unknown/));
    expect(model.agentRuns.some((r) => r.agent === MODEL)).toBe(false);
  });

  it('leaves step and chat spans unclaimed and claims nothing for the vercel-ai dialect', () => {
    const model = buildHandoffModel(writeV7({ functionId: 'a', tools: [{ name: 'ask_b', runs: { functionId: 'b' } }] }));
    expect(model.dialects).toEqual([{ id: 'otel-genai', spans: 3, interpreted: 3 }]);
  });
});
