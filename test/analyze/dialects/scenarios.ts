/**
 * Coordination scenarios for the dialect contract suite, written once as a
 * small spec (who runs, who hands off to whom and how, who fails, which
 * handoff is retried) and *materialized* in each dialect's vocabulary by real
 * code: the Baton SDK for `baton`, the OTel SDK tracer writing GenAI agent spans
 * for `otel-genai` and OpenInference LangGraph spans for `openinference`. Each materializer returns the spans as the analyzer reads
 * them (OTLP/JSON round trip); the suite checks they assemble to the same model.
 *
 * A new dialect joins the suite with one entry in MATERIALIZERS: its id, the
 * handoff kind and flags it yields, and a function that writes a Scenario in
 * its vocabulary.
 *
 * Modelled on jaeger-ui's trace contract suite (materialize(spec) per format):
 * https://github.com/jaegertracing/jaeger-ui
 */
import { createAgentSpan, createFunctionSpan, createHandoffSpan, setTraceProcessors, setTracingDisabled, withTrace, type Span as AgentsSpan, type Trace as AgentsTrace } from '@openai/agents';
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { context, ROOT_CONTEXT, SpanKind, SpanStatusCode, trace, type Attributes, type Context, type Span } from '@opentelemetry/api';
import {
  ERROR_TYPE,
  GEN_AI_AGENT_NAME,
  GEN_AI_CONVERSATION_ID,
  GEN_AI_OPERATION_NAME,
  GEN_AI_PROVIDER_NAME,
  GEN_AI_REQUEST_MODEL,
  GEN_AI_TOOL_CALL_ARGUMENTS,
  GEN_AI_TOOL_NAME,
  GEN_AI_TOOL_TYPE,
  GEN_AI_TRANSFER_MODE,
  GEN_AI_TRANSFER_TARGET_NAME,
  GEN_AI_TRANSFER_TARGET_TYPE,
  GEN_AI_USAGE_INPUT_TOKENS,
  GEN_AI_USAGE_OUTPUT_TOKENS,
  GEN_AI_WORKFLOW_NAME,
  MASTRA_SPAN_TYPE,
  MASTRA_WORKFLOW_STEP_ID,
} from '../../../src/model/attributes.js';
import type { HandoffKind, HandoffModel, TransferMode } from '../../../src/model/handoff-model.js';
import type { SpanRecord } from '../../../src/model/span-record.js';
import { BatonAgentsTracingProcessor } from '../../../src/integrations/openai-agents/index.js';
import { LOGFIRE_OPENAI_AGENTS_SCOPE } from '../../../src/analyze/dialects/openai-agents.js';
import { Baton } from '../../../src/sdk/baton.js';
import { draft } from '../../helpers/envelopes.js';
import { createOtelHarness, installContextManager } from '../../helpers/otel.js';
import { toSpanRecords } from '../../helpers/traces.js';
import { AgentRuntime, HandlerError, type AgentContext } from '../../../fixtures/frameworks/autogen/runtime.js';
import { Workflow, type Data, type EdgeGroup, type Executor } from '../../../fixtures/frameworks/agent-framework/workflow.js';
import { DotnetWorkflow, type DotnetEdge, type DotnetExecutor } from '../../../fixtures/frameworks/agent-framework/dotnet-workflow.js';
import { Crew, CREWAI_SCOPE } from '../../../fixtures/frameworks/python/crewai.js';
import { newLog } from '../../../fixtures/frameworks/log.js';
import { OPENLLMETRY_OPENAI_AGENTS_SCOPE, OPENLLMETRY_OPENAI_AGENTS_VERSION, OpenLlmetryShapedProcessor } from '../../../fixtures/frameworks/openai-agents/openllmetry-processor.js';
import { AgnoProgram, AGNO_SCOPE, memberIdOf, type AgnoMember } from '../../../fixtures/frameworks/openinference-agents/agno.js';
import { SmolagentsProgram, SMOLAGENTS_SCOPE, type SmolAgent } from '../../../fixtures/frameworks/openinference-agents/smolagents.js';
import { PyError } from '../../../fixtures/frameworks/python/py-span.js';
import { AG2_SCOPE, AG2_VERSION, Ag2Program, CLAUDE, OPENINFERENCE_AG2_SCOPE, OPENINFERENCE_AG2_VERSION, type Ag2Instrumentation } from '../../../fixtures/frameworks/python/ag2.js';
import { AG2_ONE_SCOPE, BetaNetwork, BetaProgram, type BetaAgent } from '../../../fixtures/frameworks/python/ag2-beta.js';

/** One agent's run. */
export interface Turn {
  readonly agent: string;
  /** The run ends in an error, after its handoffs. */
  readonly fails?: boolean;
  /** Handoffs made during the run, in order; at most one `pass_control`. */
  readonly handoffs?: readonly HandoffStep[];
}

/**
 * A handoff from the enclosing turn's agent. `return_to_caller`: the target
 * works inside the handoff and the source resumes; `pass_control`: the target
 * runs after the source's run has ended.
 */
export interface HandoffStep {
  readonly mode: TransferMode;
  /** 2: the first attempt fails and is retried (one handoff, two sends). */
  readonly attempts?: 1 | 2;
  readonly to: Turn;
}

export interface Scenario {
  readonly id: string;
  readonly description: string;
  readonly taskId: string;
  readonly root: Turn;
}

export const SCENARIOS: readonly Scenario[] = [
  {
    id: 'nested-delegation',
    description: 'a manager asks two helpers in turn, the second asking one of its own; every answer returns to its caller (no control passed)',
    taskId: 'task-nested',
    root: {
      agent: 'manager',
      handoffs: [
        { mode: 'return_to_caller', to: { agent: 'Web Researcher' } },
        { mode: 'return_to_caller', to: { agent: 'analyst', handoffs: [{ mode: 'return_to_caller', to: { agent: 'coder' } }] } },
      ],
    },
  },
  {
    id: 'relay',
    description: 'a chain that passes control twice',
    taskId: 'task-relay',
    root: {
      agent: 'triage',
      handoffs: [{ mode: 'pass_control', to: { agent: 'research', handoffs: [{ mode: 'pass_control', to: { agent: 'analysis' } }] } }],
    },
  },
  {
    id: 'delegation',
    description: 'an orchestrator delegates to two specialists (names with spaces and capitals), then passes control',
    taskId: 'task-delegation',
    root: {
      agent: 'Orchestrator',
      handoffs: [
        { mode: 'return_to_caller', to: { agent: 'Billing Agent' } },
        { mode: 'return_to_caller', to: { agent: 'Refunds Agent' } },
        { mode: 'pass_control', to: { agent: 'Closer' } },
      ],
    },
  },
  {
    id: 'retry-and-failure',
    description: 'a retried handoff, a failing delegate and a failing last agent',
    taskId: 'task-retry',
    root: {
      agent: 'planner',
      handoffs: [
        {
          mode: 'pass_control',
          attempts: 2,
          to: {
            agent: 'writer',
            handoffs: [
              { mode: 'return_to_caller', attempts: 2, to: { agent: 'fact_checker', fails: true } },
              { mode: 'pass_control', to: { agent: 'reviewer', fails: true } },
            ],
          },
        },
      ],
    },
  },
  {
    id: 'delegate-retry',
    description: 'a delegation whose first attempt is lost, to a delegate that then fails, then control passed on',
    taskId: 'task-delegate-retry',
    root: {
      agent: 'dispatcher',
      handoffs: [
        { mode: 'return_to_caller', attempts: 2, to: { agent: 'worker', fails: true } },
        { mode: 'pass_control', to: { agent: 'closer' } },
      ],
    },
  },
  {
    id: 'round-trip',
    description: 'one edge taken twice, and control coming back to an agent that already ran',
    taskId: 'task-round-trip',
    root: {
      agent: 'alpha',
      handoffs: [
        { mode: 'return_to_caller', to: { agent: 'beta' } },
        { mode: 'return_to_caller', to: { agent: 'beta' } },
        { mode: 'pass_control', to: { agent: 'gamma', handoffs: [{ mode: 'pass_control', to: { agent: 'alpha' } }] } },
      ],
    },
  },
];

/** Advances the (faked) clock between steps, so every span starts at its own instant. */
export type Tick = () => void;

