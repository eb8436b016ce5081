/**
 * The otel-genai dialect on GenAI agent spans written by the real OTel SDK
 * (InMemorySpanExporter, OTLP/JSON round trip): each way a handoff is read
 * (declared transfer attributes, tool names, `transfer_to_agent` arguments,
 * nested delegation, caller-aware remote invocation), the spans it ignores and
 * why, near misses that must not become edges, and hostile input (built-in
 * property names, odd attribute types, parent cycles) derived from real spans.
 */
import { context, SpanKind, SpanStatusCode, trace, type Attributes, type AttributeValue as OtelAttributeValue } from '@opentelemetry/api';
import { afterEach, describe, expect, it } from 'vitest';
import { buildHandoffModel } from '../../../src/analyze/build-model.js';
import { otelGenAiDialect, normalizeAgentName, targetFromArguments } from '../../../src/analyze/dialects/otel-genai.js';
import type { IgnoredSpan } from '../../../src/analyze/dialects/dialect.js';
import {
  ERROR_TYPE,
  GEN_AI_AGENT_HANDOFF_TARGET_NAME,
  GEN_AI_AGENT_ID,
  GEN_AI_AGENT_NAME,
  GEN_AI_CALLER_NAME,
  GEN_AI_CALLER_TYPE,
  GEN_AI_CONVERSATION_ID,
  GEN_AI_OPERATION_NAME,
  GEN_AI_TOOL_CALL_ARGUMENTS,
  GEN_AI_TOOL_NAME,
  GEN_AI_TRANSFER_MODE,
  GEN_AI_TRANSFER_TARGET_NAME,
  GEN_AI_TRANSFER_TARGET_TYPE,
  GEN_AI_USAGE_COMPLETION_TOKENS,
  GEN_AI_USAGE_INPUT_TOKENS,
  GEN_AI_USAGE_OUTPUT_TOKENS,
  GEN_AI_USAGE_PROMPT_TOKENS,
  GEN_AI_WORKFLOW_NAME,
} from '../../../src/model/attributes.js';
import type { Handoff, HandoffModel } from '../../../src/model/handoff-model.js';
import type { AttributeValue, SpanRecord } from '../../../src/model/span-record.js';
import { Baton } from '../../../src/sdk/baton.js';
import { setAttributes } from '../../helpers/analyze.js';
import { createOtelHarness, type OtelHarness } from '../../helpers/otel.js';
import { toSpanRecords } from '../../helpers/traces.js';

const harnesses: OtelHarness[] = [];
afterEach(async () => {
  for (const harness of harnesses.splice(0)) await harness.shutdown();
});

interface SpanOptions {
  readonly kind?: SpanKind;
  readonly attributes?: Attributes;
  /** Ends the span with status ERROR (and this error.type, unless ''). */
  readonly error?: string;
}

/**
 * Writes GenAI spans through the real OTel SDK: each call opens a span as a
 * child of the active one, runs `body` inside it and ends it. The clock is
 * explicit (one millisecond per start and per end), so spans start in call order.
 */
class GenAiWriter {
  readonly #otel: OtelHarness;
  #nowMs = Date.UTC(2030, 0, 1);

