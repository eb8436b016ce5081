/**
 * The ag2 dialect on small traces written as AG2's instrumentation writes them (Python-style
 * spans through the real OTel SDK, fixtures/frameworks/python/py-span.ts): each behaviour the
 * constructed AG2 runs (fixtures/frameworks/python/ag2-*.json) rely on, and its near miss.
 */
import { context, ROOT_CONTEXT, SpanStatusCode, trace, type Attributes, type Tracer } from '@opentelemetry/api';
import { afterEach, describe, expect, it } from 'vitest';
import { ag2Dialect } from '../../../src/analyze/dialects/ag2.js';
import { buildHandoffModel } from '../../../src/analyze/build-model.js';
import { auditSpans } from '../../../src/analyze/audit.js';
import type { HandoffModel } from '../../../src/model/handoff-model.js';
import type { SpanRecord } from '../../../src/model/span-record.js';
import { AG2_SCOPE } from '../../../fixtures/frameworks/python/ag2.js';
import { PyError, pySpan } from '../../../fixtures/frameworks/python/py-span.js';
import { createOtelHarness, type OtelHarness } from '../../helpers/otel.js';
import { toSpanRecords } from '../../helpers/traces.js';

const harnesses: OtelHarness[] = [];
afterEach(async () => {
  for (const harness of harnesses.splice(0)) await harness.shutdown();
});

function tracerOf(scope = AG2_SCOPE): { tracer: Tracer; read: () => SpanRecord[] } {
  const otel = createOtelHarness();
  harnesses.push(otel);
  return { tracer: otel.provider.getTracer(scope, '0.14.0'), read: () => toSpanRecords(otel.spans()) };
}

const conversation = (sender: string, extra: Attributes = {}): Attributes => ({ 'ag2.span.type': 'conversation', 'gen_ai.operation.name': 'conversation', 'gen_ai.agent.name': sender, ...extra });
const agent = (name: string, extra: Attributes = {}): Attributes => ({ 'ag2.span.type': 'agent', 'gen_ai.operation.name': 'invoke_agent', 'gen_ai.agent.name': name, ...extra });
const tool = (name: string, extra: Attributes = {}): Attributes => ({ 'ag2.span.type': 'tool', 'gen_ai.operation.name': 'execute_tool', 'gen_ai.tool.name': name, 'gen_ai.tool.type': 'function', ...extra });
const selection = (selected: string, candidates: readonly string[]): Attributes => ({
  'ag2.span.type': 'speaker_selection',
  'gen_ai.operation.name': 'speaker_selection',
  'ag2.speaker_selection.candidates': JSON.stringify(candidates),
  'ag2.speaker_selection.selected': selected,
});
const chats = (recipients: readonly string[], extra: Attributes = {}): Attributes => ({
  'ag2.span.type': 'multi_conversation',
  'gen_ai.operation.name': 'initiate_chats',
  'ag2.chats.count': recipients.length,
  'ag2.chats.mode': 'sequential',
  'ag2.chats.recipients': JSON.stringify(recipients),
  ...extra,
});

const none = async (): Promise<void> => undefined;
/** `invoke_agent {name}`, `body` inside it. */
const turn = (t: Tracer, name: string, body: () => Promise<void> = none, extra: Attributes = {}) => pySpan(t, `invoke_agent ${name}`, { attributes: agent(name, extra) }, body);
/** The group's tool executor running `tools` (name → ok). */
const executor = (t: Tracer, tools: readonly [string, boolean][]) =>
  turn(t, '_Group_Tool_Executor', async () => {
    for (const [name, ok] of tools) await pySpan(t, `execute_tool ${name}`, { attributes: tool(name, ok ? {} : { 'error.type': 'ExecutionError' }) }, none);
  });
/** `conversation {sender}` with a group chat in `chat_manager`'s turn. */
const group = (t: Tracer, sender: string, body: () => Promise<void>, id = 'chat-1') => pySpan(t, `conversation ${sender}`, { attributes: conversation(sender, { 'gen_ai.conversation.id': id }) }, () => turn(t, 'chat_manager', body));

function edgesOf(model: HandoffModel): string[] {
  return model.handoffs.map((h) => `${h.source} → ${h.target} ×${h.sendCount}${h.inferred ? '' : ' declared'}${h.receives.length > 0 ? '' : ' (no arrival)'}`);
}