/** What every dialect's model must agree on. */
export interface ModelProjection {
  readonly agents: readonly string[];
  /** `source → target` with its number of handoffs, sorted. */
  readonly edges: readonly (readonly [string, number])[];
  /** Handoffs by send time: `source → target ×sends`. */
  readonly order: readonly string[];
  /** Per handoff in order: did the target's side (a receive, an arrival) appear? */
  readonly received: readonly boolean[];
  /** Agent runs by start time: `agent: outcome`. */
  readonly runs: readonly string[];
  readonly taskIds: readonly string[];
}

export const edgeOf = (source: string, target: string): string => `${source} → ${target}`;

function projectionOf(
  handoffs: readonly { source: string; target: string; sendCount: number; received: boolean; taskId: string | undefined }[],
  runs: readonly { agent: string; outcome: string | undefined; taskId: string | undefined }[],
): ModelProjection {
  const agents = new Set<string>();
  const edges = new Map<string, number>();
  const taskIds = new Set<string>();
  for (const h of handoffs) {
    agents.add(h.source).add(h.target);
    const edge = edgeOf(h.source, h.target);
    edges.set(edge, (edges.get(edge) ?? 0) + 1);
    taskIds.add(String(h.taskId));
  }
  for (const r of runs) {
    agents.add(r.agent);
    taskIds.add(String(r.taskId));
  }
  return {
    agents: [...agents].sort(),
    edges: [...edges].sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0)),
    order: handoffs.map((h) => `${edgeOf(h.source, h.target)} ×${h.sendCount}`),
    received: handoffs.map((h) => h.received),
    runs: runs.map((r) => `${r.agent}: ${String(r.outcome)}`),
    taskIds: [...taskIds].sort(),
  };
}

/** The projection of an assembled model. */
export function projectModel(model: HandoffModel): ModelProjection {
  return projectionOf(
    model.handoffs.map((h) => ({ source: h.source, target: h.target, sendCount: h.sendCount, received: h.receives.length > 0, taskId: h.taskId })),
    model.agentRuns,
  );
}

/** Every handoff step of a scenario in time order (the order every materializer writes them in). */
export function stepsOf(scenario: Scenario): { source: string; step: HandoffStep }[] {
  const steps: { source: string; step: HandoffStep }[] = [];
  const visit = (turn: Turn): void => {
    let passed: Turn | undefined;
    for (const step of turn.handoffs ?? []) {
      steps.push({ source: turn.agent, step });
      if (step.mode === 'return_to_caller') visit(step.to);
      else passed = step.to;
    }
    if (passed) visit(passed);
  };
  visit(scenario.root);
  return steps;
}

/** What the spec itself says the model is: the oracle every dialect is held to. */
export function expectedProjection(scenario: Scenario): ModelProjection {
  const runs: { agent: string; outcome: string; taskId: string }[] = [];
  const visit = (turn: Turn): void => {
    runs.push({ agent: turn.agent, outcome: turn.fails ? 'failed' : 'completed', taskId: scenario.taskId });
    let passed: Turn | undefined;
    for (const step of turn.handoffs ?? []) {
      if (step.mode === 'return_to_caller') visit(step.to);
      else passed = step.to;
    }
    if (passed) visit(passed);
  };
  visit(scenario.root);
  const handoffs = stepsOf(scenario).map(({ source, step }) => ({
    source,
    target: step.to.agent,
    sendCount: step.attempts ?? 1,
    received: true,
    taskId: scenario.taskId,
  }));
  return projectionOf(handoffs, runs);
}

/** Throws unless the spec is well formed (at most one pass_control per turn). */
export function checkScenario(scenario: Scenario): void {
  const visit = (turn: Turn): void => {
    const passes = (turn.handoffs ?? []).filter((h) => h.mode === 'pass_control').length;
    if (passes > 1) throw new Error(`${scenario.id}: ${turn.agent} passes control ${passes} times`);
    for (const step of turn.handoffs ?? []) visit(step.to);
  };
  visit(scenario.root);
}

/** One dialect's way of writing scenarios, and what its model says about each handoff. */
export interface Materializer {
  /** Shown in test titles. */
  readonly name: string;
  /** The dialect that must read every handoff and run. */
  readonly dialect: string;
  readonly kind: HandoffKind;
  /** Whether the handoffs are inferred from structure rather than declared (per step when the vocabulary declares some and not others). */
  readonly inferred: boolean | ((step: HandoffStep) => boolean);
  /** The mode the model must show for a step (undefined: the vocabulary does not say). */
  modeOf(step: HandoffStep): TransferMode | undefined;
  /** Writes the scenario through real instrumentation and returns the spans as the analyzer reads them. */
  materialize(scenario: Scenario, tick: Tick): Promise<SpanRecord[]>;
  /** Whether the vocabulary can express the scenario at all (default: every scenario). */
  supports?(scenario: Scenario): boolean;
}

/** The error a failing turn throws; anything else is a bug in the materializer. */
class TurnFailure extends Error {}

/** Through Baton's SDK: runAgent, send, receive (in a fresh root context when control passes, like another process). */
async function materializeBaton(scenario: Scenario, tick: Tick): Promise<SpanRecord[]> {
  const otel = createOtelHarness();
  const baton = new Baton({ tracer: otel.tracer, meter: otel.meter });
  let handoffs = 0;

  const send = (source: string, step: HandoffStep): string => {
    const envelope = draft({ task_id: scenario.taskId, source_agent: source, target_agent: step.to.agent });
    const handoffId = `${scenario.id}-${handoffs++}`;
    let wire = '';
    for (let attempt = 1; attempt <= (step.attempts ?? 1); attempt++) {
      tick();
      wire = JSON.stringify(baton.send(envelope, { handoffId, attempt }));
    }
    return wire;
  };

  const receiveAndRun = (wire: string, to: Turn, inProcess: boolean): void => {
    tick();
    const received = inProcess ? baton.receive(wire) : context.with(ROOT_CONTEXT, () => baton.receive(wire));
    if (!received.valid) throw new Error(`scenario envelope invalid: ${JSON.stringify(received.issues)}`);
    received.run(() => runTurn(to));
  };

  const runTurn = (turn: Turn): void => {
    let passed: { wire: string; to: Turn } | undefined;
    tick();
    try {
      baton.runAgent(
        turn.agent,
        () => {
          for (const step of turn.handoffs ?? []) {
            const wire = send(turn.agent, step);
            if (step.mode === 'return_to_caller') receiveAndRun(wire, step.to, true);
            else passed = { wire, to: step.to };
          }
          tick();
          if (turn.fails) throw new TurnFailure(`${turn.agent} failed`);
        },
        { taskId: scenario.taskId },
      );
    } catch (error) {
      if (!(error instanceof TurnFailure)) throw error;
    }
    if (passed) receiveAndRun(passed.wire, passed.to, false);
  };

  runTurn(scenario.root);
  const spans = toSpanRecords(otel.spans());
  await otel.shutdown();
  return spans;
}

/**
 * How a GenAI instrumentation records a handoff:
 * - `declared`: the draft transfer refinement (`gen_ai.transfer.mode`, `gen_ai.transfer.target.*`) on every transfer tool;
 * - `tool-name`: only the tool name `transfer_to_<agent>` (OpenAI Agents SDK, LangGraph swarm), the target
 *   working inside the tool call when control returns;
 * - `agent-as-tool`: Google ADK's two ways, an AgentTool named after the agent with the agent's run nested
 *   in it (control returns) and `transfer_to_agent` with `{"agent_name": …}` (control passes); a failed
 *   first attempt is recorded as a failed `transfer_to_agent` call.
 */
export type GenAiStyle = 'declared' | 'tool-name' | 'agent-as-tool';

/** How OpenAI's Agents SDK names a handoff tool's agent part: `Billing Agent` → `billing_agent`. */
const toolSafe = (agent: string): string => agent.toLowerCase().replace(/[^a-z0-9]+/g, '_');

