/**
 * The `openinference-agents` dialect: agent frameworks whose OpenInference
 * instrumentation writes one AGENT span per agent run and nests the runs an agent
 * starts inside its own: smolagents (`openinference-instrumentation-smolagents`) and
 * Agno (`openinference-instrumentation-agno`), told apart by their instrumentation
 * scope. LangGraph / LangChain (`openinference`), CrewAI (`crewai`) and the OpenAI
 * Agents SDK (`openai-agents`) have dialects of their own; the spans of OpenInference's
 * Google ADK instrumentation are claimed only to be ignored (ADK's own spans, which
 * `otel-genai` reads, say the same). docs/frameworks.md
 * ("smolagents and Agno via OpenInference") lists what is read and why.
 *
 * - An agent run is an AGENT span, named by `agent.name` (Agno), else `graph.node.name`,
 *   else its span name without `.run` (smolagents writes `{agent.name}.run` and no name
 *   attribute). ERROR is a failed run.
 * - A **delegation** is a run started while another ran, which gets its answer back
 *   (`return_to_caller`): declared when the run's `graph.node.parent_id` is the
 *   `graph.node.id` of a run of the same trace (Agno: the team whose run it executes
 *   in), else inferred from nesting (the nearest enclosing AGENT span: a smolagents
 *   managed agent, called by its manager inside one of its steps). The handoff's span
 *   is the caller's delegation tool call that holds the run in its time (Agno's
 *   `delegate_task_to_member(s)`, whose generator runs the member outside the tool's
 *   context), else the caller's span the run is nested in (a smolagents step), else the
 *   caller's run (a declared caller the run does not nest in: spans above the run that are
 *   not below the caller are not the caller's); the run is its arrival.
 * - A delegation that failed before its run could be seen: a step that recorded
 *   smolagents' `AgentToolExecutionError` "Error executing request to team member
 *   '<name>'" (a ToolCallingAgent's managed agent raised; its run span is never exported)
 *   is a handoff to that agent with no arrival (a CodeAgent's step fails with the
 *   interpreter's error, which names no agent: nothing is read from it); a later delegation from the same run to the same agent
 *   is the same handoff attempted again (`sendCount`). An Agno delegation tool answering
 *   "Member with ID <id> not found" is a refused (undelivered) handoff.
 * - A span whose parent is missing from the trace, in smolagents' scope, belongs to a
 *   run that raised (never ended, never exported): ignored with that reason.
 * - CHAIN steps, other tools and LLM spans are steps of the run they are in: ignored.
 * - Without a scope (the OpenTelemetry Python SDK's console JSON writes none), a span is
 *   known by what only its instrumentation writes: an Agno run by `agno.agent` / `agno.team`,
 *   Agno's delegation tools by name; a smolagents run by its `smolagents.*` attributes, a step
 *   by its name (`Step {n}`, no LangGraph metadata), a tool by the `sanitize_inputs_outputs`
 *   argument in its input; OpenInference's ADK spans by their names (`agent_run [name]`,
 *   `invocation [app]`). Other spans of these instrumentations (Agno's other tools and model
 *   calls, a step whose name was changed) stay with the `openinference` dialect, which reads no
 *   handoff from them.
 *
 * Linear in the group's spans but for sorts and, per run, a binary search of its caller's
 * delegation tools (indexed once per caller); ancestor walks go through the context
 * (bounded, cycle-safe).
 *
 * @see https://github.com/Arize-ai/openinference/tree/main/python/instrumentation/openinference-instrumentation-smolagents
 * @see https://github.com/Arize-ai/openinference/tree/main/python/instrumentation/openinference-instrumentation-agno
 */