function ignoredReasons(spans: readonly SpanRecord[]): Record<string, string> {
  const out: Record<string, string> = {};
  buildHandoffModel(spans, { onIgnored: (_d, ignored) => void (out[ignored.span.name] ??= ignored.reason) });
  return out;
}

describe('ag2Dialect.claims', () => {
  it('claims the spans AG2 marks with ag2.span.type, and a2a-execution in its scope; near miss: not its model calls, nor another scope’s a2a-execution', async () => {
    const { tracer, read } = tracerOf();
    await pySpan(tracer, 'conversation user_proxy', { attributes: conversation('user_proxy') }, () =>
      turn(tracer, 'assistant', () => pySpan(tracer, 'chat gpt-4o-mini', { attributes: { 'ag2.span.type': 'llm', 'gen_ai.operation.name': 'chat' } }, none)),
    );
    await pySpan(tracer, 'a2a-execution', {}, none);
    const other = tracerOf('a2a-python-sdk');
    await pySpan(other.tracer, 'a2a-execution', {}, none);
    await pySpan(other.tracer, 'invoke_agent assistant', { attributes: { 'gen_ai.operation.name': 'invoke_agent', 'gen_ai.agent.name': 'assistant' } }, none);
    const claimed = [...read(), ...other.read()].filter((s) => ag2Dialect.claims(s)).map((s) => `${s.name} (${s.scopeName})`);
    expect(claimed.sort()).toEqual([`a2a-execution (${AG2_SCOPE})`, `conversation user_proxy (${AG2_SCOPE})`, `invoke_agent assistant (${AG2_SCOPE})`]);
  });
});

describe('two-agent chats', () => {
  it('reads each turn as a handoff from the agent before it, the first from the sender at the conversation span; near miss: an agent speaking twice in a row hands nothing to itself', async () => {
    const { tracer, read } = tracerOf();
    await pySpan(tracer, 'conversation user_proxy', { attributes: conversation('user_proxy', { 'gen_ai.conversation.id': '42' }) }, async () => {
      await turn(tracer, 'assistant');
      await turn(tracer, 'user_proxy');
      await turn(tracer, 'user_proxy');
      await turn(tracer, 'assistant');
    });
    const spans = read();
    const model = buildHandoffModel(spans);
    expect(edgesOf(model)).toEqual(['user_proxy → assistant ×1', 'assistant → user_proxy ×1', 'user_proxy → assistant ×1']);
    expect(model.handoffs[0]!.send!.spanId).toBe(spans.find((s) => s.name === 'conversation user_proxy')!.spanId);
    expect(model.handoffs.map((h) => [h.mode, h.taskId])).toEqual([
      ['pass_control', '42'],
      ['pass_control', '42'],
      ['pass_control', '42'],
    ]);
    expect(model.agentRuns.map((r) => r.dialect)).toEqual(['ag2', 'ag2', 'ag2', 'ag2']);
  });

  it('a chat whose recipient left no run (not instrumented) hands off nothing, and --explain says so', async () => {
    const { tracer, read } = tracerOf();
    await pySpan(tracer, 'conversation user_proxy', { attributes: conversation('user_proxy') }, none);
    const spans = read();
    expect(buildHandoffModel(spans).handoffs).toEqual([]);
    expect(ignoredReasons(spans)['conversation user_proxy']).toMatch(/^a chat whose first message went to no agent run/);
  });

  it('a failing turn is a failed run, its handoff still delivered', async () => {
    const { tracer, read } = tracerOf();
    await pySpan(tracer, 'conversation user_proxy', { attributes: conversation('user_proxy') }, () =>
      turn(tracer, 'assistant', async () => {
        throw new PyError('RateLimitError', 'Error code: 429');
      }),
    ).catch(() => undefined);
    const model = buildHandoffModel(read());
    expect(edgesOf(model)).toEqual(['user_proxy → assistant ×1']);
    expect(model.agentRuns.map((r) => `${r.agent}: ${r.outcome}`)).toEqual(['assistant: failed']);
  });
});