function toolCallOf(style: GenAiStyle, source: string, step: HandoffStep, lastAttempt: boolean): { name: string; attributes: Attributes } {
  const target = step.to.agent;
  const base: Attributes = { [GEN_AI_OPERATION_NAME]: 'execute_tool', [GEN_AI_AGENT_NAME]: source, [GEN_AI_TOOL_TYPE]: 'function' };
  let tool: string;
  if (style === 'agent-as-tool') {
    if (step.mode === 'return_to_caller' && lastAttempt) tool = toolSafe(target);
    else {
      tool = 'transfer_to_agent';
      base[GEN_AI_TOOL_CALL_ARGUMENTS] = JSON.stringify({ agent_name: target });
    }
  } else {
    tool = `transfer_to_${toolSafe(target)}`;
    if (style === 'declared') {
      base[GEN_AI_TRANSFER_MODE] = step.mode;
      base[GEN_AI_TRANSFER_TARGET_NAME] = target;
      base[GEN_AI_TRANSFER_TARGET_TYPE] = 'agent';
    }
  }
  base[GEN_AI_TOOL_NAME] = tool;
  return { name: `execute_tool ${tool}`, attributes: base };
}

function materializeGenAi(style: GenAiStyle): (scenario: Scenario, tick: Tick) => Promise<SpanRecord[]> {
  return async (scenario, tick) => {
    const otel = createOtelHarness();
    const tracer = otel.tracer;
    // Explicit times from the faked clock: starts and ends are exact, whatever the machine's speed.
    const start = (name: string, kind: SpanKind, attributes: Attributes, parent: Context): Span => {
      tick();
      return tracer.startSpan(name, { kind, attributes, startTime: Date.now() }, parent);
    };
    const end = (span: Span): void => {
      tick();
      span.end(Date.now());
    };
    const workflow = start(
      `invoke_workflow ${scenario.id}`,
      SpanKind.INTERNAL,
      { [GEN_AI_OPERATION_NAME]: 'invoke_workflow', [GEN_AI_WORKFLOW_NAME]: scenario.id },
      ROOT_CONTEXT,
    );
    const workflowContext = trace.setSpan(ROOT_CONTEXT, workflow);

    const runTurn = (turn: Turn, parent: Context): void => {
      const run = start(
        `invoke_agent ${turn.agent}`,
        SpanKind.INTERNAL,
        {
          [GEN_AI_OPERATION_NAME]: 'invoke_agent',
          [GEN_AI_AGENT_NAME]: turn.agent,
          [GEN_AI_CONVERSATION_ID]: scenario.taskId,
          [GEN_AI_PROVIDER_NAME]: 'openai',
        },
        parent,
      );
      const inRun = trace.setSpan(parent, run);
      // The model call that decided what to do: a GenAI span the dialect leaves to timing.
      const chat = start('chat gpt-4.1', SpanKind.CLIENT, { [GEN_AI_OPERATION_NAME]: 'chat', [GEN_AI_REQUEST_MODEL]: 'gpt-4.1' }, inRun);
      chat.setAttributes({ [GEN_AI_USAGE_INPUT_TOKENS]: 120, [GEN_AI_USAGE_OUTPUT_TOKENS]: 30 });
      end(chat);
      let passed: Turn | undefined;
      for (const step of turn.handoffs ?? []) {
        const attempts = step.attempts ?? 1;
        for (let attempt = 1; attempt <= attempts; attempt++) {
          const last = attempt === attempts;
          const call = toolCallOf(style, turn.agent, step, last);
          const tool = start(call.name, SpanKind.INTERNAL, call.attributes, inRun);
          if (!last) {
            tool.setAttribute(ERROR_TYPE, 'timeout');
            tool.setStatus({ code: SpanStatusCode.ERROR, message: 'tool call timed out' });
          } else if (step.mode === 'return_to_caller') {
            runTurn(step.to, trace.setSpan(inRun, tool));
          } else {
            passed = step.to;
          }
          end(tool);
        }
      }
      if (turn.fails) {
        run.setAttribute(ERROR_TYPE, 'AgentError');
        run.setStatus({ code: SpanStatusCode.ERROR, message: `${turn.agent} failed` });
      }
      end(run);
      // The target takes over once the source's run is over: the next run under the workflow.
      if (passed) runTurn(passed, workflowContext);
    };

    runTurn(scenario.root, workflowContext);
    end(workflow);
    const spans = toSpanRecords(otel.spans());
    await otel.shutdown();
    return spans;
  };
}

/**
 * Through the OpenAI Agents SDK's own tracing API (agent, handoff and function
 * spans, as its runner creates them) and Baton's tracing processor into the OTel
 * SDK: a handoff is a handoff span inside the sender's agent span, the receiver
 * a new agent span beside the sender's; an agent used as a tool runs inside a
 * function span of the caller. A failed first attempt is a failed handoff or
 * function span.
 */
async function materializeOpenAiAgents(scenario: Scenario, tick: Tick): Promise<SpanRecord[]> {
  installContextManager();
  const exporter = new InMemorySpanExporter();
  const provider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });
  setTracingDisabled(false);
  setTraceProcessors([new BatonAgentsTracingProcessor({ tracerProvider: provider })]);
  const open = <T extends AgentsSpan<any>>(span: T): T => {
    tick();
    span.start();
    return span;
  };
  const close = (span: AgentsSpan<any>): void => {
    tick();
    span.end();
  };
  const runTurn = (turn: Turn, parent: AgentsSpan<any> | AgentsTrace): void => {
    const run = open(createAgentSpan({ data: { name: turn.agent } }, parent));
    let passed: Turn | undefined;
    for (const step of turn.handoffs ?? []) {
      const attempts = step.attempts ?? 1;
      for (let attempt = 1; attempt <= attempts; attempt++) {
        const last = attempt === attempts;
        if (step.mode === 'pass_control') {
          const span = open(createHandoffSpan({ data: { from_agent: turn.agent, to_agent: step.to.agent } }, run));
          if (!last) span.setError({ message: 'Error in handoff' });
          else passed = step.to;
          close(span);
        } else {
          const span = open(createFunctionSpan({ data: { name: toolSafe(step.to.agent), input: '{}', output: '' } }, run));
          if (!last) span.setError({ message: 'Error running tool (non-fatal)' });
          else runTurn(step.to, span);
          close(span);
        }
      }
    }
    if (turn.fails) run.setError({ message: 'Error in agent run' });
    close(run);
    if (passed) runTurn(passed, parent);
  };
  tick();
  await withTrace(scenario.id, async (agentsTrace) => runTurn(scenario.root, agentsTrace), { groupId: scenario.taskId });
  setTraceProcessors([]);
  await provider.forceFlush();
  const spans = toSpanRecords(exporter.getFinishedSpans());
  await provider.shutdown();
  return spans;
}

/**
 * As Logfire's openai_agents integration writes a Python SDK run (constructed
 * from logfire/_internal/integrations/openai_agents.py, since Python cannot be
 * installed here): spans named by their message template, the span data's
 * fields as attributes, a failure as level 17 (error) with the SDK's error as
 * JSON in `error`, scope `logfire.openai_agents`.
 */
async function materializeLogfire(scenario: Scenario, tick: Tick): Promise<SpanRecord[]> {
  installContextManager();
  const exporter = new InMemorySpanExporter();
  const provider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });
  const tracer = provider.getTracer(LOGFIRE_OPENAI_AGENTS_SCOPE);
  const start = (template: string, msg: string, attributes: Attributes, parent: Context): Span => {
    tick();
    return tracer.startSpan(template, { attributes: { 'logfire.msg_template': template, 'logfire.msg': msg, 'logfire.span_type': 'span', 'gen_ai.system': 'openai', ...attributes }, startTime: Date.now() }, parent);
  };
  const fail = (span: Span, message: string): void => {
    span.setAttributes({ 'logfire.level_num': 17, error: JSON.stringify({ message, data: null }) });
  };
  const end = (span: Span): void => {
    tick();
    span.end(Date.now());
  };
  const root = start('OpenAI Agents trace: {name}', `OpenAI Agents trace: ${scenario.id}`, { name: scenario.id, group_id: scenario.taskId, agent_trace_id: `trace_${scenario.id}` }, ROOT_CONTEXT);
  const rootContext = trace.setSpan(ROOT_CONTEXT, root);
  const runTurn = (turn: Turn, parent: Context): void => {
    const run = start('Agent run: {name!r}', `Agent run: '${turn.agent}'`, { name: turn.agent, handoffs: 'null', tools: 'null', output_type: 'str' }, parent);
    const inRun = trace.setSpan(parent, run);
    const turnSpan = start('Turn {turn} for agent ' + turn.agent, `Turn 1 for agent ${turn.agent}`, { sdk_span_type: 'turn', turn: 1, agent_name: turn.agent }, inRun);
    const inTurn = trace.setSpan(inRun, turnSpan);
    let passed: Turn | undefined;
    for (const step of turn.handoffs ?? []) {
      const attempts = step.attempts ?? 1;
      for (let attempt = 1; attempt <= attempts; attempt++) {
        const last = attempt === attempts;
        if (step.mode === 'pass_control') {
          const span = start('Handoff: {from_agent} → {to_agent}', `Handoff: ${turn.agent} → ${step.to.agent}`, { from_agent: turn.agent, to_agent: step.to.agent }, inTurn);
          if (!last) fail(span, 'Error in handoff');
          else passed = step.to;
          end(span);
        } else {
          const tool = toolSafe(step.to.agent);
          const span = start('Function: {name}', `Function: ${tool}`, { name: tool, input: '{}', mcp_data: 'null' }, inTurn);
          if (!last) fail(span, 'Error running tool (non-fatal)');
          else runTurn(step.to, trace.setSpan(inTurn, span));
          end(span);
        }
      }
    }
    end(turnSpan);
    if (turn.fails) fail(run, 'Error in agent run');
    end(run);
    if (passed) runTurn(passed, parent);
  };
  runTurn(scenario.root, rootContext);
  end(root);
  await provider.forceFlush();
  const spans = toSpanRecords(exporter.getFinishedSpans());
  await provider.shutdown();
  return spans;
}