import {
  AGNO_AGENT,
  AGNO_TEAM,
  OPENINFERENCE_AGENT_NAME,
  OPENINFERENCE_GRAPH_NODE_ID,
  OPENINFERENCE_GRAPH_NODE_NAME,
  OPENINFERENCE_GRAPH_NODE_PARENT_ID,
  OPENINFERENCE_INPUT_VALUE,
  OPENINFERENCE_METADATA,
  OPENINFERENCE_OUTPUT_VALUE,
  OPENINFERENCE_SESSION_ID,
  OPENINFERENCE_SPAN_KIND,
  OPENINFERENCE_TOOL_NAME,
  SMOLAGENTS_MAX_STEPS,
  SMOLAGENTS_TASK,
  SMOLAGENTS_TOOLS_NAMES,
} from '../../model/attributes.js';
import { StatusCodeNumber, type SpanRecord } from '../../model/span-record.js';
import { compareByStart, partitionPoint } from '../span-index.js';
import { parseJsonText, put, readName } from './attribute-readers.js';
import type { AgentRunPart, Dialect, DialectContext, DialectResult, HandoffPart, IgnoredSpan, Mutable, TransferPart } from './dialect.js';
import { normalizeAgentName } from './otel-genai.js';

/** The instrumentation scopes read (`get_tracer(__name__)` of each instrumentor). */
const SMOLAGENTS_SCOPE = 'openinference.instrumentation.smolagents';
const AGNO_SCOPE = 'openinference.instrumentation.agno';
/**
 * OpenInference's Google ADK instrumentation: its `invocation [app]` and `agent_run [name]`
 * spans wrap ADK's own `invocation` and `invoke_agent` spans, which `otel-genai` reads; read
 * as runs here they would count every agent twice and make each transfer (ADK runs the target
 * inside the sender) a nested delegation. Claimed to be ignored with that reason.
 */
const GOOGLE_ADK_SCOPE = 'openinference.instrumentation.google_adk';

/** A scope, or a module below it (`….agno._tools_wrapper`): a name that only starts with the same letters is not it. */
function isScope(scope: string, of: string): boolean {
  return scope === of || (scope.startsWith(of) && scope.charCodeAt(of.length) === 46);
}

type Instrumentation = 'smolagents' | 'agno' | 'google-adk';

/** smolagents' `_StepWrapper` span name. */
const SMOLAGENTS_STEP = /^Step \d+$/;
/** OpenInference's ADK spans (`_BaseAgentRunAsync`, `_RunnerRunAsync`). */
const GOOGLE_ADK_SPAN = /^(?:agent_run|invocation) \[.*\]$/;

/**
 * Which of the instrumentations read here wrote `span`: its scope, else (no scope: the Python
 * SDK's console JSON) what only that instrumentation writes (see the file header).
 */
function instrumentationOf(span: SpanRecord): Instrumentation | undefined {
  const scope = span.scopeName;
  if (scope !== '') {
    if (isScope(scope, SMOLAGENTS_SCOPE)) return 'smolagents';
    if (isScope(scope, AGNO_SCOPE)) return 'agno';
    if (isScope(scope, GOOGLE_ADK_SCOPE)) return 'google-adk';
    return undefined;
  }
  const attrs = span.attributes;
  const kind = attrs[OPENINFERENCE_SPAN_KIND];
  if (typeof kind !== 'string') return undefined;
  if (kind === 'AGENT') {
    if (attrs[AGNO_AGENT] !== undefined || attrs[AGNO_TEAM] !== undefined) return 'agno';
    if (attrs[SMOLAGENTS_TASK] !== undefined || attrs[SMOLAGENTS_MAX_STEPS] !== undefined || attrs[SMOLAGENTS_TOOLS_NAMES] !== undefined) return 'smolagents';
  } else if (kind === 'TOOL') {
    const tool = attrs[OPENINFERENCE_TOOL_NAME];
    if (typeof tool === 'string' && AGNO_DELEGATION_TOOLS.has(tool)) return 'agno';
    const input = attrs[OPENINFERENCE_INPUT_VALUE];
    if (typeof input === 'string' && input.includes('"sanitize_inputs_outputs"')) return 'smolagents';
  } else if (kind === 'CHAIN') {
    if (SMOLAGENTS_STEP.test(span.name) && attrs[OPENINFERENCE_METADATA] === undefined) return 'smolagents';
  }
  return GOOGLE_ADK_SPAN.test(span.name) ? 'google-adk' : undefined;
}