describe('group chats', () => {
  it('reads the manager’s turn as the container of the speakers’ turns: no run or edge for the manager or the tool executor', async () => {
    const { tracer, read } = tracerOf();
    await group(tracer, 'user', async () => {
      await turn(tracer, 'planner');
      await turn(tracer, 'writer');
      await executor(tracer, [['search_notes', true]]);
      await turn(tracer, 'writer');
    });
    const spans = read();
    const model = buildHandoffModel(spans);
    expect(edgesOf(model)).toEqual(['user → planner ×1', 'planner → writer ×1']);
    expect(model.agentRuns.map((r) => r.agent)).toEqual(['planner', 'writer', 'writer']);
    const reasons = ignoredReasons(spans);
    expect(reasons['invoke_agent chat_manager']).toMatch(/runs the group chat \(GroupChatManager\.run_chat\)/);
    expect(reasons['invoke_agent _Group_Tool_Executor']).toMatch(/^the group's tool executor/);
    expect(reasons['execute_tool search_notes']).toMatch(/^a tool the group's tool executor ran/);
  });

  it('a manager with a single speaker is still a container; near miss: an agent whose only inner run is its own remote call is a speaker', async () => {
    const { tracer, read } = tracerOf();
    await group(tracer, 'user', () => turn(tracer, 'triage'));
    await pySpan(tracer, 'conversation user', { attributes: conversation('user') }, () =>
      turn(tracer, 'tech_agent', () => turn(tracer, 'tech_agent', none, { 'gen_ai.agent.remote': true, 'server.address': 'http://localhost:18123/' })),
    );
    const model = buildHandoffModel(read());
    expect(edgesOf(model)).toEqual(['user → triage ×1', 'user → tech_agent ×1']);
    expect(model.agentRuns.map((r) => r.agent)).toEqual(['triage', 'tech_agent']);
  });

  it('reads the transitions without the manager’s turn (instrument_agent on the speakers, not instrument_pattern), and a manager’s turn without its conversation (the sender not instrumented)', async () => {
    const { tracer, read } = tracerOf();
    await pySpan(tracer, 'conversation user', { attributes: conversation('user') }, async () => {
      await turn(tracer, 'planner');
      await turn(tracer, 'writer');
    });
    await turn(tracer, 'chat_manager', async () => {
      await turn(tracer, 'triage');
      await turn(tracer, 'refunds');
    });
    const model = buildHandoffModel(read());
    expect(edgesOf(model)).toEqual(['user → planner ×1', 'planner → writer ×1', 'triage → refunds ×1']);
    expect(model.agentRuns.map((r) => r.agent)).toEqual(['planner', 'writer', 'triage', 'refunds']);
  });

  it('should AG2 call its run_chat wrapper, the manager’s conversation inside its turn is read as the group’s turns; near miss: a nested chat of two is a delegation', async () => {
    const { tracer, read } = tracerOf();
    await pySpan(tracer, 'conversation user', { attributes: conversation('user') }, () =>
      turn(tracer, 'chat_manager', () =>
        pySpan(tracer, 'conversation chat_manager', { attributes: conversation('chat_manager') }, async () => {
          await turn(tracer, 'triage');
          await turn(tracer, 'refunds');
        }),
      ),
    );
    const spans = read();
    expect(edgesOf(buildHandoffModel(spans))).toEqual(['user → triage ×1', 'triage → refunds ×1']);
    expect(ignoredReasons(spans)['conversation chat_manager']).toMatch(/^chat_manager's run_chat: the group chat's rounds/);
    const nested = tracerOf();
    await pySpan(nested.tracer, 'conversation user', { attributes: conversation('user') }, () =>
      turn(nested.tracer, 'critic', () => pySpan(nested.tracer, 'conversation critic', { attributes: conversation('critic') }, () => turn(nested.tracer, 'reviewer'))),
    );
    expect(buildHandoffModel(nested.read()).handoffs.map((h) => `${h.source} → ${h.target} ${h.mode}`)).toEqual(['user → critic pass_control', 'critic → reviewer return_to_caller']);
  });

  it('AG2’s temporary _User starts the chat with no handoff; near miss: a user agent does hand off', async () => {
    const { tracer, read } = tracerOf();
    await group(tracer, '_User', () => turn(tracer, 'triage'));
    const spans = read();
    expect(buildHandoffModel(spans).handoffs).toEqual([]);
    expect(ignoredReasons(spans)['conversation _User']).toMatch(/temporary user proxy _User sent the first message/);
  });

  it('reads a transition through a transfer tool (inferred, at the tool), a speaker selection naming the next speaker (declared, at the selection), or order alone (inferred, at the turn)', async () => {
    const { tracer, read } = tracerOf();
    await group(tracer, '_User', async () => {
      await turn(tracer, 'triage');
      await executor(tracer, [['transfer_to_billing_agent_1', true]]);
      await turn(tracer, 'billing_agent');
      await pySpan(tracer, 'speaker_selection', { attributes: selection('refunds', ['triage', 'billing_agent', 'refunds']) }, none);
      await turn(tracer, 'refunds');
      await turn(tracer, 'closer');
    });
    const spans = read();
    const model = buildHandoffModel(spans);
    expect(edgesOf(model)).toEqual(['triage → billing_agent ×1', 'billing_agent → refunds ×1 declared', 'refunds → closer ×1']);
    const id = (name: string) => spans.find((s) => s.name === name)!.spanId;
    expect(model.handoffs.map((h) => h.send!.spanId)).toEqual([id('execute_tool transfer_to_billing_agent_1'), id('speaker_selection'), id('invoke_agent closer')]);
    expect(model.handoffs.map((h) => h.receives[0]!.spanId)).toEqual([id('invoke_agent billing_agent'), id('invoke_agent refunds'), id('invoke_agent closer')]);
    // The turn that is its own handoff's evidence stays an agent run.
    expect(model.agentRuns.map((r) => r.agent)).toEqual(['triage', 'billing_agent', 'refunds', 'closer']);
  });

  it('near miss: a selection naming another agent than the next speaker declares nothing, and a transfer to another target is no evidence', async () => {
    const { tracer, read } = tracerOf();
    await group(tracer, '_User', async () => {
      await turn(tracer, 'triage');
      await executor(tracer, [['transfer_to_billing_1', true]]);
      await pySpan(tracer, 'speaker_selection', { attributes: selection('billing', ['triage', 'billing', 'refunds']) }, none);
      await turn(tracer, 'refunds');
    });
    const spans = read();
    const model = buildHandoffModel(spans);
    expect(edgesOf(model)).toEqual(['triage → refunds ×1']);
    expect(model.handoffs[0]!.send!.spanId).toBe(spans.find((s) => s.name === 'invoke_agent refunds')!.spanId);
    expect(ignoredReasons(spans)['speaker_selection']).toMatch(/^the manager selected billing, who did not take the turn/);
  });

  it('the speaker selection’s internal chat is AG2’s machinery: no checking_agent or speaker_selection_agent run', async () => {
    const { tracer, read } = tracerOf();
    await group(tracer, 'user', async () => {
      await turn(tracer, 'triage');
      await pySpan(tracer, 'speaker_selection', { attributes: selection('tech', ['triage', 'tech']) }, () =>
        pySpan(tracer, 'conversation checking_agent', { attributes: conversation('checking_agent') }, async () => {
          await turn(tracer, 'speaker_selection_agent');
          await turn(tracer, 'checking_agent');
        }),
      );
      await turn(tracer, 'tech');
    });
    const spans = read();
    const model = buildHandoffModel(spans);
    expect(edgesOf(model)).toEqual(['user → triage ×1', 'triage → tech ×1 declared']);
    expect(model.agentRuns.map((r) => r.agent)).toEqual(['triage', 'tech']);
    expect(ignoredReasons(spans)['conversation checking_agent']).toMatch(/internal chat/);
  });

  it('transfer_to_revert_to_user_n hands the turn to whoever the user agent is', async () => {
    const { tracer, read } = tracerOf();
    await group(tracer, 'customer', async () => {
      await turn(tracer, 'triage');
      await executor(tracer, [['transfer_to_revert_to_user_1', true]]);
      await turn(tracer, 'customer');
    });
    const spans = read();
    const model = buildHandoffModel(spans);
    expect(edgesOf(model)).toEqual(['customer → triage ×1', 'triage → customer ×1']);
    expect(model.handoffs[1]!.send!.spanId).toBe(spans.find((s) => s.name === 'execute_tool transfer_to_revert_to_user_1')!.spanId);
  });
});

describe('transfers AG2 could not run', () => {
  async function transfers(tools: readonly [string, boolean][][], then: string | undefined): Promise<SpanRecord[]> {
    const { tracer, read } = tracerOf();
    await group(tracer, '_User', async () => {
      for (const batch of tools) {
        await turn(tracer, 'triage');
        await executor(tracer, batch);
      }
      if (then) await turn(tracer, then);
    });
    return read();
  }

  it('a transfer to a name no agent of the chat has is refused: an undelivered handoff from the speaker', async () => {
    const spans = await transfers([[['transfer_to_refund_agent_2', false]]], undefined);
    const model = buildHandoffModel(spans);
    expect(edgesOf(model)).toEqual(['triage → unknown ×1 (no arrival)']);
    expect(model.handoffs[0]!.deliveries?.[0]?.status).toBe('refused: no agent refund_agent in the chat; transfer_to_refund_agent_2 failed (error.type ExecutionError)');
    const report = await auditSpans([spans], { idleMs: 3_600_000 });
    expect(report.findings.filter((f) => f.ruleId === 'undelivered-handoff').map((f) => f.agents?.[0])).toEqual(['triage']);
  });

  it('a failed transfer, then the same transfer reaching its target, is one handoff attempted twice; near miss: not undelivered', async () => {
    const spans = await transfers([[['transfer_to_refunds_2', false]], [['transfer_to_refunds_2', true]]], 'refunds');
    const model = buildHandoffModel(spans);
    expect(edgesOf(model)).toEqual(['triage → refunds ×2']);
    const tools = spans.filter((s) => s.name === 'execute_tool transfer_to_refunds_2').sort((a, b) => a.startMs - b.startMs);
    expect(model.handoffs[0]!.send!.spanId).toBe(tools[0]!.spanId);
    expect(ignoredReasons(spans)['execute_tool transfer_to_refunds_2']).toMatch(/^attempt 2 of the transfer from triage to refunds/);
    const report = await auditSpans([spans], { idleMs: 3_600_000 });
    expect(report.findings.filter((f) => f.ruleId === 'undelivered-handoff')).toEqual([]);
  });

  it('a failed transfer to an agent of the chat (a selection’s candidate) that another speaker followed was not made again: refused, naming it', async () => {
    const { tracer, read } = tracerOf();
    await group(tracer, '_User', async () => {
      await turn(tracer, 'triage');
      await executor(tracer, [['transfer_to_refunds_2', false]]);
      await pySpan(tracer, 'speaker_selection', { attributes: selection('billing', ['triage', 'billing', 'refunds']) }, none);
      await turn(tracer, 'billing');
    });
    const model = buildHandoffModel(read());
    expect(edgesOf(model)).toEqual(['triage → unknown ×1 (no arrival)', 'triage → billing ×1 declared']);
    expect(model.handoffs[0]!.deliveries?.[0]?.status).toBe('refused: the transfer to refunds failed and was not made again; transfer_to_refunds_2 failed (error.type ExecutionError)');
  });

  it('a transfer to TerminateTarget hands nothing on; a transfer whose target never spoke (the chat ended first) is a handoff without arrival', async () => {
    const ended = await transfers([[['transfer_to_terminate_2', true]]], undefined);
    expect(buildHandoffModel(ended).handoffs).toEqual([]);
    expect(ignoredReasons(ended)['execute_tool transfer_to_terminate_2']).toMatch(/TerminateTarget: the group chat ends/);
    const cut = await transfers([[['transfer_to_writer_1', true]]], undefined);
    expect(edgesOf(buildHandoffModel(cut))).toEqual(['triage → writer ×1 (no arrival)']);
  });
});

describe('nested and queued chats', () => {
  it('a chat started inside a turn is a delegation returning to its sender; its own turns pass control', async () => {
    const { tracer, read } = tracerOf();
    await pySpan(tracer, 'conversation critic', { attributes: conversation('critic') }, async () => {
      await turn(tracer, 'writer');
      await turn(tracer, 'critic', () =>
        pySpan(tracer, 'conversation critic', { attributes: conversation('critic') }, async () => {
          await turn(tracer, 'reviewer');
          await turn(tracer, 'critic');
        }),
      );
    });
    const model = buildHandoffModel(read());
    expect(model.handoffs.map((h) => `${h.source} → ${h.target} ${h.mode}`)).toEqual(['critic → writer pass_control', 'writer → critic pass_control', 'critic → reviewer return_to_caller', 'reviewer → critic pass_control']);
  });

  it('a queue of chats: each chat a delegation, declared where ag2.chats.recipients names its recipient; near miss: a list naming another agent declares nothing', async () => {
    const { tracer, read } = tracerOf();
    await pySpan(tracer, 'agent.initiate_chats', { attributes: chats(['researcher', 'writer'], { 'gen_ai.agent.name': 'user_proxy', 'ag2.chats.ids': '["7", "8"]' }) }, () =>
      pySpan(tracer, 'initiate_chats', { attributes: chats(['researcher', 'editor']) }, async () => {
        await pySpan(tracer, 'conversation user_proxy', { attributes: conversation('user_proxy', { 'gen_ai.conversation.id': '7' }) }, () => turn(tracer, 'researcher'));
        await pySpan(tracer, 'conversation user_proxy', { attributes: conversation('user_proxy', { 'gen_ai.conversation.id': '8' }) }, () => turn(tracer, 'writer'));
      }),
    );
    const spans = read();
    const model = buildHandoffModel(spans);
    expect(edgesOf(model)).toEqual(['user_proxy → researcher ×1 declared', 'user_proxy → writer ×1']);
    expect(model.handoffs.map((h) => h.mode)).toEqual(['return_to_caller', 'return_to_caller']);
    // One tree of chats is one task: the outermost chat's id.
    expect(new Set([...model.handoffs.map((h) => h.taskId), ...model.agentRuns.map((r) => r.taskId)])).toEqual(new Set(['7']));
    expect(ignoredReasons(spans)['initiate_chats']).toMatch(/^a queue of chats/);
  });

  it('a queue that failed has no chat ids: no task id at all, not one per chat', async () => {
    const { tracer, read } = tracerOf();
    await pySpan(tracer, 'initiate_chats', { attributes: chats(['researcher', 'editor']) }, async () => {
      await pySpan(tracer, 'conversation user_proxy', { attributes: conversation('user_proxy', { 'gen_ai.conversation.id': '7' }) }, () => turn(tracer, 'researcher'));
      await pySpan(tracer, 'conversation user_proxy', { attributes: conversation('user_proxy') }, () =>
        turn(tracer, 'editor', async () => {
          throw new PyError('RateLimitError', '429');
        }),
      );
    }).catch(() => undefined);
    const model = buildHandoffModel(read());
    expect(edgesOf(model)).toEqual(['user_proxy → researcher ×1 declared', 'user_proxy → editor ×1 declared']);
    expect([...model.handoffs.map((h) => h.taskId), ...model.agentRuns.map((r) => r.taskId)]).toEqual([undefined, undefined, undefined, undefined]);
  });
});

describe('A2A remote agents', () => {
  it('the caller’s turn, its remote call and the server’s run are one run, counted at the caller; near miss: the server’s run alone is a run', async () => {
    const { tracer, read } = tracerOf();
    await pySpan(tracer, 'conversation user', { attributes: conversation('user') }, () =>
      turn(tracer, 'tech_agent', () =>
        turn(tracer, 'tech_agent', () => pySpan(tracer, 'a2a-execution', {}, () => turn(tracer, 'tech_support')), { 'gen_ai.agent.remote': true, 'server.address': 'http://localhost:18123/' }),
      ),
    );
    const spans = read();
    const model = buildHandoffModel(spans);
    expect(edgesOf(model)).toEqual(['user → tech_agent ×1']);
    expect(model.agentRuns.map((r) => r.agent)).toEqual(['tech_agent']);
    expect(ignoredReasons(spans)['invoke_agent tech_support']).toMatch(/turn on its A2A server: the caller's turn, counted once there/);

    const server = tracerOf();
    await pySpan(server.tracer, 'a2a-execution', {}, () => turn(server.tracer, 'tech_support'));
    expect(buildHandoffModel(server.read()).agentRuns.map((r) => r.agent)).toEqual(['tech_support']);
  });
});

// ---------------------------------------------------------------------------------------------
// OpenInference's AG2 instrumentation (openinference-instrumentation-ag2 `_wrappers.py`).

const OI_SCOPE = 'openinference.instrumentation.ag2';
const oiChat = (sender: string, recipient: string): Attributes => ({ 'openinference.span.kind': 'AGENT', 'agent.name': sender, 'ag2.recipient.name': recipient });
const oiReply = (name: string, sender: string): Attributes => ({ 'openinference.span.kind': 'AGENT', 'agent.name': name, 'ag2.sender.name': sender });
const oiTool = (name: string, executor: string): Attributes => ({ 'openinference.span.kind': 'TOOL', 'tool.name': name, 'tool_call.function.name': name, 'agent.name': executor });

describe('OpenInference AG2Instrumentor spans', () => {
  /** `_User.initiate_chat` → the manager's reply → triage (a transfer tool), the checking_agent chat, refunds. */
  async function groupChat(scope: string, transferOk = true): Promise<SpanRecord[]> {
    const { tracer, read } = tracerOf(scope);
    await pySpan(tracer, '_User.initiate_chat', { attributes: oiChat('_User', 'chat_manager') }, () =>
      pySpan(tracer, 'chat_manager.generate_reply', { attributes: oiReply('chat_manager', '_User') }, async () => {
        await pySpan(tracer, 'triage.generate_reply', { attributes: oiReply('triage', 'chat_manager') }, none);
        await pySpan(tracer, '_Group_Tool_Executor.generate_reply', { attributes: oiReply('_Group_Tool_Executor', 'chat_manager') }, () =>
          pySpan(tracer, 'transfer_to_refunds_1', { attributes: oiTool('transfer_to_refunds_1', '_Group_Tool_Executor') }, async () => {
            if (!transferOk) throw new PyError('Exception', 'tool execution failed');
          }).catch(() => undefined),
        );
        // AutoPattern's selection chat: AG2 machinery, never a speaker.
        await pySpan(tracer, 'checking_agent.initiate_chat', { attributes: oiChat('checking_agent', 'speaker_selection_agent') }, () =>
          pySpan(tracer, 'speaker_selection_agent.generate_reply', { attributes: oiReply('speaker_selection_agent', 'checking_agent') }, none),
        );
        await pySpan(tracer, 'refunds.generate_reply', { attributes: oiReply('refunds', 'chat_manager') }, none);
      }),
    );
    return read();
  }

  it('reads a group chat’s turns as AG2’s own spans are read: a transfer tool is the evidence, the selection chat is machinery', async () => {
    const spans = await groupChat(OI_SCOPE);
    const model = buildHandoffModel(spans);
    expect(edgesOf(model)).toEqual(['triage → refunds ×1']);
    expect(model.handoffs[0]!.send!.spanId).toBe(spans.find((s) => s.name === 'transfer_to_refunds_1')!.spanId);
    expect(model.agentRuns.map((r) => [r.agent, r.dialect])).toEqual([
      ['triage', 'ag2'],
      ['refunds', 'ag2'],
    ]);
    expect(ignoredReasons(spans)['speaker_selection_agent.generate_reply']).toMatch(/speaker selection's internal chat/);
  });

  it('near miss: a failed transfer tool (ERROR, is_success False) is an attempt, not the evidence; the next speaker is read from order', async () => {
    const model = buildHandoffModel(await groupChat(OI_SCOPE, false));
    expect(edgesOf(model)).toEqual(['triage → refunds ×2']);
  });

  it('near miss: the same span shapes from another OpenInference scope are not AG2’s (left to the openinference dialect, which reads nothing)', async () => {
    const spans = await groupChat('openinference.instrumentation.agno');
    const other = spans.map((s) => ({ ...s, attributes: Object.fromEntries(Object.entries(s.attributes).filter(([k]) => !k.startsWith('ag2.'))) }));
    expect(other.some((s) => ag2Dialect.claims(s))).toBe(false);
    // Without a scope (the Python SDK's console JSON), AG2's own attributes still tell its AGENT spans apart.
    const unscoped = spans.map((s) => ({ ...s, scopeName: '' }));
    expect(unscoped.filter((s) => ag2Dialect.claims(s)).map((s) => s.name)).not.toContain('transfer_to_refunds_1');
    expect(unscoped.filter((s) => ag2Dialect.claims(s)).map((s) => s.name)).toContain('triage.generate_reply');
  });
});

// ---------------------------------------------------------------------------------------------
// AG2 1.0 (autogen.beta → ag2): TelemetryMiddleware turns, subagent tools, the hub's envelopes.

const BETA_SCOPE = 'opentelemetry.instrumentation.ag2';
const envelope = (id: string, sender: string, extra: Attributes = {}): Attributes => ({
  'ag2.span.type': 'envelope',
  'ag2.network.channel_id': 'ch-1',
  'ag2.network.sender_id': sender,
  'ag2.network.event_type': 'ag2.packet',
  'ag2.network.envelope_id': id,
  ...extra,
});
const executeTool = (name: string): Attributes => ({ 'ag2.span.type': 'tool', 'gen_ai.operation.name': 'execute_tool', 'gen_ai.tool.name': name, 'gen_ai.tool.type': 'function' });

describe('AG2 1.0 subagent tools (Agent.as_tool)', () => {
  /** coordinator calls task_analyst `attempts` times; each run but the last raises (run_task answers "Sub-task failed"). */
  async function delegations(attempts: number, tool = 'task_analyst'): Promise<SpanRecord[]> {
    const { tracer, read } = tracerOf(BETA_SCOPE);
    await turn(tracer, 'coordinator', async () => {
      for (let i = 0; i < attempts; i++) {
        await pySpan(tracer, `execute_tool ${i === 0 ? 'task_analyst' : tool}`, { attributes: executeTool(i === 0 ? 'task_analyst' : tool) }, () =>
          turn(tracer, 'analyst', async () => {
            if (i < attempts - 1) throw new PyError('RateLimitError', '429');
          }).catch(() => undefined),
        );
      }
    });
    return read();
  }

  it('a run inside another agent’s tool call is a delegation returning to it (inferred); a failed sub-task called again is one handoff attempted twice', async () => {
    const spans = await delegations(2);
    const model = buildHandoffModel(spans);
    expect(edgesOf(model)).toEqual(['coordinator → analyst ×2']);
    expect(model.handoffs[0]!.mode).toBe('return_to_caller');
    expect(model.agentRuns.map((r) => `${r.agent} ${r.outcome}`).sort()).toEqual(['analyst completed', 'analyst failed', 'coordinator completed']);
  });

  it('near miss: a second call through another tool is a delegation of its own', async () => {
    expect(edgesOf(buildHandoffModel(await delegations(2, 'task_analyst_v2')))).toEqual(['coordinator → analyst ×1', 'coordinator → analyst ×1']);
  });
});

describe('AG2 1.0 hub envelopes', () => {
  /** A seed from user-1 (no turn), writer's turn on it, writer's packet (causation: the seed) with critic's turn on it. */
  async function exchange(options: { causation?: boolean; failures?: number } = {}): Promise<SpanRecord[]> {
    const { tracer, read } = tracerOf(BETA_SCOPE);
    const inEnvelope = async (id: string, sender: string, extra: Attributes, agent?: string, failures = 0) => {
      const span = tracer.startSpan(`network.envelope ${String(extra['ag2.network.event_type'] ?? 'ag2.packet')}`, { attributes: envelope(id, sender, extra) }, ROOT_CONTEXT);
      if (failures > 0) {
        span.setAttribute('ag2.network.dispatch_failures', failures);
        span.setStatus({ code: SpanStatusCode.ERROR, message: `${failures} dispatch failure(s)` });
      }
      span.end();
      if (agent) await context.with(trace.setSpan(ROOT_CONTEXT, span), () => turn(tracer, agent));
    };
    await inEnvelope('env-1', 'user-1', { 'ag2.network.event_type': 'ag2.msg.text' }, 'writer');
    await inEnvelope('env-2', 'writer-1', options.causation === false ? {} : { 'ag2.network.causation_id': 'env-1' }, 'critic', options.failures);
    return read();
  }

  it('an envelope hands the turn from its sender (named by the turn its causation started) to the turn it started, declared; the seed is the task’s entry', async () => {
    const spans = await exchange();
    const model = buildHandoffModel(spans);
    expect(edgesOf(model)).toEqual(['writer → critic ×1 declared']);
    expect(model.handoffs[0]!.taskId).toBe('ch-1');
    expect(ignoredReasons(spans)['network.envelope ag2.msg.text']).toMatch(/^ag2\.msg\.text from agent id user-1, posted outside any traced turn .*the task's entry, not evaluated as a handoff$/);
  });

  it('near miss: without the causation id no turn names the sender, and nothing is made up', async () => {
    const spans = await exchange({ causation: false });
    expect(buildHandoffModel(spans).handoffs).toEqual([]);
    expect(ignoredReasons(spans)['network.envelope ag2.packet']).toMatch(/from agent id writer-1, posted outside any traced turn/);
  });

  it('a delivery the hub could not make is an undelivered handoff from the sender', async () => {
    const model = buildHandoffModel(await exchange({ failures: 1 }));
    expect(edgesOf(model)).toEqual(['writer → critic ×1 declared', 'writer → unknown ×1 declared (no arrival)']);
    expect(model.handoffs[1]!.deliveries![0]!.status).toMatch(/^refused: the hub could not deliver ag2\.packet to a recipient/);
  });
});
