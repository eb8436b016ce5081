/**
 * The `vercel-ai` dialect: spans the Vercel AI SDK 5 and 6 write with
 * `experimental_telemetry` (tracer `ai`): `ai.generateText` / `ai.streamText` /
 * `ai.generateObject` / `ai.streamObject` around `.doGenerate` / `.doStream` model
 * calls and `ai.toolCall` tool executions. docs/frameworks.md ("Vercel AI SDK")
 * lists what is read. Version 7's OpenTelemetry integration (`@ai-sdk/otel`) writes
 * GenAI-convention spans instead, which the `otel-genai` dialect reads.
 *
 * - An agent run is a generate/stream call named by `ai.telemetry.functionId`
 *   (else `ai.telemetry.metadata.agent`, `agentName`, `agent_name`, `agentId` or
 *   `agent_id`). A call without a name is ignored with the reason: which agent ran
 *   is unknown.
 * - The SDK has no handoff primitive: an agent delegates through a tool whose
 *   `execute` runs another agent, so the callee's run is nested in the caller's
 *   `ai.toolCall` and control returns to the caller when the tool returns. Each
 *   named run whose nearest enclosing tool call or named run is a tool call is a
 *   transfer from the agent owning that tool call (its nearest named run, else
 *   the tool call's own `ai.telemetry.functionId`), mode `return_to_caller`,
 *   inferred, arriving at the nested run. Delegation may go arbitrarily deep.
 * - A failed tool call (status ERROR) that ran no agent, followed in the same run
 *   by a delegation through the same tool, is that delegation's earlier attempt:
 *   the earliest span is the send and `sendCount` counts the attempts. So is a
 *   failed tool call whose callee ran and threw, when the same run calls the same
 *   tool to the same agent again (the model retrying it): one handoff, its
 *   arrival the callee's first run; the failed run stays a failed agent run. A
 *   retry starts after the failed call ended: calls of one tool running at once
 *   (the model asking twice in one step) are handoffs of their own.
 * - Tool calls that run no agent are ignored (not delegations); model calls
 *   (`.doGenerate`, `.doStream`, embeddings) stay unclaimed, timing only.
 *
 * Linear in the group's spans but for a sort of the tool calls; every walk up a
 * parent chain is bounded and cycle-safe.
 *
 * @see https://ai-sdk.dev/docs/ai-sdk-core/telemetry
 */
import {
  AI_OPERATION_ID,
  AI_TELEMETRY_FUNCTION_ID,
  AI_TELEMETRY_METADATA_PREFIX,
  AI_TOOL_CALL_NAME,
  AI_USAGE_COMPLETION_TOKENS,
  AI_USAGE_INPUT_TOKENS,
  AI_USAGE_OUTPUT_TOKENS,
  AI_USAGE_PROMPT_TOKENS,
} from '../../model/attributes.js';
import { StatusCodeNumber, type SpanRecord } from '../../model/span-record.js';
import { compareByStart } from '../span-index.js';
import { put, readName, readNumber, type Attributes } from './attribute-readers.js';
import type { AgentRunPart, Dialect, DialectContext, DialectResult, HandoffPart, IgnoredSpan, Mutable, TransferPart } from './dialect.js';
import { NearestAncestor } from './nearest-ancestor.js';

const TOOL_CALL = 'ai.toolCall';
/** The calls that are an agent's run (the top-level operations, not their model calls). */
const RUN_OPERATIONS: ReadonlySet<string> = new Set(['ai.generateText', 'ai.streamText', 'ai.generateObject', 'ai.streamObject']);
/** `experimental_telemetry.metadata` keys that name the agent when no functionId does, in preference order. */
const AGENT_METADATA_KEYS: readonly string[] = ['agent', 'agentName', 'agent_name', 'agentId', 'agent_id'].map((k) => AI_TELEMETRY_METADATA_PREFIX + k);
/** Metadata keys read as the task id. */
const TASK_METADATA_KEYS: readonly string[] = ['taskId', 'task_id', 'conversationId', 'conversation_id', 'sessionId', 'session_id', 'threadId', 'thread_id'].map(
  (k) => AI_TELEMETRY_METADATA_PREFIX + k,
);

function operationOf(span: SpanRecord): string | undefined {
  return readName(span.attributes, AI_OPERATION_ID);
}