/**
 * Agno's delegation tools: `delegate_task_to_member(s)` (`agno/team/_default_tools.py`, Agno 2),
 * and before Agno 2 (`agno/team/team.py` until September 2025) `transfer_task_to_member`
 * (coordinate mode), `forward_task_to_member` (route mode), `run_member_agents` (collaborate mode).
 */
const AGNO_DELEGATION_TOOLS: ReadonlySet<string> = new Set([
  'delegate_task_to_member',
  'delegate_task_to_members',
  'transfer_task_to_member',
  'forward_task_to_member',
  'run_member_agents',
]);
/** What `delegate_task_to_member` yields for a member id it cannot find. */
const AGNO_MEMBER_NOT_FOUND = /^Member with ID (.{1,200}?) not found in the team or any subteams/;
/** smolagents' `execute_tool_call` on a managed agent that raised (`AgentToolExecutionError`). */
const SMOLAGENTS_MEMBER_ERROR = /^Error executing request to team member '([^']{1,200})'/;
/** Longest tool input parsed for a member id. */
const MAX_INPUT_CHARS = 1 << 20;

interface Run {
  readonly span: SpanRecord;
  readonly agent: string;
  readonly taskId: string | undefined;
}

/** A delegation as read, before retries are folded. */
interface Draft {
  readonly part: Mutable<TransferPart>;
  /** The calling run's span id. */
  readonly caller: string;
  readonly targetKey: string;
  /** Failed before its run could be seen (the managed agent raised). */
  readonly failed: boolean;
}

/** The agent an AGENT span ran as (see the file header). */
function agentOf(span: SpanRecord): string {
  const named = readName(span.attributes, OPENINFERENCE_AGENT_NAME) ?? readName(span.attributes, OPENINFERENCE_GRAPH_NODE_NAME);
  if (named !== undefined) return named;
  return span.name.endsWith('.run') && span.name.length > 4 ? span.name.slice(0, -4) : span.name;
}

/** The `member_id` a delegation tool's arguments name. */
function memberIdIn(input: string | undefined): string | undefined {
  if (input === undefined || input.length > MAX_INPUT_CHARS || !input.includes('member_id')) return undefined;
  const parsed = parseJsonText(input, MAX_INPUT_CHARS);
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) return undefined;
  const id = (parsed as Record<string, unknown>).member_id;
  return typeof id === 'string' && id.length > 0 ? id : undefined;
}

/** The team member a smolagents step's recorded AgentToolExecutionError names, if any. */
function failedMemberOf(span: SpanRecord): string | undefined {
  if (span.statusCode !== StatusCodeNumber.Error) return undefined;
  for (let i = 0; i < span.events.length; i++) {
    const event = span.events[i]!;
    if (event.name !== 'exception') continue;
    const message = event.attributes['exception.message'];
    const match = typeof message === 'string' ? SMOLAGENTS_MEMBER_ERROR.exec(message) : null;
    if (match) return match[1]!;
  }
  return undefined;
}

class Interpretation {
  readonly parts: HandoffPart[] = [];
  readonly ignored: IgnoredSpan[] = [];
  readonly #context: DialectContext;
  readonly #runs: Run[] = [];
  readonly #runById = new Map<string, Run>();
  /** Runs by trace id and `graph.node.id`. */
  readonly #runByNode = new Map<string, Run>();
  readonly #tools: SpanRecord[] = [];
  readonly #steps: SpanRecord[] = [];
  /** Tool and step spans a delegation was read from. */
  readonly #used = new Set<string>();
  readonly #drafts: Draft[] = [];
  /** Each caller's Agno delegation tools (its children), built when a member run first asks. */
  readonly #toolsByCaller = new Map<string, { tools: SpanRecord[]; maxEndMs: number[] }>();

  constructor(context: DialectContext) {
    this.#context = context;
  }