/**
 * As Python's openinference-instrumentation-openai-agents writes a run (constructed
 * from its published `_processor.py`): scope `openinference.instrumentation.openai_agents`,
 * a root AGENT span named after the trace, AGENT spans named after each agent
 * without `graph.node.id`, TOOL spans `handoff to <agent>` and `<tool>`, a
 * failure as status ERROR "message: data", and `session.id` from the app's
 * `using_session` (without it OpenInference records no conversation).
 */
async function materializeOpenInferencePython(scenario: Scenario, tick: Tick): Promise<SpanRecord[]> {
  installContextManager();
  const exporter = new InMemorySpanExporter();
  const provider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });
  const tracer = provider.getTracer('openinference.instrumentation.openai_agents');
  const start = (name: string, kind: string, parent: Context, attributes: Attributes = {}): Span => {
    tick();
    // The app wraps the run in `using_session(task id)`, which puts session.id on every span.
    return tracer.startSpan(name, { attributes: { 'openinference.span.kind': kind, 'llm.system': 'openai', 'session.id': scenario.taskId, ...attributes }, startTime: Date.now() }, parent);
  };
  const end = (span: Span, error?: string): void => {
    span.setStatus(error ? { code: SpanStatusCode.ERROR, message: `${error}: None` } : { code: SpanStatusCode.OK });
    tick();
    span.end(Date.now());
  };
  const root = start(scenario.id, 'AGENT', ROOT_CONTEXT);
  const rootContext = trace.setSpan(ROOT_CONTEXT, root);
  const runTurn = (turn: Turn, parent: Context): void => {
    const run = start(turn.agent, 'AGENT', parent);
    const inRun = trace.setSpan(parent, run);
    let passed: Turn | undefined;
    for (const step of turn.handoffs ?? []) {
      const attempts = step.attempts ?? 1;
      for (let attempt = 1; attempt <= attempts; attempt++) {
        const last = attempt === attempts;
        if (step.mode === 'pass_control') {
          const span = start(`handoff to ${step.to.agent}`, 'TOOL', inRun);
          if (last) passed = step.to;
          end(span, last ? undefined : 'Error in handoff');
        } else {
          const tool = toolSafe(step.to.agent);
          const span = start(tool, 'TOOL', inRun, { 'tool.name': tool });
          if (last) runTurn(step.to, trace.setSpan(inRun, span));
          end(span, last ? undefined : 'Error running tool (non-fatal)');
        }
      }
    }
    end(run, turn.fails ? 'Error in agent run' : undefined);
    if (passed) runTurn(passed, parent);
  };
  runTurn(scenario.root, rootContext);
  end(root);
  await provider.forceFlush();
  const spans = toSpanRecords(exporter.getFinishedSpans());
  await provider.shutdown();
  return spans;
}

/**
 * Through the OpenAI Agents SDK's own tracing API, as in materializeOpenAiAgents, into OpenLLMetry's
 * Python OpenAI Agents processor (fixtures/frameworks/openai-agents/openllmetry-processor.ts,
 * constructed from its published `_hooks.py`), with the app's `set_conversation_id(task id)`: every
 * agent span is a child of the `Agent Workflow` root, so an agent run as a tool is a sibling of its
 * caller that starts and ends inside the caller's function span.
 */
async function materializeOpenLlmetryAgents(scenario: Scenario, tick: Tick): Promise<SpanRecord[]> {
  installContextManager();
  const exporter = new InMemorySpanExporter();
  const provider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });
  setTracingDisabled(false);
  setTraceProcessors([new OpenLlmetryShapedProcessor(provider.getTracer(OPENLLMETRY_OPENAI_AGENTS_SCOPE, OPENLLMETRY_OPENAI_AGENTS_VERSION), scenario.taskId)]);
  const open = <T extends AgentsSpan<any>>(span: T): T => {
    tick();
    span.start();
    return span;
  };
  const close = (span: AgentsSpan<any>): void => {
    tick();
    span.end();
  };
  const runTurn = (turn: Turn, parent: AgentsSpan<any> | AgentsTrace): void => {
    const run = open(createAgentSpan({ data: { name: turn.agent } }, parent));
    let passed: Turn | undefined;
    for (const step of turn.handoffs ?? []) {
      const attempts = step.attempts ?? 1;
      for (let attempt = 1; attempt <= attempts; attempt++) {
        const last = attempt === attempts;
        if (step.mode === 'pass_control') {
          const span = open(createHandoffSpan({ data: { from_agent: turn.agent, to_agent: step.to.agent } }, run));
          if (!last) span.setError({ message: 'Error in handoff' });
          else passed = step.to;
          close(span);
        } else {
          const span = open(createFunctionSpan({ data: { name: toolSafe(step.to.agent), input: '{}', output: '' } }, run));
          if (!last) span.setError({ message: 'Error running tool (non-fatal)' });
          else runTurn(step.to, span);
          close(span);
        }
      }
    }
    if (turn.fails) run.setError({ message: 'Error in agent run' });
    close(run);
    if (passed) runTurn(passed, parent);
  };
  tick();
  await withTrace(scenario.id, async (agentsTrace) => runTurn(scenario.root, agentsTrace), { groupId: scenario.taskId });
  setTraceProcessors([]);
  await provider.forceFlush();
  const spans = toSpanRecords(exporter.getFinishedSpans());
  await provider.shutdown();
  return spans;
}

/** In the openai-agents vocabularies: handoffs are declared by the SDK, delegations to agents as tools read from nesting. */
const openAiAgentsEntry = {
  dialect: 'openai-agents',
  kind: 'transfer' as const,
  inferred: (step: HandoffStep) => step.mode === 'return_to_caller',
  modeOf: (step: HandoffStep) => step.mode,
};

/**
 * How LangGraph runs a scenario, as the OpenInference LangChain instrumentation
 * records it (fixtures/frameworks/langgraph/ are the model) with outputs hidden
 * (`traceConfig.hideOutputs`, so handoffs are read from tool names): control passes
 * between top-level agent nodes (a swarm) through `transfer_to_<agent>` tools, each
 * sender's node span ending in ERROR (ParentCommand); an agent that returns to its
 * caller is a ReAct graph run inside the caller's `ask_<agent>` tool. A failed first
 * attempt is a failed tool call. Every agent's model call is an LLM span (unclaimed).
 */