/** The agent a span names: `ai.telemetry.functionId`, else an agent key of the telemetry metadata. */
export function vercelAgentOf(attrs: Attributes): string | undefined {
  const id = readName(attrs, AI_TELEMETRY_FUNCTION_ID);
  if (id !== undefined) return id;
  for (let i = 0; i < AGENT_METADATA_KEYS.length; i++) {
    const name = readName(attrs, AGENT_METADATA_KEYS[i]!);
    if (name !== undefined) return name;
  }
  return undefined;
}

function taskIdOf(attrs: Attributes): string | undefined {
  for (let i = 0; i < TASK_METADATA_KEYS.length; i++) {
    const id = readName(attrs, TASK_METADATA_KEYS[i]!);
    if (id !== undefined) return id;
  }
  return undefined;
}

interface Run {
  readonly span: SpanRecord;
  readonly agent: string;
  readonly taskId: string | undefined;
}

interface Delegation {
  readonly tool: SpanRecord;
  readonly toolName: string;
  readonly source: string;
  /** The caller's run span id (or its name when the tool runs outside any named run): attempts are matched per caller run. */
  readonly sourceKey: string;
  readonly run: Run;
  readonly taskId: string | undefined;
}

class Interpretation {
  readonly parts: HandoffPart[] = [];
  readonly ignored: IgnoredSpan[] = [];
  readonly #context: DialectContext;
  readonly #runs = new Map<string, Run>();
  readonly #tools = new Map<string, SpanRecord>();
  /** Runs with no agent name: a tool call holding one delegated to an agent that is not named. */
  readonly #unnamed: SpanRecord[] = [];
  /**
   * The tool call or named run above a span, and the named run above it, each walked once per span
   * for all below it (agents calling agents from tools nest; a tool outside any named run walked to
   * the root). Both maps are complete before the first question.
   */
  readonly #toolOrRunAbove: NearestAncestor;
  readonly #runAbove: NearestAncestor;

  constructor(context: DialectContext) {
    this.#context = context;
    this.#toolOrRunAbove = new NearestAncestor(context, (span) => this.#tools.has(span.spanId) || this.#runs.has(span.spanId));
    this.#runAbove = new NearestAncestor(context, (span) => this.#runs.has(span.spanId));
  }