  constructor() {
    this.#otel = createOtelHarness();
    harnesses.push(this.#otel);
  }

  span(name: string, options: SpanOptions = {}, body?: () => void): void {
    this.#nowMs += 1;
    const span = this.#otel.tracer.startSpan(name, { kind: options.kind ?? SpanKind.INTERNAL, attributes: options.attributes ?? {}, startTime: this.#nowMs });
    if (body) context.with(trace.setSpan(context.active(), span), body);
    if (options.error !== undefined) {
      if (options.error !== '') span.setAttribute(ERROR_TYPE, options.error);
      span.setStatus({ code: SpanStatusCode.ERROR, message: 'failed' });
    }
    this.#nowMs += 1;
    span.end(this.#nowMs);
  }

  workflow(name: string, body: () => void): void {
    this.span(`invoke_workflow ${name}`, { attributes: { [GEN_AI_OPERATION_NAME]: 'invoke_workflow', [GEN_AI_WORKFLOW_NAME]: name } }, body);
  }

  agent(name: string, body?: () => void, options: SpanOptions = {}): void {
    this.span(
      `invoke_agent ${name}`,
      { ...options, attributes: { [GEN_AI_OPERATION_NAME]: 'invoke_agent', [GEN_AI_AGENT_NAME]: name, ...options.attributes } },
      body,
    );
  }

  tool(tool: string, attributes: Attributes = {}, body?: () => void, options: SpanOptions = {}): void {
    this.span(
      `execute_tool ${tool}`,
      { ...options, attributes: { [GEN_AI_OPERATION_NAME]: 'execute_tool', [GEN_AI_TOOL_NAME]: tool, ...attributes } },
      body,
    );
  }

  chat(): void {
    this.span('chat gpt-4.1', { kind: SpanKind.CLIENT, attributes: { [GEN_AI_OPERATION_NAME]: 'chat', [GEN_AI_USAGE_INPUT_TOKENS]: 10 } });
  }

  spans(): SpanRecord[] {
    return toSpanRecords(this.#otel.spans());
  }
}

function write(build: (w: GenAiWriter) => void): SpanRecord[] {
  const writer = new GenAiWriter();
  build(writer);
  return writer.spans();
}

interface Read {
  readonly model: HandoffModel;
  readonly ignored: (IgnoredSpan & { dialect: string })[];
}

function read(spans: readonly SpanRecord[]): Read {
  const ignored: (IgnoredSpan & { dialect: string })[] = [];
  const model = buildHandoffModel(spans, { onIgnored: (dialect, i) => ignored.push({ ...i, dialect }) });
  return { model, ignored };
}

function named(spans: readonly SpanRecord[], name: string, nth = 0): SpanRecord {
  const found = spans.filter((s) => s.name === name);
  if (!found[nth]) throw new Error(`no span ${name} #${nth} (found ${found.length})`);
  return found[nth];
}

const edges = (model: HandoffModel): string[] => model.handoffs.map((h) => `${h.source} → ${h.target}`);

function only(model: HandoffModel): Handoff {
  if (model.handoffs.length !== 1) throw new Error(`expected one handoff, found ${model.handoffs.length}: ${edges(model).join(', ')}`);
  return model.handoffs[0]!;
}

function reasonOf(r: Read, span: SpanRecord): string | undefined {
  return r.ignored.find((i) => i.span.spanId === span.spanId)?.reason;
}

describe('otelGenAiDialect.claims', () => {
  const spans = write((w) => {
    w.workflow('support', () => {
      w.span('create_agent Billing', { attributes: { [GEN_AI_OPERATION_NAME]: 'create_agent' } });
      w.agent('Billing', () => {
        w.chat();
        w.span('text_completion m', { attributes: { [GEN_AI_OPERATION_NAME]: 'text_completion' } });
        w.span('generate_content m', { attributes: { [GEN_AI_OPERATION_NAME]: 'generate_content' } });
        w.tool('search_web');
      });
      w.span('Agent run: refunds', { attributes: { [GEN_AI_OPERATION_NAME]: 'invoke_agent', [GEN_AI_AGENT_NAME]: 'refunds' } });
      w.span('invoke_agent by-name-only');
      w.span('execute_tool by_name_only');
      w.span('embeddings m', { attributes: { [GEN_AI_OPERATION_NAME]: 'embeddings' } });
      w.span('GET /health');
    });
  });

  it.each([
    ['invoke_workflow support', true],
    ['create_agent Billing', true],
    ['invoke_agent Billing', true],
    ['execute_tool search_web', true],
    ['Agent run: refunds', true], // gen_ai.operation.name = invoke_agent, whatever the name
    ['invoke_agent by-name-only', true],
    ['execute_tool by_name_only', true],
    ['chat gpt-4.1', false],
    ['text_completion m', false],
    ['generate_content m', false],
    ['embeddings m', false],
    ['GET /health', false],
  ])('%s → %s', (name, claimed) => {
    expect(otelGenAiDialect.claims(named(spans, name))).toBe(claimed);
  });

  it('leaves model calls unclaimed, so they stay timing-only spans', () => {
    const { model } = read(spans);
    expect(model.dialects).toEqual([{ id: 'otel-genai', spans: 7, interpreted: 3 }]);
    expect(model.spans.find((s) => s.name === 'chat gpt-4.1')!.role).toBe('');
  });

  it('reads an odd-typed gen_ai.operation.name as absent and falls back to the span name', () => {
    const [agent] = setAttributes(spans, named(spans, 'invoke_agent Billing').spanId, { [GEN_AI_OPERATION_NAME]: 42 }).filter(
      (s) => s.name === 'invoke_agent Billing',
    );
    expect(otelGenAiDialect.claims(agent!)).toBe(true);
  });
});

describe('otelGenAiDialect.readsEvent', () => {
  // Strands writes gen_ai.tool.message on its tool spans (the arguments a handoff is read from) and on every
  // chat span after them (the conversation so far): a reduced open span keeps the event only where it is read.
  const spans = write((w) => {
    w.agent('Billing', () => {
      w.chat();
      w.tool('handoff_to_agent');
    });
  });
  const chat = spans.find((s) => s.attributes[GEN_AI_OPERATION_NAME] === 'chat')!;
  const tool = spans.find((s) => s.attributes[GEN_AI_OPERATION_NAME] === 'execute_tool')!;

  it('reads the tool-message and operation-details events on tool spans only', () => {
    for (const event of ['gen_ai.tool.message', 'gen_ai.client.inference.operation.details']) {
      expect(otelGenAiDialect.readsEvent!(event, tool)).toBe(true);
      expect(otelGenAiDialect.readsEvent!(event, chat)).toBe(false);
    }
    expect(otelGenAiDialect.readsEvent!('gen_ai.user.message', tool)).toBe(false);
  });
});

describe('otelGenAiDialect.interpret: agent runs', () => {
  it('reads invoke_agent runs (INTERNAL and CLIENT) with name, id, conversation as task, tokens and outcome', () => {
    const spans = write((w) => {
      w.workflow('flow', () => {
        w.agent('triage', undefined, {
          attributes: { [GEN_AI_AGENT_ID]: 'asst_1', [GEN_AI_CONVERSATION_ID]: 'conv-7', [GEN_AI_USAGE_INPUT_TOKENS]: 100, [GEN_AI_USAGE_OUTPUT_TOKENS]: 20 },
        });
        w.agent('legacy', undefined, { attributes: { [GEN_AI_USAGE_PROMPT_TOKENS]: 5, [GEN_AI_USAGE_COMPLETION_TOKENS]: 6 } });
        w.agent('remote', undefined, { kind: SpanKind.CLIENT, error: 'timeout' });
        w.agent('status-only', undefined, { error: '' });
        w.agent('typed-only', undefined, { attributes: { [ERROR_TYPE]: 'RateLimitError' } });
      });
    });
    const runs = read(spans).model.agentRuns;
    expect(runs.map((r) => [r.agent, r.outcome, r.dialect])).toEqual([
      ['triage', 'completed', 'otel-genai'],
      ['legacy', 'completed', 'otel-genai'],
      ['remote', 'failed', 'otel-genai'],
      ['status-only', 'failed', 'otel-genai'],
      ['typed-only', 'failed', 'otel-genai'],
    ]);
    expect(runs[0]).toMatchObject({ agentId: 'asst_1', taskId: 'conv-7', inputTokens: 100, outputTokens: 20 });
    expect(runs[1]).toMatchObject({ inputTokens: 5, outputTokens: 6, taskId: undefined });
  });

  it('names the agent from the span name, else gen_ai.agent.id, and ignores a run naming none', () => {
    const spans = write((w) => {
      w.span('invoke_agent from-name', { attributes: { [GEN_AI_OPERATION_NAME]: 'invoke_agent' } });
      w.span('invoke_agent', { attributes: { [GEN_AI_OPERATION_NAME]: 'invoke_agent', [GEN_AI_AGENT_ID]: 'asst_9' } });
      w.span('invoke_agent', { attributes: { [GEN_AI_OPERATION_NAME]: 'invoke_agent' } });
    });
    const r = read(spans);
    expect(r.model.agentRuns.map((a) => a.agent)).toEqual(['from-name', 'asst_9']);
    expect(r.ignored.map((i) => i.reason)).toEqual([expect.stringContaining('which agent ran is unknown')]);
  });
});

describe('otelGenAiDialect.interpret: transfers', () => {
  it('reads the draft transfer attributes: source from the enclosing run, target, mode, arrival at the next run', () => {
    const spans = write((w) => {
      w.workflow('support', () => {
        w.agent('triage', () => {
          w.chat();
          w.tool('transfer_to_billing', {
            [GEN_AI_AGENT_NAME]: 'triage',
            [GEN_AI_TRANSFER_MODE]: 'pass_control',
            [GEN_AI_TRANSFER_TARGET_NAME]: 'billing',
            [GEN_AI_TRANSFER_TARGET_TYPE]: 'agent',
            [GEN_AI_CONVERSATION_ID]: 'conv-1',
          });
        });
        w.agent('billing');
      });
    });
    const handoff = only(read(spans).model);
    expect(handoff).toMatchObject({
      source: 'triage',
      target: 'billing',
      kind: 'transfer',
      dialect: 'otel-genai',
      mode: 'pass_control',
      inferred: false,
      sendCount: 1,
      taskId: 'conv-1',
    });
    expect(handoff.send!.spanId).toBe(named(spans, 'execute_tool transfer_to_billing').spanId);
    expect(handoff.receives.map((r) => r.spanId)).toEqual([named(spans, 'invoke_agent billing').spanId]);
  });

  it('reads the competing gen_ai.agent.handoff.target.name as a declared target', () => {
    const spans = write((w) => {
      w.agent('a', () => w.tool('route', { [GEN_AI_AGENT_HANDOFF_TARGET_NAME]: 'b' }));
      w.agent('b');
    });
    expect(only(read(spans).model)).toMatchObject({ source: 'a', target: 'b', inferred: false });
  });

  it('does not make an edge of a transfer to a human or a workflow, and says why', () => {
    const spans = write((w) => {
      w.agent('a', () => w.tool('escalate', { [GEN_AI_TRANSFER_TARGET_NAME]: 'on-call', [GEN_AI_TRANSFER_TARGET_TYPE]: 'human' }));
    });
    const r = read(spans);
    expect(r.model.handoffs).toEqual([]);
    expect(reasonOf(r, named(spans, 'execute_tool escalate'))).toMatch(/transfer to a human/);
  });

  it('infers a transfer from transfer_to_<agent>, matching `Billing Agent` to transfer_to_billing_agent', () => {
    const spans = write((w) => {
      w.agent('Billing Agent');
      w.agent('Triage', () => w.tool('transfer_to_billing_agent'));
      w.agent('Billing Agent');
      w.agent('Billing Agent');
    });
    const handoff = only(read(spans).model);
    expect(handoff).toMatchObject({ source: 'Triage', target: 'Billing Agent', inferred: true });
    expect(handoff.mode).toBeUndefined();
    // The earliest run of the target starting at or after the transfer: not the one before, not the last.
    expect(handoff.receives.map((r) => r.spanId)).toEqual([named(spans, 'invoke_agent Billing Agent', 1).spanId]);
  });

  it.each([
    ['handoff_to_refunds', 'refunds'],
    ['transferToRefunds', 'Refunds'],
    ['Transfer-To-Refunds', 'Refunds'],
    ['transfer_to_refundsagent', 'RefundsAgent'],
  ])('reads tool %s as a transfer to %s', (tool, agent) => {
    const spans = write((w) => {
      w.agent('a', () => w.tool(tool));
      w.agent(agent);
    });
    const handoff = only(read(spans).model);
    expect(handoff).toMatchObject({ source: 'a', target: agent, inferred: true });
    expect(handoff.receives).toHaveLength(1);
  });

  it('keeps the literal target of a transfer tool when no run of the target is in the data', () => {
    const spans = write((w) => w.agent('a', () => w.tool('transfer_to_night_shift')));
    const handoff = only(read(spans).model);
    expect(handoff).toMatchObject({ source: 'a', target: 'night_shift', inferred: true });
    expect(handoff.receives).toEqual([]);
  });

  it.each<[string, OtelAttributeValue]>([
    ['agent_name', JSON.stringify({ agent_name: 'refunds', reason: 'asked for money back' })],
    ['agent', JSON.stringify({ agent: 'refunds' })],
    ['target', JSON.stringify({ target: 'refunds' })],
    ['an object with a name', JSON.stringify({ agent: { name: 'refunds' } })],
    ['JSON encoded twice', JSON.stringify(JSON.stringify({ agent_name: 'refunds' }))],
  ])('reads the target of transfer_to_agent from gen_ai.tool.call.arguments (%s)', (_label, args) => {
    const spans = write((w) => {
      w.agent('a', () => w.tool('transfer_to_agent', { [GEN_AI_TOOL_CALL_ARGUMENTS]: args }));
      w.agent('refunds');
    });
    expect(only(read(spans).model)).toMatchObject({ source: 'a', target: 'refunds', inferred: true });
  });

  it('reads the target of transfer_to_agent from the span name when the arguments are not recorded', () => {
    const spans = write((w) => {
      w.agent('a', () => w.span('execute_tool transfer_to_agent refunds', { attributes: { [GEN_AI_OPERATION_NAME]: 'execute_tool', [GEN_AI_TOOL_NAME]: 'transfer_to_agent' } }));
      w.agent('refunds');
    });
    expect(only(read(spans).model)).toMatchObject({ source: 'a', target: 'refunds' });
  });

  it.each<[string, OtelAttributeValue]>([
    ['malformed JSON', '{"agent_name": "refunds"'],
    ['a JSON array', '["refunds"]'],
    ['a number', 7],
    ['an array attribute', ['refunds']],
    ['no target key', JSON.stringify({ message: 'hi' })],
    ['an empty name', JSON.stringify({ agent_name: '  ' })],
  ])('ignores transfer_to_agent whose arguments are %s, with a reason, and never throws', (_label, args) => {
    const spans = write((w) => w.agent('a', () => w.tool('transfer_to_agent', { [GEN_AI_TOOL_CALL_ARGUMENTS]: args })));
    const r = read(spans);
    expect(r.model.handoffs).toEqual([]);
    expect(reasonOf(r, named(spans, 'execute_tool transfer_to_agent'))).toMatch(/names no target/);
  });

  it('reads an agent nested under another agent’s tool call as delegation that returns to the caller', () => {
    const spans = write((w) => {
      w.agent('assistant', () => {
        w.chat();
        w.tool('weather_specialist', {}, () => w.agent('weather-specialist', () => w.chat()));
        w.chat();
      });
    });
    const handoff = only(read(spans).model);
    expect(handoff).toMatchObject({ source: 'assistant', target: 'weather-specialist', mode: 'return_to_caller', inferred: true });
    expect(handoff.send!.spanId).toBe(named(spans, 'execute_tool weather_specialist').spanId);
    expect(handoff.receives.map((r) => r.spanId)).toEqual([named(spans, 'invoke_agent weather-specialist').spanId]);
  });

  it('takes the nested run as the arrival of a named transfer whose target works inside the call', () => {
    const spans = write((w) => {
      w.agent('a', () => w.tool('transfer_to_b', {}, () => w.agent('b')));
      w.agent('b');
    });
    const handoff = only(read(spans).model);
    expect(handoff).toMatchObject({ mode: 'return_to_caller', inferred: true });
    expect(handoff.receives.map((r) => r.spanId)).toEqual([named(spans, 'invoke_agent b', 0).spanId]);
  });

  it('makes one handoff per agent a single tool call invokes, with distinct ids', () => {
    const spans = write((w) => {
      w.agent('lead', () =>
        w.tool('research_team', {}, () => {
          w.agent('searcher');
          w.agent('reader');
        }),
      );
    });
    const { model } = read(spans);
    expect(edges(model)).toEqual(['lead → searcher', 'lead → reader']);
    expect(new Set(model.handoffs.map((h) => h.id)).size).toBe(2);
  });

  it('names the source from the nearest enclosing run, through spans of no dialect between them', () => {
    const spans = write((w) => {
      w.agent('outer', () =>
        w.agent('inner', () => w.span('graph node', {}, () => w.span('step', {}, () => w.tool('transfer_to_c')))),
      );
      w.agent('c');
    });
    expect(edges(read(spans).model)).toEqual(['inner → c']);
  });

  it('falls back to the tool span’s gen_ai.agent.name outside any run, and ignores a transfer with no source', () => {
    const spans = write((w) => {
      w.workflow('flow', () => {
        w.tool('transfer_to_b', { [GEN_AI_AGENT_NAME]: 'a' });
        w.tool('transfer_to_c');
      });
      w.agent('b');
      w.agent('c');
    });
    const r = read(spans);
    expect(edges(r.model)).toEqual(['a → b']);
    expect(reasonOf(r, named(spans, 'execute_tool transfer_to_c'))).toMatch(/source agent is unknown/);
  });

  it('counts a retried transfer once, with two sends, and two transfers with a run between them twice', () => {
    const spans = write((w) => {
      w.agent('a', () => {
        w.tool('transfer_to_b', {}, undefined, { error: 'timeout' });
        w.tool('transfer_to_b');
      });
      w.agent('b');
      w.agent('a', () => w.tool('transfer_to_b'));
      w.agent('b');
    });
    const r = read(spans);
    expect(r.model.handoffs.map((h) => [h.source, h.target, h.sendCount])).toEqual([
      ['a', 'b', 2],
      ['a', 'b', 1],
    ]);
    expect(r.model.handoffs[0]!.send!.spanId).toBe(named(spans, 'execute_tool transfer_to_b', 0).spanId);
    expect(reasonOf(r, named(spans, 'execute_tool transfer_to_b', 1))).toMatch(/retry of the transfer/);
  });
});

describe('otelGenAiDialect.interpret: remote agents', () => {
  it('reads a CLIENT invoke_agent naming gen_ai.caller.name as a declared handoff, counting the server-side run once', () => {
    const spans = write((w) => {
      w.agent('planner', () =>
        w.agent('weather-agent', () => w.agent('weather-agent', () => w.chat()), {
          kind: SpanKind.CLIENT,
          attributes: { [GEN_AI_CALLER_NAME]: 'planner', [GEN_AI_CALLER_TYPE]: 'agent' },
        }),
      );
    });
    const { model } = read(spans);
    const handoff = only(model);
    const [client, server] = spans.filter((s) => s.name === 'invoke_agent weather-agent').sort((a, b) => a.startMs - b.startMs);
    expect(handoff).toMatchObject({ source: 'planner', target: 'weather-agent', inferred: false });
    expect(handoff.send!.spanId).toBe(client!.spanId);
    expect(handoff.receives.map((r) => r.spanId)).toEqual([server!.spanId]);
    expect(model.agentRuns.map((r) => [r.agent, r.spanId])).toEqual([
      ['planner', named(spans, 'invoke_agent planner').spanId],
      ['weather-agent', server!.spanId],
    ]);
  });

  it('takes the CLIENT span as the run and the arrival when the remote side is not in the data', () => {
    const spans = write((w) => {
      w.agent('planner', () => w.agent('weather-agent', undefined, { kind: SpanKind.CLIENT, attributes: { [GEN_AI_CALLER_NAME]: 'planner' } }));
    });
    const { model } = read(spans);
    const client = named(spans, 'invoke_agent weather-agent');
    expect(only(model).receives.map((r) => r.spanId)).toEqual([client.spanId]);
    expect(model.agentRuns.map((r) => r.agent)).toEqual(['planner', 'weather-agent']);
    expect(model.spans.find((s) => s.spanId === client.spanId)!.role).toBe('agent-run');
  });

  it('makes no handoff of a remote call whose caller is a workflow, nor of one with no caller', () => {
    const spans = write((w) => {
      w.workflow('weather_workflow', () =>
        w.agent('remote_weather_agent', () => {
          w.agent('weather-agent', undefined, { kind: SpanKind.CLIENT, attributes: { [GEN_AI_CALLER_NAME]: 'weather_workflow', [GEN_AI_CALLER_TYPE]: 'workflow' } });
          w.agent('news-agent', undefined, { kind: SpanKind.CLIENT });
        }),
      );
    });
    const { model } = read(spans);
    expect(model.handoffs).toEqual([]);
    expect(model.agentRuns.map((r) => r.agent)).toEqual(['remote_weather_agent', 'weather-agent', 'news-agent']);
  });

  it('makes one handoff, not two, of a caller-aware CLIENT span inside a transfer tool', () => {
    const spans = write((w) => {
      w.agent('planner', () =>
        w.tool('transfer_to_weather_agent', { [GEN_AI_TRANSFER_TARGET_NAME]: 'weather-agent', [GEN_AI_TRANSFER_MODE]: 'return_to_caller' }, () =>
          w.agent('weather-agent', () => w.agent('weather-agent'), { kind: SpanKind.CLIENT, attributes: { [GEN_AI_CALLER_NAME]: 'planner' } }),
        ),
      );
    });
    const { model } = read(spans);
    const handoff = only(model);
    expect(handoff.send!.spanId).toBe(named(spans, 'execute_tool transfer_to_weather_agent').spanId);
    expect(model.agentRuns.map((r) => r.agent)).toEqual(['planner', 'weather-agent']);
  });
});

describe('otelGenAiDialect.interpret: ignored spans and near misses', () => {
  it('ignores create_agent, invoke_workflow and non-transfer tools, saying why', () => {
    const spans = write((w) => {
      w.span('create_agent helper', { attributes: { [GEN_AI_OPERATION_NAME]: 'create_agent' } });
      w.workflow('support', () => w.agent('a', () => w.tool('search_web')));
    });
    const r = read(spans);
    expect(r.model.handoffs).toEqual([]);
    expect(reasonOf(r, named(spans, 'create_agent helper'))).toMatch(/no handoff meaning/);
    expect(reasonOf(r, named(spans, 'invoke_workflow support'))).toMatch(/container of agent runs/);
    expect(reasonOf(r, named(spans, 'execute_tool search_web'))).toMatch(/search_web is not a transfer/);
    expect(r.ignored.every((i) => i.dialect === 'otel-genai')).toBe(true);
  });

  it('makes no edge between sequential runs under one workflow with no transfer between them', () => {
    const spans = write((w) => {
      w.workflow('pipeline', () => {
        w.agent('a', () => w.chat());
        w.agent('b', () => w.chat());
        w.agent('c');
      });
    });
    const { model } = read(spans);
    expect(model.handoffs).toEqual([]);
    expect(model.agentRuns.map((r) => r.agent)).toEqual(['a', 'b', 'c']);
  });

  it('makes no edge of an ordinary tool followed by another agent’s run', () => {
    const spans = write((w) => {
      w.agent('a', () => w.tool('search_web', { [GEN_AI_TOOL_CALL_ARGUMENTS]: JSON.stringify({ agent: 'b' }) }));
      w.agent('b');
    });
    expect(read(spans).model.handoffs).toEqual([]);
  });

  it('makes no edge of a run nested directly in another run (a sequential agent’s sub-agents)', () => {
    const spans = write((w) => w.agent('sequence', () => {
      w.agent('step-1');
      w.agent('step-2');
    }));
    expect(read(spans).model.handoffs).toEqual([]);
  });
});

describe('otelGenAiDialect.interpret: hostile input', () => {
  it('handles agents named after Object built-ins', () => {
    const spans = write((w) => {
      w.agent('constructor', () => w.tool('transfer_to___proto__'));
      w.agent('__proto__', () => w.tool('transfer_to_agent', { [GEN_AI_TOOL_CALL_ARGUMENTS]: '{"__proto__": {"name": "x"}, "agent_name": "toString"}' }));
      w.agent('toString', () => w.tool('hand', { [GEN_AI_TRANSFER_TARGET_NAME]: 'constructor' }));
      w.agent('constructor');
    });
    const { model } = read(spans);
    expect(edges(model)).toEqual(['constructor → __proto__', '__proto__ → toString', 'toString → constructor']);
    expect(model.handoffs.every((h) => h.receives.length === 1)).toBe(true);
    expect(model.agentRuns.map((r) => r.agent)).toEqual(['constructor', '__proto__', 'toString', 'constructor']);
  });

  it.each<[string, Record<string, AttributeValue>]>([
    ['a number agent name', { [GEN_AI_AGENT_NAME]: 42 }],
    ['an array agent name', { [GEN_AI_AGENT_NAME]: ['a', 'b'] }],
    ['a boolean target', { [GEN_AI_TRANSFER_TARGET_NAME]: true }],
    ['a numeric mode', { [GEN_AI_TRANSFER_MODE]: 5 }],
    ['a null tool name', { [GEN_AI_TOOL_NAME]: null }],
    ['a numeric conversation id', { [GEN_AI_CONVERSATION_ID]: 12 }],
    ['string token counts', { [GEN_AI_USAGE_INPUT_TOKENS]: '12', [GEN_AI_USAGE_OUTPUT_TOKENS]: 'many' }],
  ])('reads spans with %s without throwing', (_label, attributes) => {
    const spans = write((w) => {
      w.agent('a', () => w.tool('transfer_to_b'));
      w.agent('b');
    });
    let derived = spans;
    for (const span of spans) if (span.name !== 'invoke_agent b') derived = setAttributes(derived, span.spanId, attributes);
    const { model } = read(derived);
    expect(model.handoffs.length).toBeLessThanOrEqual(1);
    expect(model.agentRuns.map((r) => r.agent)).toEqual(['a', 'b']);
  });

  it('does not hang on a parent cycle, nor on a span that is its own parent', () => {
    const spans = write((w) => {
      w.agent('a', () => w.span('framework step', {}, () => w.tool('transfer_to_b')));
      w.agent('b', () => w.tool('transfer_to_c', {}, () => w.agent('c')));
    });
    const step = named(spans, 'framework step');
    const tool = named(spans, 'execute_tool transfer_to_b');
    const runB = named(spans, 'invoke_agent b');
    const cyclic = spans.map((s) => {
      if (s.spanId === step.spanId) return { ...s, parentSpanId: tool.spanId }; // tool → step → tool
      if (s.spanId === runB.spanId) return { ...s, parentSpanId: s.spanId };
      return s;
    });
    const { model } = read(cyclic);
    // The tool is no longer inside any run: no source. b's tool still hands off to c.
    expect(edges(model)).toEqual(['b → c']);
  });

  it('does not hang on a tool whose parent chain enters a loop above it', () => {
    const spans = write((w) => {
      w.agent('a', () => w.span('outer', {}, () => w.span('inner', {}, () => w.tool('transfer_to_b'))));
      w.agent('b');
    });
    const outer = named(spans, 'outer');
    const inner = named(spans, 'inner');
    const looped = spans.map((s) => (s.spanId === outer.spanId ? { ...s, parentSpanId: inner.spanId } : s)); // inner ⇄ outer
    const r = read(looped);
    expect(r.model.handoffs).toEqual([]);
    expect(reasonOf(r, named(spans, 'execute_tool transfer_to_b'))).toMatch(/source agent is unknown/);
  });

  it('walks a very deep parent chain without overflowing the stack', () => {
    const spans = write((w) => {
      w.agent('root', () => w.span('step', {}, () => w.tool('transfer_to_leaf')));
      w.agent('leaf');
    });
    // Deepen root → step → tool into root → step → 50 000 copies of step → tool.
    const step = named(spans, 'step');
    const depth = 50_000;
    const copies: SpanRecord[] = [];
    for (let i = 0; i < depth; i++) {
      copies.push({ ...step, spanId: `deep${i.toString(16).padStart(12, '0')}`, parentSpanId: i === 0 ? step.spanId : copies[i - 1]!.spanId });
    }
    const deep = spans.map((s) => (s.name === 'execute_tool transfer_to_leaf' ? { ...s, parentSpanId: copies[depth - 1]!.spanId } : s));
    expect(edges(read([...deep, ...copies]).model)).toEqual(['root → leaf']);
  });
});

describe('dialect priority', () => {
  it('leaves Baton SDK spans (baton.operation plus gen_ai.operation.name) to the baton dialect', async () => {
    const otel = createOtelHarness();
    harnesses.push(otel);
    const baton = new Baton({ tracer: otel.tracer, meter: otel.meter });
    baton.runAgent('research', () => undefined, { taskId: 't-1' });
    const spans = toSpanRecords(otel.spans());
    expect(otelGenAiDialect.claims(spans[0]!)).toBe(true);
    const { model } = read(spans);
    expect(model.dialects.map((d) => d.id)).toEqual(['baton']);
    expect(model.agentRuns.map((r) => [r.agent, r.dialect])).toEqual([['research', 'baton']]);
    // Offered only the GenAI dialect, the same span reads as a GenAI run.
    expect(buildHandoffModel(spans, { dialects: [otelGenAiDialect] }).agentRuns.map((r) => r.dialect)).toEqual(['otel-genai']);
  });

  it('names as the source of a GenAI transfer the Baton agent run it happens in', () => {
    const otel = createOtelHarness();
    harnesses.push(otel);
    const baton = new Baton({ tracer: otel.tracer, meter: otel.meter });
    baton.runAgent('research', () => {
      otel.tracer.startSpan('execute_tool transfer_to_writer', { attributes: { [GEN_AI_OPERATION_NAME]: 'execute_tool', [GEN_AI_TOOL_NAME]: 'transfer_to_writer' } }).end();
    });
    const handoff = only(read(toSpanRecords(otel.spans())).model);
    expect(handoff).toMatchObject({ source: 'research', target: 'writer', dialect: 'otel-genai' });
  });
});

describe('normalizeAgentName', () => {
  it.each([
    ['Billing Agent', 'billing_agent'],
    ['billing-agent', 'billing_agent'],
    ['  Billing   Agent! ', 'billing_agent'],
    ['Agent Ünïcode', 'agent_ünïcode'],
    ['__proto__', 'proto'],
    ['!!!', '!!!'],
  ])('%s → %s', (name, key) => {
    expect(normalizeAgentName(name)).toBe(key);
  });
});

describe('targetFromArguments', () => {
  it.each<[AttributeValue | undefined, string | undefined]>([
    ['{"agent_name":"refunds"}', 'refunds'],
    ['{"target_agent":"refunds","agent":"other"}', 'other'],
    [undefined, undefined],
    [null, undefined],
    ['', undefined],
    ['not json', undefined],
    ['{"agent_name": 3}', undefined],
    ['"\\"oops\\""', undefined],
    [`{"agent_name":"${'x'.repeat(10)}"}`, 'xxxxxxxxxx'],
  ])('%j → %j', (value, target) => {
    expect(targetFromArguments(value)).toBe(target);
  });
});