async function materializeOpenInference(scenario: Scenario, tick: Tick): Promise<SpanRecord[]> {
  const otel = createOtelHarness();
  const tracer = otel.tracer;
  let tasks = 0;
  const metadata = (node: string, step: number, ns: string): string =>
    JSON.stringify({ thread_id: scenario.taskId, langgraph_step: step, langgraph_node: node, langgraph_triggers: [`branch:to:${node}`], langgraph_checkpoint_ns: ns });
  const start = (name: string, kind: string, attributes: Attributes, parent: Context): Span => {
    tick();
    return tracer.startSpan(name, { kind: SpanKind.INTERNAL, attributes: { 'openinference.span.kind': kind, 'session.id': scenario.taskId, ...attributes }, startTime: Date.now() }, parent);
  };
  const end = (span: Span, status?: { code: SpanStatusCode; message?: string }): void => {
    tick();
    span.setStatus(status ?? { code: SpanStatusCode.OK });
    span.end(Date.now());
  };
  const failure = (turn: Turn) => ({ code: SpanStatusCode.ERROR, message: `AgentError: ${turn.agent} failed` });
  const root = start('LangGraph', 'CHAIN', { metadata: JSON.stringify({ thread_id: scenario.taskId }) }, ROOT_CONTEXT);
  const rootContext = trace.setSpan(ROOT_CONTEXT, root);
  let topStep = 0;

  /** The turn's ReAct loop inside `parent` (namespace `ns`): its model call, then its tool calls. Returns the agent it passes control to. */
  const loop = (turn: Turn, ns: string, parent: Context): { passed: Turn | undefined; threw: boolean } => {
    const agentNs = `${ns}|agent:${++tasks}`;
    const agentNode = start('agent', 'CHAIN', { metadata: metadata('agent', 1, agentNs) }, parent);
    end(start('ScriptedChatModel', 'LLM', { metadata: metadata('agent', 1, agentNs) }, trace.setSpan(parent, agentNode)));
    end(agentNode);
    let passed: Turn | undefined;
    let threw = false;
    const handoffs = turn.handoffs ?? [];
    if (handoffs.length === 0) return { passed, threw };
    const toolsNs = `${ns}|tools:${++tasks}`;
    const toolsMeta = metadata('tools', 2, toolsNs);
    const toolsNode = start('tools', 'CHAIN', { metadata: toolsMeta }, parent);
    const inTools = trace.setSpan(parent, toolsNode);
    for (const step of handoffs) {
      const attempts = step.attempts ?? 1;
      for (let attempt = 1; attempt <= attempts; attempt++) {
        const last = attempt === attempts;
        const name = step.mode === 'pass_control' ? `transfer_to_${toolSafe(step.to.agent)}` : `ask_${toolSafe(step.to.agent)}`;
        const tool = start(name, 'TOOL', { 'tool.name': name, metadata: toolsMeta }, inTools);
        if (!last) {
          end(tool, { code: SpanStatusCode.ERROR, message: 'tool call timed out' });
          continue;
        }
        if (step.mode === 'pass_control') {
          passed = step.to;
          threw = true; // the Command to the parent graph is thrown as ParentCommand
          end(tool);
        } else {
          // The other agent's graph, invoked by the tool with its config: nested in the tool's task.
          const graph = start(step.to.agent, 'CHAIN', { metadata: toolsMeta }, trace.setSpan(inTools, tool));
          const inner = loop(step.to, toolsNs, trace.setSpan(inTools, graph));
          if (inner.passed) throw new Error(`${scenario.id}: ${step.to.agent} passes control from inside a tool, which LangGraph cannot express`);
          end(graph, step.to.fails ? failure(step.to) : undefined);
          end(tool, step.to.fails ? { code: SpanStatusCode.ERROR, message: `${step.to.agent} failed` } : undefined);
        }
      }
    }
    end(toolsNode, threw ? { code: SpanStatusCode.ERROR, message: 'ParentCommand' } : undefined);
    return { passed, threw };
  };

  /** A top-level agent node of the swarm: the node span, its compiled subgraph's span, its loop. */
  const runNode = (turn: Turn): void => {
    const step = ++topStep;
    const ns = `${turn.agent}:${++tasks}`;
    const meta = metadata(turn.agent, step, ns);
    const node = start(turn.agent, 'CHAIN', { metadata: meta }, rootContext);
    const subgraph = start(turn.agent, 'CHAIN', { metadata: meta }, trace.setSpan(rootContext, node));
    const { passed, threw } = loop(turn, ns, trace.setSpan(trace.setSpan(rootContext, node), subgraph));
    const status = turn.fails ? failure(turn) : threw ? { code: SpanStatusCode.ERROR, message: 'ParentCommand' } : undefined;
    end(subgraph, status);
    end(node, status);
    if (passed) runNode(passed);
  };

  runNode(scenario.root);
  end(root);
  const spans = toSpanRecords(otel.spans());
  await otel.shutdown();
  return spans;
}

/** Every turn of a scenario, depth first. */
function turnsOf(turn: Turn): Turn[] {
  const out = [turn];
  for (const step of turn.handoffs ?? []) out.push(...turnsOf(step.to));
  return out;
}

/**
 * AutoGen's runtime (fixtures/frameworks/autogen/runtime.ts, traced as
 * SingleThreadedAgentRuntime): a turn is one handler run; `return_to_caller`
 * is an RPC (`send_message`, the target's handler runs while the caller
 * awaits), `pass_control` a publish to the target's topic (it runs after the
 * caller's handler returned). A failed first attempt is an RPC the target's
 * intervention-free runtime cannot deliver (the handler's own dispatch raises
 * before the target runs), retried by the caller. The agent key is the task id.
 */
async function materializeAutogen(scenario: Scenario, tick: Tick): Promise<SpanRecord[]> {
  const otel = createOtelHarness();
  const runtime = new AgentRuntime(otel.tracer);
  const pending = new Map<string, Turn[]>();
  /** Targets whose next delivery the intervention handler drops (a retried handoff's failed first attempt). */
  const refused = new Set<Turn>();
  const queue = (turn: Turn) => {
    let list = pending.get(turn.agent);
    if (!list) pending.set(turn.agent, (list = []));
    list.push(turn);
  };
  for (const turn of turnsOf(scenario.root)) {
    if (pending.has(turn.agent)) continue;
    pending.set(turn.agent, []);
    runtime.register(turn.agent, 'RoutedAgent', async (message, _ctx, self: AgentContext) => {
      const current = pending.get(turn.agent)!.shift()!;
      tick();
      for (const step of current.handoffs ?? []) {
        for (let attempt = 1; attempt <= (step.attempts ?? 1); attempt++) {
          tick();
          const last = attempt === (step.attempts ?? 1);
          if (last) queue(step.to);
          if (step.mode === 'return_to_caller') {
            try {
              await self.sendMessage({ type: 'Task', body: { attempt } }, { type: step.to.agent, key: scenario.taskId });
            } catch (error) {
              // A dropped first attempt is retried; a target that failed is the caller's to absorb, as the spec's caller does.
              if (!(error instanceof HandlerError)) throw error;
            }
          } else {
            await self.publishMessage({ type: 'Task', body: {} }, { type: step.to.agent, source: scenario.taskId });
          }
        }
      }
      tick();
      if (current.fails) throw new HandlerError('AgentError', `${current.agent} failed`);
      void message;
      return undefined;
    });
    runtime.subscribe(turn.agent, turn.agent);
  }
  // A retried RPC: an intervention handler drops its first delivery (DropMessage), before the target does any work.
  for (const turn of turnsOf(scenario.root)) {
    for (const step of turn.handoffs ?? []) {
      if ((step.attempts ?? 1) > 1) refused.add(step.to);
    }
  }
  const seen = new Set<Turn>();
  runtime.addInterventionHandler('RetryDropper', (_message, recipient) => {
    for (const turn of refused) {
      if (turn.agent !== recipient.type || seen.has(turn)) continue;
      seen.add(turn);
      return 'drop';
    }
    return undefined;
  });
  queue(scenario.root);
  await runtime.runUntil(() => runtime.publishMessage({ type: 'Task', body: {} }, { type: scenario.root.agent, source: scenario.taskId }));
  const spans = toSpanRecords(otel.spans());
  await otel.shutdown();
  return spans;
}

/** AutoGen agent types are identifiers (`^[\w\-\.]+$`); a publish cannot fail at the sender, so only RPCs are retried. */
function autogenSupports(scenario: Scenario): boolean {
  return turnsOf(scenario.root).every(
    (turn) => /^[\w\-.]+$/.test(turn.agent) && (turn.handoffs ?? []).every((step) => step.mode === 'return_to_caller' || (step.attempts ?? 1) === 1),
  );
}

/**
 * Agent Framework workflows (fixtures/frameworks/agent-framework/workflow.ts):
 * each turn an executor, each handoff a single edge; the target runs in the
 * next superstep, after its source's run, so only control passed on is
 * expressible (a workflow executor does not call another and resume).
 */