  #ignore(span: SpanRecord, reason: string): void {
    this.ignored.push({ span, reason });
  }

  run(spans: readonly SpanRecord[]): DialectResult {
    for (let i = 0; i < spans.length; i++) {
      const span = spans[i]!;
      const op = operationOf(span);
      if (op === TOOL_CALL) {
        this.#tools.set(span.spanId, span);
        continue;
      }
      if (op === undefined || !RUN_OPERATIONS.has(op)) continue;
      const agent = vercelAgentOf(span.attributes);
      if (agent === undefined) {
        this.#ignore(span, `${op} without ${AI_TELEMETRY_FUNCTION_ID} (set experimental_telemetry.functionId to the agent's name): which agent ran is unknown`);
        this.#unnamed.push(span);
        continue;
      }
      if (!this.#runs.has(span.spanId)) this.#runs.set(span.spanId, { span, agent, taskId: taskIdOf(span.attributes) });
    }
    const delegations = this.#readNesting();
    this.#emitDelegations(delegations);
    const runs = [...this.#runs.values()].sort((a, b) => compareByStart(a.span, b.span));
    for (let i = 0; i < runs.length; i++) {
      const run = runs[i]!;
      const attrs = run.span.attributes;
      const part: Mutable<AgentRunPart> = { type: 'agent-run', span: run.span, agent: run.agent, outcome: run.span.statusCode === StatusCodeNumber.Error ? 'failed' : 'completed' };
      put(part, 'taskId', run.taskId);
      put(part, 'inputTokens', readNumber(attrs, AI_USAGE_INPUT_TOKENS) ?? readNumber(attrs, AI_USAGE_PROMPT_TOKENS));
      put(part, 'outputTokens', readNumber(attrs, AI_USAGE_OUTPUT_TOKENS) ?? readNumber(attrs, AI_USAGE_COMPLETION_TOKENS));
      this.parts.push(part);
    }
    return { parts: this.parts, ignored: this.ignored };
  }

  /** The nearest ancestor that is a tool call or a named run (spans of any dialect in between). */
  #enclosing(span: SpanRecord): { tool?: SpanRecord; run?: Run } {
    const above = this.#toolOrRunAbove.of(span);
    if (!above) return {};
    const tool = this.#tools.get(above.spanId);
    if (tool) return { tool };
    return { run: this.#runs.get(above.spanId)! };
  }

  #ownerOf(span: SpanRecord): Run | undefined {
    const above = this.#runAbove.of(span);
    return above ? this.#runs.get(above.spanId) : undefined;
  }

  /** Named runs nested in a tool call: delegations. */
  #readNesting(): Delegation[] {
    const out: Delegation[] = [];
    const withRuns = new Set<string>();
    for (const run of this.#runs.values()) {
      const { tool } = this.#enclosing(run.span);
      if (!tool) continue;
      withRuns.add(tool.spanId);
      const owner = this.#ownerOf(tool);
      const source = owner?.agent ?? vercelAgentOf(tool.attributes);
      const toolName = readName(tool.attributes, AI_TOOL_CALL_NAME) ?? tool.name;
      if (source === undefined) {
        this.#ignore(tool, `tool ${toolName} ran agent ${run.agent} outside any named run and without ${AI_TELEMETRY_FUNCTION_ID}: the delegating agent is unknown`);
        continue;
      }
      out.push({
        tool,
        toolName,
        source,
        sourceKey: owner ? `run:${owner.span.spanId}` : `agent:${source}`,
        run,
        taskId: taskIdOf(tool.attributes) ?? owner?.taskId ?? run.taskId,
      });
    }
    let unnamedIn: Set<string> | undefined;
    for (let i = 0; i < this.#unnamed.length; i++) {
      const { tool } = this.#enclosing(this.#unnamed[i]!);
      if (tool) (unnamedIn ??= new Set()).add(tool.spanId);
    }
    // Tool calls that ran no agent: failed ones may be a delegation's earlier attempts (matched below).
    this.#pendingFailures.length = 0;
    for (const tool of this.#tools.values()) {
      if (withRuns.has(tool.spanId)) continue;
      const toolName = readName(tool.attributes, AI_TOOL_CALL_NAME) ?? tool.name;
      if (tool.statusCode === StatusCodeNumber.Error) {
        const owner = this.#ownerOf(tool);
        const source = owner?.agent ?? vercelAgentOf(tool.attributes);
        this.#pendingFailures.push({ tool, toolName, sourceKey: owner ? `run:${owner.span.spanId}` : `agent:${String(source)}` });
      } else if (unnamedIn?.has(tool.spanId)) {
        this.#ignore(tool, `tool ${toolName} ran a model call with no agent name (no ${AI_TELEMETRY_FUNCTION_ID}, no metadata.agent): a delegation to an agent that is not named, not read`);
      } else {
        this.#ignore(tool, `tool ${toolName} ran no agent: not a delegation`);
      }
    }
    this.#pendingFailures.sort((a, b) => compareByStart(a.tool, b.tool));
    out.sort((a, b) => compareByStart(a.tool, b.tool) || compareByStart(a.run.span, b.run.span));
    return out;
  }

  readonly #pendingFailures: { tool: SpanRecord; toolName: string; sourceKey: string; claimed?: boolean }[] = [];

  #emitDelegations(delegations: readonly Delegation[]): void {
    const failures = this.#pendingFailures;
    // The failures by caller and tool, each list in start order with a pointer past those claimed: the
    // delegations come in start order, so each claims the next ones up to its own start that had ended
    // by then (a call still running when the delegation started ran beside it, from the same step:
    // not an earlier attempt of it).
    const byCall = new Map<string, { readonly list: (typeof failures)[number][]; next: number }>();
    for (let f = 0; f < failures.length; f++) {
      const failure = failures[f]!;
      const slot = `${failure.sourceKey}\u0000${failure.toolName}`;
      let call = byCall.get(slot);
      if (!call) byCall.set(slot, (call = { list: [], next: 0 }));
      call.list.push(failure);
    }
    // A delegation whose tool call failed (the callee ran and threw), by caller run, tool and callee:
    // held back while a later call of the same tool to the same agent may retry it.
    const open = new Map<string, { d: Delegation; first: SpanRecord; attempts: number; arrival: SpanRecord }[]>();
    for (let i = 0; i < delegations.length; i++) {
      const d = delegations[i]!;
      let first: SpanRecord = d.tool;
      let attempts = 1;
      let arrival = d.run.span;
      const call = byCall.get(`${d.sourceKey}\u0000${d.toolName}`);
      if (call) {
        for (let f = call.next; f < call.list.length && call.list[f]!.tool.startMs <= d.tool.startMs; f++) {
          const failure = call.list[f]!;
          if (failure.claimed || !endedBefore(failure.tool, d.tool)) continue;
          failure.claimed = true;
          attempts++;
          if (compareByStart(failure.tool, first) < 0) first = failure.tool;
        }
        while (call.next < call.list.length && call.list[call.next]!.claimed) call.next++;
      }
      const key = `${d.sourceKey}\u0000${d.toolName}\u0000${d.run.agent}`;
      const waiting = open.get(key);
      // A failed call retried by this one had ended when this one started; one still running is a
      // parallel call of the same step (the model asked twice at once), a handoff of its own.
      const e = waiting ? waiting.findIndex((w) => endedBefore(w.d.tool, d.tool)) : -1;
      const earlier = e >= 0 ? waiting!.splice(e, 1)[0] : undefined;
      if (waiting && waiting.length === 0) open.delete(key);
      if (earlier) {
        attempts += earlier.attempts;
        if (compareByStart(earlier.first, first) < 0) first = earlier.first;
        arrival = earlier.arrival;
        if (earlier.first !== earlier.d.tool) this.#ignore(earlier.d.tool, `retry of the delegation on span ${first.spanId}: counted in its sendCount`);
      }
      if (d.tool.statusCode === StatusCodeNumber.Error) {
        const list = open.get(key);
        if (list) list.push({ d, first, attempts, arrival });
        else open.set(key, [{ d, first, attempts, arrival }]);
        continue;
      }
      this.#emitDelegation(d, first, attempts, arrival);
    }
    // Failed delegations no call retried: each a handoff of its own (its callee's run failed).
    for (const list of open.values()) for (const { d, first, attempts, arrival } of list) this.#emitDelegation(d, first, attempts, arrival);
    for (let f = 0; f < failures.length; f++) {
      const failure = failures[f]!;
      if (!failure.claimed) this.#ignore(failure.tool, `tool ${failure.toolName} failed and ran no agent: no delegation through it followed`);
    }
  }

  /** One delegation as a transfer: `first` is its earliest attempt's tool call, `arrival` the callee's first run. */
  #emitDelegation(d: Delegation, first: SpanRecord, attempts: number, arrival: SpanRecord): void {
    const part: Mutable<TransferPart> = {
      type: 'transfer',
      span: first,
      source: d.source,
      target: d.run.agent,
      mode: 'return_to_caller',
      inferred: true,
      arrival,
    };
    put(part, 'taskId', d.taskId);
    if (attempts > 1) {
      part.sendCount = attempts;
      if (d.tool !== first) this.#ignore(d.tool, `retry of the delegation on span ${first.spanId}: counted in its sendCount`);
    }
    this.parts.push(part);
  }
}

/** Whether `earlier` had ended when `later` started: only then can `later` be a retry of it. */
function endedBefore(earlier: SpanRecord, later: SpanRecord): boolean {
  return earlier.endMs <= later.startMs;
}

/** Vercel AI SDK 5/6 telemetry spans (see the file header). */
export const vercelAiDialect: Dialect = {
  id: 'vercel-ai',
  description: 'Vercel AI SDK 5/6 experimental_telemetry (ai.generateText / ai.streamText runs, agents called from ai.toolCall)',
  readsAttribute(name) {
    return name === AI_OPERATION_ID || name === AI_TOOL_CALL_NAME || name.startsWith('ai.telemetry.') || name.startsWith('ai.usage.');
  },
  claims(span) {
    const op = span.attributes[AI_OPERATION_ID];
    return typeof op === 'string' && (op === TOOL_CALL || RUN_OPERATIONS.has(op));
  },
  interpret(spans: readonly SpanRecord[], context: DialectContext): DialectResult {
    return new Interpretation(context).run(spans);
  },
};