  run(spans: readonly SpanRecord[]): DialectResult {
    const seen = new Set<string>();
    for (let i = 0; i < spans.length; i++) {
      const span = spans[i]!;
      if (seen.has(span.spanId)) continue; // a re-exported copy
      seen.add(span.spanId);
      this.#classify(span);
    }
    this.#runs.sort((a, b) => compareByStart(a.span, b.span));
    this.#tools.sort(compareByStart);
    for (let i = 0; i < this.#runs.length; i++) this.#readCaller(this.#runs[i]!);
    for (let i = 0; i < this.#steps.length; i++) this.#readFailedRequest(this.#steps[i]!);
    for (let i = 0; i < this.#tools.length; i++) this.#readTool(this.#tools[i]!);
    this.#emitDelegations();
    for (let i = 0; i < this.#runs.length; i++) {
      const run = this.#runs[i]!;
      const part: Mutable<AgentRunPart> = { type: 'agent-run', span: run.span, agent: run.agent, outcome: run.span.statusCode === StatusCodeNumber.Error ? 'failed' : 'completed' };
      put(part, 'taskId', run.taskId);
      this.parts.push(part);
    }
    return { parts: this.parts, ignored: this.ignored };
  }

  #classify(span: SpanRecord): void {
    const kind = readName(span.attributes, OPENINFERENCE_SPAN_KIND)?.toUpperCase();
    const instrumentation = instrumentationOf(span);
    if (instrumentation === 'google-adk') {
      this.ignored.push({ span, reason: `OpenInference's Google ADK ${kind ?? ''} span: it wraps ADK's own span (scope gcp.vertex.agent), which otel-genai reads` });
      return;
    }
    if (span.parentSpanId && this.#context.span(span.parentSpanId) === undefined && instrumentation === 'smolagents' && kind !== 'AGENT') {
      this.ignored.push({
        span,
        reason: `its parent span ${span.parentSpanId} is not in the data: smolagents' instrumentation never ends (so never exports) an agent run that raised, so this ${kind ?? 'span'} most likely belonged to one (else its parent is in data not read)`,
      });
      return;
    }
    if (kind === 'AGENT') {
      const run: Run = { span, agent: agentOf(span), taskId: readName(span.attributes, OPENINFERENCE_SESSION_ID) };
      this.#runs.push(run);
      this.#runById.set(span.spanId, run);
      const node = readName(span.attributes, OPENINFERENCE_GRAPH_NODE_ID);
      if (node !== undefined) this.#runByNode.set(`${span.traceId}\u0000${node}`, run);
    } else if (kind === 'TOOL') this.#tools.push(span);
    else if (kind === 'CHAIN') this.#steps.push(span);
    else this.ignored.push({ span, reason: `${kind ?? 'unknown'} span: a model call or other step, no handoff meaning` });
  }

  #enclosingRun(span: SpanRecord): Run | undefined {
    const around = this.#context.ancestorWhere(span, (candidate) => this.#runById.has(candidate.spanId));
    return around ? this.#runById.get(around.spanId) : undefined;
  }

  /** The caller of `run` (declared by `graph.node.parent_id`, else the enclosing run) and the delegation to it. */
  #readCaller(run: Run): void {
    const parentNode = readName(run.span.attributes, OPENINFERENCE_GRAPH_NODE_PARENT_ID);
    const declared = parentNode !== undefined ? this.#runByNode.get(`${run.span.traceId}\u0000${parentNode}`) : undefined;
    const caller = declared ?? this.#enclosingRun(run.span);
    if (!caller || caller === run) return;
    const send = this.#delegationSpanOf(caller, run);
    const part: Mutable<TransferPart> = { type: 'transfer', span: send, source: caller.agent, target: run.agent, mode: 'return_to_caller', inferred: declared === undefined, arrival: run.span };
    put(part, 'taskId', caller.taskId ?? run.taskId);
    this.#drafts.push({ part, caller: caller.span.spanId, targetKey: normalizeAgentName(run.agent), failed: false });
  }