async function materializeAgentFramework(scenario: Scenario, tick: Tick): Promise<SpanRecord[]> {
  const otel = createOtelHarness();
  const turns = turnsOf(scenario.root);
  const executors: Executor[] = turns.map((turn) => ({
    id: turn.agent,
    type: 'Executor',
    accepts: ['Task'],
    async handle(_data, ctx) {
      tick();
      for (const step of turn.handoffs ?? []) {
        tick();
        await ctx.sendMessage({ type: 'Task', fields: {} } satisfies Data);
      }
      tick();
      if (turn.fails) throw Object.assign(new Error(`${turn.agent} failed`), { name: 'AgentError' });
    },
  }));
  const edges: EdgeGroup[] = [];
  for (const turn of turns) for (const step of turn.handoffs ?? []) edges.push({ kind: 'SingleEdgeGroup', id: `SingleEdgeGroup/${edges.length}`, source: turn.agent, target: step.to.agent });
  const workflow = new Workflow(otel.tracer, `wf-${scenario.id}`, scenario.id, executors, edges, scenario.root.agent);
  await workflow.run({ type: 'Task', fields: {} }, scenario.taskId).catch((error: Error) => {
    if (error.name !== 'AgentError') throw error;
  });
  const spans = toSpanRecords(otel.spans());
  await otel.shutdown();
  return spans;
}

/**
 * The same on .NET's engine (fixtures/frameworks/agent-framework/dotnet-workflow.ts): each turn an
 * executor of the app's own class, each handoff a direct edge; routing runs inside the send, the
 * task is the session (`session.id`), and the input arrives through the input runner.
 */
async function materializeAgentFrameworkDotnet(scenario: Scenario, tick: Tick): Promise<SpanRecord[]> {
  const otel = createOtelHarness();
  const turns = turnsOf(scenario.root);
  const task = 'Contract.Task';
  const executors: DotnetExecutor[] = turns.map((turn) => ({
    id: turn.agent,
    type: 'Contract.TurnExecutor',
    accepts: [task],
    async handle(_message, ctx) {
      tick();
      for (const _step of turn.handoffs ?? []) {
        tick();
        await ctx.sendMessage({ type: task, fields: {} });
      }
      tick();
    },
  }));
  const edges: DotnetEdge[] = [];
  for (const turn of turns) for (const step of turn.handoffs ?? []) edges.push({ kind: 'DirectEdgeRunner', source: turn.agent, sink: step.to.agent });
  await new DotnetWorkflow(otel.provider.getTracer('Microsoft.Agents.AI.Workflows'), scenario.root.agent, executors, edges).runSession(scenario.taskId, [{ type: task, fields: {} }]);
  const spans = toSpanRecords(otel.spans());
  await otel.shutdown();
  return spans;
}

function agentFrameworkSupports(scenario: Scenario): boolean {
  const turns = turnsOf(scenario.root);
  const agents = new Set(turns.map((t) => t.agent));
  return (
    agents.size === turns.length &&
    turns.every((turn) => !turn.fails && (turn.handoffs ?? []).every((step) => step.mode === 'pass_control' && (step.attempts ?? 1) === 1))
  );
}

/**
 * A sequential CrewAI crew (fixtures/frameworks/python/crewai.ts, traced as
 * OpenInference's CrewAI instrumentation traces it): one task per turn, in order,
 * the crew's agents listed in that order, so each task's `graph.node.parent_id` is
 * the agent whose output it receives. Only chains of passed control can be written:
 * CrewAI's delegations run the coworker without a span of its own (no arrival).
 */
async function materializeCrewAi(scenario: Scenario, tick: Tick): Promise<SpanRecord[]> {
  const otel = createOtelHarness();
  const turns = turnsOf(scenario.root);
  const crew = new Crew(otel.provider.getTracer(CREWAI_SCOPE), newLog('crewai', scenario.id, ''), `contract-${scenario.id}`, turns.map((t) => t.agent), scenario.taskId);
  await crew.kickoff(turns.map((t, i) => ({ name: `task_${i}`, role: t.agent })), async () => {
    for (let i = 0; i < turns.length; i++) {
      tick();
      await crew.task(turns[i]!.agent, `task_${i}`, async () => tick());
    }
  });
  const spans = toSpanRecords(otel.spans());
  await otel.shutdown();
  return spans;
}

function crewAiSupports(scenario: Scenario): boolean {
  return agentFrameworkSupports(scenario) && turnsOf(scenario.root).every((turn) => (turn.handoffs ?? []).length <= 1);
}

/**
 * As `@mastra/otel-exporter` writes a Mastra workflow of agents (observability/otel-exporter
 * `src/gen-ai-semantics.ts` of mastra-ai/mastra, shapes checked against fixtures/frameworks/mastra/):
 * `invoke_workflow`, a `workflow_step {agent}` per turn that holds control, the agent's
 * `invoke_agent` inside it; a delegation is the sub-agent tool `execute_tool agent-{key}` with the
 * delegate's run inside. Control passes to the next workflow step.
 */
async function materializeMastra(scenario: Scenario, tick: Tick): Promise<SpanRecord[]> {
  const otel = createOtelHarness();
  const tracer = otel.provider.getTracer('@mastra/otel-exporter');
  const start = (name: string, attributes: Attributes, parent: Context): Span => {
    tick();
    return tracer.startSpan(name, { attributes, startTime: Date.now() }, parent);
  };
  const end = (span: Span): void => {
    tick();
    span.end(Date.now());
  };
  const workflow = start(`invoke_workflow ${scenario.id}`, { [GEN_AI_OPERATION_NAME]: 'invoke_workflow', [MASTRA_SPAN_TYPE]: 'workflow_run' }, ROOT_CONTEXT);
  const inWorkflow = trace.setSpan(ROOT_CONTEXT, workflow);
  /** Runs a turn's agent under `parent`; returns the turn control passes to, if any. */
  const runAgent = (turn: Turn, parent: Context): Turn | undefined => {
    const run = start(
      `invoke_agent ${turn.agent}`,
      { [GEN_AI_OPERATION_NAME]: 'invoke_agent', [MASTRA_SPAN_TYPE]: 'agent_run', [GEN_AI_AGENT_NAME]: turn.agent, [GEN_AI_CONVERSATION_ID]: scenario.taskId },
      parent,
    );
    const inRun = trace.setSpan(parent, run);
    let passed: Turn | undefined;
    for (const step of turn.handoffs ?? []) {
      if (step.mode === 'pass_control') {
        passed = step.to;
        continue;
      }
      const tool = `agent-${toolSafe(step.to.agent)}`;
      const call = start(`execute_tool ${tool}`, { [GEN_AI_OPERATION_NAME]: 'execute_tool', [MASTRA_SPAN_TYPE]: 'tool_call', [GEN_AI_TOOL_NAME]: tool, [GEN_AI_TOOL_TYPE]: 'tool' }, inRun);
      runAgent(step.to, trace.setSpan(inRun, call));
      end(call);
    }
    if (turn.fails) {
      run.setAttribute(ERROR_TYPE, 'unknown');
      run.setStatus({ code: SpanStatusCode.ERROR, message: `${turn.agent} failed` });
    }
    end(run);
    return passed;
  };
  for (let turn: Turn | undefined = scenario.root; turn; ) {
    const step = start(`workflow_step ${turn.agent}`, { [GEN_AI_OPERATION_NAME]: 'workflow_step', [MASTRA_SPAN_TYPE]: 'workflow_step', [MASTRA_WORKFLOW_STEP_ID]: turn.agent }, inWorkflow);
    const next = runAgent(turn, trace.setSpan(inWorkflow, step));
    end(step);
    turn = next;
  }
  end(workflow);
  const spans = toSpanRecords(otel.spans());
  await otel.shutdown();
  return spans;
}

/** Scenarios made only of delegations (each target answers its caller) whose runs all complete. */
function delegationsOnly(scenario: Scenario): boolean {
  return turnsOf(scenario.root).every((turn) => !turn.fails && (turn.handoffs ?? []).every((step) => step.mode === 'return_to_caller'));
}

/**
 * An Agno team (fixtures/frameworks/openinference-agents/agno.ts, traced as OpenInference's
 * Agno instrumentation traces it): a turn with handoffs is a Team whose leader delegates
 * each with `delegate_task_to_member`; a member's run names the team's run as its
 * `graph.node.parent_id`. Only delegations that complete can be written: Agno's `_run`
 * returns a failed run instead of raising (its span ends OK), and the leader has no retry
 * of its own.
 */
async function materializeAgno(scenario: Scenario, tick: Tick): Promise<SpanRecord[]> {
  const otel = createOtelHarness();
  const program = new AgnoProgram(otel.provider.getTracer(AGNO_SCOPE), newLog('agno', scenario.id, ''), `contract-${scenario.id}`, scenario.taskId);
  const memberOf = (turn: Turn): AgnoMember => (turn.handoffs && turn.handoffs.length > 0 ? { name: turn.agent, members: turn.handoffs.map((h) => memberOf(h.to)) } : { name: turn.agent });
  const play = async (turn: Turn, member: AgnoMember): Promise<string> => {
    tick();
    const steps = turn.handoffs ?? [];
    for (let i = 0; i < steps.length; i++) {
      const target = member.members![i]!;
      await program.delegate(member, memberIdOf(target.name), `work ${i}`, () => play(steps[i]!.to, target), target);
      tick();
    }
    return `${turn.agent} done`;
  };
  const root = memberOf(scenario.root);
  await program.run(root, 'the task', () => play(scenario.root, root));
  const spans = toSpanRecords(otel.spans());
  await otel.shutdown();
  return spans;
}

/**
 * What a Mastra workflow of agents can say: control passes only between workflow steps (a delegate
 * passes none on), once each (a retried step is not a second handoff Mastra records), and every
 * delegation is one call (a sub-agent tool call that failed before its agent ran names no agent).
 */
function mastraSupports(scenario: Scenario): boolean {
  const stepsPassOnly = (turn: Turn, atTop: boolean): boolean =>
    (turn.handoffs ?? []).every((step) => (step.attempts ?? 1) === 1 && (step.mode === 'return_to_caller' ? stepsPassOnly(step.to, false) : atTop && stepsPassOnly(step.to, true)));
  return stepsPassOnly(scenario.root, true);
}

function agnoSupports(scenario: Scenario): boolean {
  return delegationsOnly(scenario) && turnsOf(scenario.root).every((turn) => (turn.handoffs ?? []).every((step) => (step.attempts ?? 1) === 1));
}

/**
 * smolagents managed agents (fixtures/frameworks/openinference-agents/smolagents.ts, traced
 * as OpenInference's smolagents instrumentation traces them): each delegation is one step of
 * the caller in which the managed agent runs; a first attempt that fails is a managed agent
 * whose model call raised (its run span never exported, the caller's step recording the
 * AgentToolExecutionError), asked again in the next step. A run that fails for good cannot
 * be written: its span is never exported.
 */
async function materializeSmolagents(scenario: Scenario, tick: Tick): Promise<SpanRecord[]> {
  const otel = createOtelHarness();
  const program = new SmolagentsProgram(otel.provider.getTracer(SMOLAGENTS_SCOPE), newLog('smolagents', scenario.id, ''), scenario.taskId);
  const agentOf = (turn: Turn): SmolAgent => ({ name: turn.agent, managed: (turn.handoffs ?? []).map((h) => agentOf(h.to)), tools: [] });
  const play =
    (turn: Turn, agent: SmolAgent): Parameters<SmolagentsProgram['run']>[2] =>
    async (step) => {
      tick();
      let n = 1;
      const steps = turn.handoffs ?? [];
      for (let i = 0; i < steps.length; i++) {
        const target = agent.managed[i]!;
        if ((steps[i]!.attempts ?? 1) === 2) {
          await step(n++, () => program.callManaged(agent, target, `work ${i}`, () => Promise.reject(new PyError('AgentGenerationError', 'Error in generating model output'))));
          tick();
        }
        await step(n++, () => program.callManaged(agent, target, `work ${i}`, play(steps[i]!.to, target)));
        tick();
      }
      await step(n, () => program.tool('FinalAnswerTool', 'final_answer', { answer: 'done' }, 'done'));
    };
  const root = agentOf(scenario.root);
  await program.run(root, 'the task', play(scenario.root, root));
  const spans = toSpanRecords(otel.spans());
  await otel.shutdown();
  return spans;
}

/**
 * AG2 (fixtures/frameworks/python/ag2.ts, traced as AG2's own instrumentation traces it): a group
 * chat AG2's `_User` starts, whose speakers run inside the GroupChatManager's turn; a
 * `pass_control` is the next speaker's turn (an after-work target: no span between the turns), a
 * `return_to_caller` a nested chat inside the source's turn (`conversation {source}` around the
 * delegate's turn). The outermost chat's id is the task. Agent names with spaces are allowed (the
 * agents' model is not OpenAI's).
 */
async function materializeAg2(scenario: Scenario, tick: Tick, instrumentation: Ag2Instrumentation = 'ag2'): Promise<SpanRecord[]> {
  const otel = createOtelHarness();
  const tracer = instrumentation === 'ag2' ? otel.provider.getTracer(AG2_SCOPE, AG2_VERSION) : otel.provider.getTracer(OPENINFERENCE_AG2_SCOPE, OPENINFERENCE_AG2_VERSION);
  // OpenInference records no chat id: the task is the session (`using_session`).
  const program = new Ag2Program(tracer, newLog('ag2', scenario.id, ''), `contract-${scenario.id}`, false, false, instrumentation, instrumentation === 'openinference' ? scenario.taskId : undefined);
  const runTurn = async (turn: Turn): Promise<void> => {
    tick();
    await program.invokeAgent({ name: turn.agent, llm: CLAUDE }, undefined, async () => {
      for (const step of turn.handoffs ?? []) {
        if (step.mode !== 'return_to_caller') continue;
        tick();
        // A nested chat (register_nested_chats): max_turns=1, the delegate's answer its summary.
        await program.conversation(turn.agent, { llm: CLAUDE }, 'the task', 1, async () => {
          await runTurn(step.to);
          return [{ role: 'assistant', content: `${step.to.agent} done`, name: step.to.agent }];
        });
      }
      tick();
      return { role: 'assistant', content: `${turn.agent} done`, name: turn.agent };
    });
  };
  await program.conversation(
    '_User',
    { llm: CLAUDE },
    'the task',
    undefined,
    async () => {
      await program.invokeAgent({ name: 'chat_manager', llm: CLAUDE }, undefined, async () => {
        for (let turn: Turn | undefined = scenario.root; turn; turn = (turn.handoffs ?? []).find((s) => s.mode === 'pass_control')?.to) await runTurn(turn);
        return undefined;
      });
      return [{ role: 'user', content: 'the task', name: '_User' }];
    },
    scenario.taskId,
  );
  const spans = toSpanRecords(otel.spans());
  await otel.shutdown();
  return spans;
}

/**
 * AG2 1.0's hub (fixtures/frameworks/python/ag2-beta.ts, traced as its TelemetryMiddleware and
 * HubTelemetryListener trace it): the `pass_control` chain are the speakers of a workflow channel
 * (FromSpeaker → AgentTarget), seeded by a human participant; each `return_to_caller` is a subagent
 * the speaker (or a subagent) calls through its `task_{name}` tool (Agent.as_tool), whose run AG2
 * parents under the envelope too (run_task passes the relayed traceparent on). The channel is the task.
 */
async function materializeAg2Network(scenario: Scenario, tick: Tick): Promise<SpanRecord[]> {
  const otel = createOtelHarness();
  const network = new BetaNetwork(new BetaProgram(otel.provider.getTracer(AG2_ONE_SCOPE), newLog('ag2-network', scenario.id, '')), `contract-${scenario.id}`);
  const agentOf = (turn: Turn): BetaAgent => {
    const subagents = (turn.handoffs ?? []).filter((s) => s.mode === 'return_to_caller').map((s) => agentOf(s.to));
    const tools: Record<string, BetaAgent> = {};
    for (const sub of subagents) tools[`task_${sub.name}`] = sub;
    const llm = { provider: 'anthropic', model: 'claude-sonnet-4-5' };
    if (subagents.length === 0) return { name: turn.agent, llm, steps: [{ say: `${turn.agent} done` }] };
    return { name: turn.agent, llm, steps: [{ rounds: subagents.map((sub) => [[`task_${sub.name}`, JSON.stringify({ objective: 'the task' })]] as const), then: `${turn.agent} done` }], tools };
  };
  const speakers = speakersOf(scenario);
  tick();
  const user = network.register('user');
  // One registered agent per name, its turns' scripts in the order it speaks.
  const agents = new Map<string, BetaAgent>();
  for (const turn of speakers) {
    const agent = agentOf(turn);
    const known = agents.get(turn.agent);
    if (known) known.steps.push(...agent.steps);
    else agents.set(turn.agent, agent);
  }
  const members = [...agents.values()].map((a) => network.register(a.name, a));
  const next = new Map<string, string>([['user', speakers[0]!.agent]]);
  for (let i = 1; i < speakers.length; i++) next.set(speakers[i - 1]!.agent, speakers[i]!.agent);
  // max_turns: the seed and each speaker's round, so a ring of speakers stops where the scenario does.
  const channel = network.openWorkflow(members[0]!, [user, ...members], { initial: user.id, next, maxTurns: speakers.length + 1 }, scenario.taskId);
  await network.seed(channel, user, 'the task');
  network.close(channel, 'done');
  network.shutdown();
  const spans = toSpanRecords(otel.spans());
  await otel.shutdown();
  return spans;
}