  /**
   * The span the caller handed `run` over in: its delegation tool call whose time holds
   * the run (the nearest enclosing tool, or Agno's sibling `delegate_task_to_member`),
   * else the caller's span the run is nested in (a smolagents step), else the caller's run.
   * A caller declared by `graph.node.parent_id` need not be an ancestor of the run (a run
   * started in a workflow step's context names its team all the same): spans on the way up
   * are the caller's only when the walk reaches the caller; else they are another run's, or
   * the workflow's, and the caller's run itself is the send.
   */
  #delegationSpanOf(caller: Run, run: Run): SpanRecord {
    let child: SpanRecord | undefined;
    let tool: SpanRecord | undefined;
    let reached = false;
    let steps = 0;
    for (let at = this.#context.parentOf(run.span); at && at.spanId !== run.span.spanId && steps < 10_000; at = this.#context.parentOf(at), steps++) {
      if (at.spanId === caller.span.spanId) {
        reached = true;
        break;
      }
      if (tool === undefined && readName(at.attributes, OPENINFERENCE_SPAN_KIND) === 'TOOL') tool = at;
      child = at;
    }
    if (reached && tool) {
      this.#used.add(tool.spanId);
      return tool;
    }
    // Agno's delegation tool is the caller's child beside the member run.
    const best = this.#delegationToolHolding(caller, run);
    if (best) {
      this.#used.add(best.spanId);
      return best;
    }
    if (reached && child) {
      this.#used.add(child.spanId);
      return child;
    }
    return caller.span;
  }

  /**
   * The latest-starting Agno delegation tool among the caller's children whose time holds the
   * run. The caller's delegation tools are indexed once (start order, with the greatest end so
   * far), so a team of many members costs a search per member, not a scan of the team's children.
   */
  #delegationToolHolding(caller: Run, run: Run): SpanRecord | undefined {
    let index = this.#toolsByCaller.get(caller.span.spanId);
    if (!index) {
      index = { tools: [], maxEndMs: [] };
      const children = this.#context.childrenOf(caller.span); // in start order
      for (let i = 0; i < children.length; i++) {
        const child = children[i]!;
        if (readName(child.attributes, OPENINFERENCE_SPAN_KIND) !== 'TOOL' || !AGNO_DELEGATION_TOOLS.has(readName(child.attributes, OPENINFERENCE_TOOL_NAME) ?? '')) continue;
        const before = index.maxEndMs.length > 0 ? index.maxEndMs[index.maxEndMs.length - 1]! : -Infinity;
        index.tools.push(child);
        index.maxEndMs.push(child.endMs > before ? child.endMs : before);
      }
      this.#toolsByCaller.set(caller.span.spanId, index);
    }
    const { tools, maxEndMs } = index;
    // The last tool starting at or before the run, then back while an earlier one could still hold it.
    const lo = partitionPoint(tools.length, (i) => tools[i]!.startMs <= run.span.startMs);
    for (let i = lo - 1; i >= 0 && maxEndMs[i]! >= run.span.endMs; i--) if (tools[i]!.endMs >= run.span.endMs) return tools[i];
    return undefined;
  }

  /** A smolagents step that recorded a team member's failure: a delegation with no arrival. */
  #readFailedRequest(step: SpanRecord): void {
    if (this.#used.has(step.spanId)) return;
    const member = failedMemberOf(step);
    const caller = member !== undefined ? this.#enclosingRun(step) : undefined;
    if (member === undefined || !caller) {
      this.ignored.push({ span: step, reason: `a step of ${this.#enclosingRun(step)?.agent ?? 'an unknown agent'}'s run, no handoff of its own` });
      return;
    }
    const part: Mutable<TransferPart> = { type: 'transfer', span: step, source: caller.agent, target: member, mode: 'return_to_caller', inferred: true };
    put(part, 'taskId', caller.taskId);
    this.#drafts.push({ part, caller: caller.span.spanId, targetKey: normalizeAgentName(member), failed: true });
  }

  #readTool(tool: SpanRecord): void {
    if (this.#used.has(tool.spanId)) return;
    const name = readName(tool.attributes, OPENINFERENCE_TOOL_NAME) ?? tool.name;
    const caller = this.#enclosingRun(tool);
    const output = readName(tool.attributes, OPENINFERENCE_OUTPUT_VALUE);
    const missing = output !== undefined && AGNO_DELEGATION_TOOLS.has(name) ? AGNO_MEMBER_NOT_FOUND.exec(output) : null;
    if (missing && caller) {
      const member = memberIdIn(readName(tool.attributes, OPENINFERENCE_INPUT_VALUE)) ?? missing[1]!;
      const part: Mutable<TransferPart> = { type: 'transfer', span: tool, source: caller.agent, target: 'unknown', mode: 'return_to_caller', inferred: true, refusal: `refused: no member ${member}; ${name} answered: ${missing[0]}` };
      put(part, 'taskId', caller.taskId);
      this.#drafts.push({ part, caller: caller.span.spanId, targetKey: '', failed: false });
      return;
    }
    const why = AGNO_DELEGATION_TOOLS.has(name) ? 'no member run in its time and no "not found" answer' : 'no agent run in it';
    this.ignored.push({ span: tool, reason: `tool ${name} of ${caller?.agent ?? 'an unknown agent'}: not a delegation (${why})` });
  }

  /** The delegations in start order; one after a failed request from the same run to the same agent is that request tried again. */
  #emitDelegations(): void {
    this.#drafts.sort((a, b) => compareByStart(a.part.span, b.part.span) || compareByStart(a.part.arrival ?? a.part.span, b.part.arrival ?? b.part.span));
    const failedLast = new Map<string, Mutable<TransferPart>>();
    for (let i = 0; i < this.#drafts.length; i++) {
      const draft = this.#drafts[i]!;
      const slot = `${draft.caller}\u0000${draft.targetKey}`;
      const earlier = draft.part.refusal === undefined ? failedLast.get(slot) : undefined;
      if (earlier) {
        earlier.sendCount = (earlier.sendCount ?? 1) + 1;
        if (draft.part.arrival !== undefined) earlier.arrival = draft.part.arrival;
        this.ignored.push({ span: draft.part.span, reason: `retry of the delegation on span ${earlier.span.spanId} (its run failed): counted in its sendCount` });
        if (!draft.failed) failedLast.delete(slot);
        continue;
      }
      this.parts.push(draft.part);
      if (draft.failed) failedLast.set(slot, draft.part);
    }
  }
}