/** The speakers of the `pass_control` chain, in turn order. */
function speakersOf(scenario: Scenario): Turn[] {
  const speakers: Turn[] = [];
  for (let turn: Turn | undefined = scenario.root; turn; turn = (turn.handoffs ?? []).find((s) => s.mode === 'pass_control')?.to) speakers.push(turn);
  return speakers;
}

/**
 * What a workflow channel can say, beyond a group chat's limits: its graph routes by the speaker
 * (FromSpeaker → AgentTarget), so each agent hands on to one agent only, and a subagent is no speaker.
 */
function ag2NetworkSupports(scenario: Scenario): boolean {
  if (!ag2Supports(scenario)) return false;
  const speakers = speakersOf(scenario);
  const next = new Map<string, string>();
  for (let i = 1; i < speakers.length; i++) {
    const known = next.get(speakers[i - 1]!.agent);
    if (known !== undefined && known !== speakers[i]!.agent) return false;
    next.set(speakers[i - 1]!.agent, speakers[i]!.agent);
  }
  const names = new Set(speakers.map((t) => t.agent));
  const subagents = speakers.flatMap((t) => (t.handoffs ?? []).filter((step) => step.mode === 'return_to_caller').flatMap((step) => turnsOf(step.to)));
  return subagents.every((t) => !names.has(t.agent));
}

/**
 * What an AG2 group chat can say: a turn that raises ends the whole chat (the exception runs through
 * the manager's turn), AG2 tries no handoff again but a transfer tool (which the scenarios do not
 * use), a nested chat is a chat of two (its delegate passes control to no third agent), and the
 * next speaker follows a turn's nested chats.
 */
function ag2Supports(scenario: Scenario): boolean {
  const fits = (turn: Turn, speaker: boolean): boolean => {
    const steps = turn.handoffs ?? [];
    return (
      !turn.fails &&
      steps.every((step, i) => (step.attempts ?? 1) === 1 && (step.mode === 'return_to_caller' ? fits(step.to, false) : speaker && i === steps.length - 1 && fits(step.to, true)))
    );
  };
  return fits(scenario.root, true);
}

/** Every dialect's materializer: one entry per way of writing the scenarios. */
export const MATERIALIZERS: readonly Materializer[] = [
  { name: 'baton (Baton SDK)', dialect: 'baton', kind: 'message', inferred: false, modeOf: () => undefined, materialize: materializeBaton },
  {
    name: 'otel-genai, declared transfer attributes',
    dialect: 'otel-genai',
    kind: 'transfer',
    inferred: false,
    modeOf: (step) => step.mode,
    materialize: materializeGenAi('declared'),
  },
  {
    name: 'otel-genai, transfer_to_<agent> tool names',
    dialect: 'otel-genai',
    kind: 'transfer',
    inferred: true,
    // A target working inside the tool call returns to the caller; a bare transfer tool says nothing.
    modeOf: (step) => (step.mode === 'return_to_caller' ? 'return_to_caller' : undefined),
    materialize: materializeGenAi('tool-name'),
  },
  {
    name: 'otel-genai, agents as tools and transfer_to_agent',
    dialect: 'otel-genai',
    kind: 'transfer',
    inferred: true,
    modeOf: (step) => (step.mode === 'return_to_caller' ? 'return_to_caller' : undefined),
    materialize: materializeGenAi('agent-as-tool'),
  },
  { name: 'openai-agents, SDK tracing API through BatonAgentsTracingProcessor', ...openAiAgentsEntry, materialize: materializeOpenAiAgents },
  { name: 'openai-agents, Logfire openai_agents spans (constructed)', ...openAiAgentsEntry, materialize: materializeLogfire },
  { name: 'openai-agents, Python OpenInference spans (constructed)', ...openAiAgentsEntry, materialize: materializeOpenInferencePython },
  {
    name: "openllmetry, OpenLLMetry's Python OpenAI Agents processor (constructed) fed the SDK's tracing API",
    dialect: 'openllmetry',
    kind: 'transfer',
    // Handoff spans are declared; agents as tools are read from time (their spans are the root's children).
    inferred: (step) => step.mode === 'return_to_caller',
    modeOf: (step) => step.mode,
    materialize: materializeOpenLlmetryAgents,
  },
  {
    name: 'openinference, LangGraph swarm with agents as tools (outputs hidden)',
    dialect: 'openinference',
    kind: 'transfer',
    inferred: true,
    modeOf: (step) => step.mode,
    materialize: materializeOpenInference,
  },
  {
    name: 'autogen (AutoGen runtime: RPCs and topic publishes, linked across traces)',
    dialect: 'autogen',
    kind: 'message',
    inferred: false,
    modeOf: () => undefined,
    materialize: materializeAutogen,
    supports: autogenSupports,
  },
  {
    name: 'agent-framework (workflow executors over single edges)',
    dialect: 'agent-framework',
    kind: 'message',
    inferred: false,
    modeOf: () => undefined,
    materialize: materializeAgentFramework,
    supports: agentFrameworkSupports,
  },
  {
    name: 'otel-genai, Mastra workflow steps and sub-agent tools (@mastra/otel-exporter)',
    dialect: 'otel-genai',
    kind: 'transfer',
    inferred: true,
    modeOf: (step) => step.mode,
    materialize: materializeMastra,
    supports: mastraSupports,
  },
  {
    name: 'agent-framework (.NET workflow executors over direct edges)',
    dialect: 'agent-framework',
    kind: 'message',
    inferred: false,
    modeOf: () => undefined,
    materialize: materializeAgentFrameworkDotnet,
    supports: agentFrameworkSupports,
  },
  {
    name: 'crewai (OpenInference CrewAI instrumentation: a sequential crew, constructed)',
    dialect: 'crewai',
    kind: 'transfer',
    inferred: true,
    modeOf: () => 'pass_control',
    materialize: materializeCrewAi,
    supports: crewAiSupports,
  },
  {
    name: 'openinference-agents (OpenInference Agno instrumentation: a team delegating to members, constructed)',
    dialect: 'openinference-agents',
    kind: 'transfer',
    inferred: false,
    modeOf: () => 'return_to_caller',
    materialize: materializeAgno,
    supports: agnoSupports,
  },
  {
    name: 'openinference-agents (OpenInference smolagents instrumentation: managed agents, constructed)',
    dialect: 'openinference-agents',
    kind: 'transfer',
    inferred: true,
    modeOf: () => 'return_to_caller',
    materialize: materializeSmolagents,
    supports: delegationsOnly,
  },
  {
    name: 'ag2 (AG2 group chat: speaker turns in the manager’s turn, nested chats, constructed)',
    dialect: 'ag2',
    kind: 'transfer',
    inferred: true,
    modeOf: (step) => step.mode,
    materialize: materializeAg2,
    supports: ag2Supports,
  },
  {
    name: 'ag2 (OpenInference AG2Instrumentor: the same group chat and nested chats, constructed)',
    dialect: 'ag2',
    kind: 'transfer',
    inferred: true,
    modeOf: (step) => step.mode,
    materialize: (scenario, tick) => materializeAg2(scenario, tick, 'openinference'),
    supports: ag2Supports,
  },
  {
    name: 'ag2 (AG2 1.0 hub: workflow speakers by envelope, subagent tools, constructed)',
    dialect: 'ag2',
    kind: 'transfer',
    // An envelope declares its sender and the turn it started; a subagent is read from its time inside the caller's tool call.
    inferred: (step) => step.mode === 'return_to_caller',
    modeOf: (step) => step.mode,
    materialize: materializeAg2Network,
    supports: ag2NetworkSupports,
  },
];