/** smolagents and Agno through OpenInference (see the file header). */
export const openInferenceAgentsDialect: Dialect = {
  id: 'openinference-agents',
  description: 'smolagents and Agno via OpenInference (agent runs, nested delegations, team members, failed requests)',
  readsAttribute(name) {
    return (
      name === OPENINFERENCE_SPAN_KIND ||
      name === OPENINFERENCE_AGENT_NAME ||
      name === OPENINFERENCE_GRAPH_NODE_ID ||
      name === OPENINFERENCE_GRAPH_NODE_NAME ||
      name === OPENINFERENCE_GRAPH_NODE_PARENT_ID ||
      name === OPENINFERENCE_TOOL_NAME ||
      name === OPENINFERENCE_INPUT_VALUE ||
      name === OPENINFERENCE_OUTPUT_VALUE ||
      name === OPENINFERENCE_SESSION_ID ||
      name === OPENINFERENCE_METADATA ||
      name === AGNO_AGENT ||
      name === AGNO_TEAM ||
      name === SMOLAGENTS_TASK ||
      name === SMOLAGENTS_MAX_STEPS ||
      name === SMOLAGENTS_TOOLS_NAMES
    );
  },
  readsEvent(name, span) {
    return name === 'exception' && instrumentationOf(span) === 'smolagents';
  },
  claims(span) {
    return instrumentationOf(span) !== undefined;
  },
  interpret(spans: readonly SpanRecord[], context: DialectContext): DialectResult {
    return new Interpretation(context).run(spans);
  },
};
