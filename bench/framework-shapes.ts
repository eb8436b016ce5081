/**
 * Framework shapes for the growth benchmark (bench/shapes.ts): the span trees the
 * framework instrumentations write, as the constructed recordings in
 * fixtures/frameworks/** have them (each generator names the fixture and the
 * framework files it follows), scaled up to one long run: Agent Framework workflows
 * (executors in sequence, a HandoffBuilder), CrewAI crews (sequential, hierarchical), an
 * Agno team, a Strands swarm, a Google ADK invocation (each transfer inside the last, so
 * as deep as it is long), a Mastra workflow, an OpenAI Agents SDK run, a LangGraph swarm
 * thread; and deep ones, n levels of nesting: Agent Framework executors nested in the
 * sends they handle (a runtime propagating the traceparent as the parent; agent_framework
 * links), CrewAI coworkers, OpenAI agents as tools and LangGraph agents asking on.
 *
 * Each is one trace: the shapes that grow a single group, where a walk up the parent
 * chain or a scan over the group's spans per span shows up as an exponent. Spans are
 * written as they end (children before parents), as a batch processor exports them;
 * nesting n deep is built without recursion (a frame list), as n is large.
 */
import type { Ctx, FrameworkSpan, Scenario } from './generate-shapes.js';
import { bool, int, KIND_CLIENT, KIND_PRODUCER, str, strs, type OtlpAttribute, type OtlpEvent, type OtlpScope } from './otlp-json.js';

/** A span whose end is not yet known: its id and start, for the children written before it. */
interface Open {
  readonly spanId: string;
  readonly startUs: number;
}

function open(sc: Scenario, gapUs = 100): Open {
  return { spanId: sc.out.spanId(), startUs: sc.tick(gapUs) };
}

/** Writes `span` (opened before) ending now. */
function close(sc: Scenario, ctx: Ctx, span: Open, spec: Omit<FrameworkSpan, 'spanId' | 'startUs' | 'endUs'>, gapUs = 100): void {
  sc.span(ctx, { ...spec, spanId: span.spanId, startUs: span.startUs, endUs: sc.tick(gapUs) });
}

const event = (name: string, us: number, attributes: OtlpAttribute[] = []): OtlpEvent => ({ timeUnixNano: `${us}000`, name, attributes, droppedAttributesCount: 0 });

// --- Microsoft Agent Framework (Python) -------------------------------------------

const MAF_SCOPE: OtlpScope = { name: 'agent_framework' };
const MAF_STANDARD = str('message.type', 'standard');
const DELIVERED = [bool('edge_group.delivered', true), str('edge_group.delivery_status', 'delivered')];

/**
 * A `message.send` span in the sending executor's handler (`_workflow_context.py` `send_message`),
 * PRODUCER; a targeted send names `message.destination_executor_id`.
 */
function mafSend(sc: Scenario, ctx: Ctx, executorSpanId: string, type: string, destination?: string): string {
  const spanId = sc.out.spanId();
  const attributes = [str('message.type', type)];
  if (destination !== undefined) attributes.push(str('message.destination_executor_id', destination));
  const startUs = sc.tick(50);
  sc.span(ctx, { spanId, parentSpanId: executorSpanId, name: 'message.send', kind: KIND_PRODUCER, startUs, endUs: sc.tick(20), attributes, scope: MAF_SCOPE });
  return spanId;
}

/** `edge_group.process {kind}` (`_edge_runner.py`): under workflow.run (the parent given), linked to the send it routes. */
function mafEdge(sc: Scenario, ctx: Ctx, parentSpanId: string, kind: string, groupId: string, sendSpanId: string, sourceId: string, targetId?: string): void {
  const attributes = [str('edge_group.type', kind), str('edge_group.id', groupId), str('message.source_id', sourceId)];
  if (targetId !== undefined) attributes.push(str('message.target_id', targetId));
  attributes.push(...DELIVERED);
  const startUs = sc.tick(50);
  sc.span(ctx, { spanId: sc.out.spanId(), parentSpanId, name: `edge_group.process ${kind}`, startUs, endUs: sc.tick(30), attributes, links: [sendSpanId], scope: MAF_SCOPE });
}

function mafExecutorAttributes(id: string, type: string, payloadType: string): OtlpAttribute[] {
  return [str('executor.id', id), str('executor.type', type), MAF_STANDARD, str('message.payload_type', payloadType)];
}

function mafRun(sc: Scenario, ctx: Ctx, run: Open, workflowId: string, name: string, conversationId: string): void {
  const startedUs = run.startUs + 100;
  const endUs = sc.tick(100);
  sc.span(ctx, {
    spanId: run.spanId,
    parentSpanId: '',
    name: 'workflow.run',
    startUs: run.startUs,
    endUs,
    attributes: [str('workflow.id', workflowId), str('workflow.name', name), str('gen_ai.conversation.id', conversationId)],
    events: [event('workflow.started', startedUs), event('workflow.completed', endUs - 10)],
    scope: MAF_SCOPE,
  });
}

const CIRCULAR = ['planner', 'coder', 'tester'] as const;
const capitalized = (id: string) => `${id[0]!.toUpperCase()}${id.slice(1)}`;

/**
 * One `workflow.run` of n executor runs in sequence, planner → coder → tester → planner …
 * over single edges (fixtures/frameworks/agent-framework/circular, with `max_iterations`
 * large enough and the last executor sending nothing): `executor.process` spans are
 * siblings under the run, each holding its `message.send`; the edge group routing each
 * message and the next executor are linked to the send (`_edge_runner.py`: the target
 * runs outside the edge group's span). 3 spans an executor run.
 */
function agentFrameworkCircular(sc: Scenario, n: number, nested = false): void {
  const ctx = { traceId: sc.out.traceId(), taskId: 'conv-circular' };
  const run = open(sc);
  const groups = CIRCULAR.map((_, i) => `SingleEdgeGroup/00000000-0000-4000-8000-${(i + 5).toString(16).padStart(12, '0')}`);
  let previousSend: string | undefined;
  for (let i = 0; i < n; i++) {
    const id = CIRCULAR[i % CIRCULAR.length]!;
    const executor = open(sc, 200);
    const send = i < n - 1 ? mafSend(sc, ctx, executor.spanId, 'Work') : undefined;
    close(sc, ctx, executor, {
      parentSpanId: nested && previousSend ? previousSend : run.spanId,
      name: `executor.process ${id}`,
      attributes: mafExecutorAttributes(id, `${capitalized(id)}Executor`, i === 0 ? 'Task' : 'Work'),
      ...(previousSend ? { links: [previousSend] } : {}),
      scope: MAF_SCOPE,
    });
    if (send) mafEdge(sc, ctx, nested ? send : run.spanId, 'SingleEdgeGroup', groups[i % CIRCULAR.length]!, send, id);
    previousSend = send;
  }
  mafRun(sc, ctx, run, 'wf-circular', 'plan code test', ctx.taskId);
}

const SUPPORT = ['triage', 'billing', 'refunds'] as const;

/**
 * A HandoffBuilder workflow (fixtures/frameworks/agent-framework/handoff, autonomous mode) of
 * n handoffs round triage → billing → refunds → triage …: each turn's `HandoffAgentExecutor`
 * runs its agent (`invoke_agent` with its `chat` inside), broadcasts its reply (an
 * `AgentExecutorRequest` with no destination: the other participants' executor spans only
 * cache it), then sends the handoff request targeted at the next agent; fan-out edge groups
 * route both. The last turn answers (no handoff). 9 spans a handoff.
 */
function agentFrameworkHandoff(sc: Scenario, n: number): void {
  const ctx = { traceId: sc.out.traceId(), taskId: 'conv-handoff' };
  const run = open(sc);
  const groups = SUPPORT.map((_, i) => `FanOutEdgeGroup/00000000-0000-4000-8000-${(i + 19).toString(16).padStart(12, '0')}`);
  let handoffSend: string | undefined;
  for (let turn = 0; turn <= n; turn++) {
    const at = turn % SUPPORT.length;
    const id = SUPPORT[at]!;
    const others = SUPPORT.filter((p) => p !== id);
    const executor = open(sc, 200);
    const broadcasts: string[] = [];
    if (turn === 0) broadcasts.push(mafSend(sc, ctx, executor.spanId, 'AgentExecutorRequest')); // the user's input, shared with everyone
    const agent = open(sc);
    const chatStart = sc.tick(20);
    sc.span(ctx, {
      spanId: sc.out.spanId(),
      parentSpanId: agent.spanId,
      name: 'chat gpt-4o-mini',
      kind: KIND_CLIENT,
      startUs: chatStart,
      endUs: sc.tick(300_000),
      attributes: [str('gen_ai.operation.name', 'chat'), str('gen_ai.provider.name', 'openai'), str('gen_ai.request.model', 'gpt-4o-mini'), int('gen_ai.usage.input_tokens', 220), int('gen_ai.usage.output_tokens', 18)],
      scope: MAF_SCOPE,
    });
    close(sc, ctx, agent, {
      parentSpanId: executor.spanId,
      name: `invoke_agent ${id}`,
      attributes: [
        str('gen_ai.operation.name', 'invoke_agent'),
        str('gen_ai.provider.name', 'microsoft.agent_framework'),
        str('gen_ai.agent.id', `00000000-0000-4000-8000-${(turn + 1).toString(16).padStart(12, '0')}`),
        str('gen_ai.agent.name', id),
        str('gen_ai.agent.description', `the ${id} desk`),
        int('gen_ai.usage.input_tokens', 220),
        int('gen_ai.usage.output_tokens', 18),
      ],
      scope: MAF_SCOPE,
    });
    broadcasts.push(mafSend(sc, ctx, executor.spanId, 'AgentExecutorRequest')); // its reply, to everyone
    const next = turn < n ? SUPPORT[(at + 1) % SUPPORT.length]! : undefined;
    const sent = next === undefined ? undefined : mafSend(sc, ctx, executor.spanId, 'AgentExecutorRequest', next);
    close(sc, ctx, executor, {
      parentSpanId: run.spanId,
      name: `executor.process ${id}`,
      attributes: mafExecutorAttributes(id, 'HandoffAgentExecutor', turn === 0 ? 'str' : 'AgentExecutorRequest'),
      ...(handoffSend ? { links: [handoffSend] } : {}),
      scope: MAF_SCOPE,
    });
    for (const broadcast of broadcasts) {
      mafEdge(sc, ctx, run.spanId, 'FanOutEdgeGroup', groups[at]!, broadcast, id);
      for (const other of others) {
        const cached = open(sc, 50);
        close(sc, ctx, cached, { parentSpanId: run.spanId, name: `executor.process ${other}`, attributes: mafExecutorAttributes(other, 'HandoffAgentExecutor', 'AgentExecutorRequest'), links: [broadcast], scope: MAF_SCOPE }, 30);
      }
    }
    if (sent !== undefined) mafEdge(sc, ctx, run.spanId, 'FanOutEdgeGroup', groups[at]!, sent, id, next);
    handoffSend = sent;
  }
  mafRun(sc, ctx, run, 'wf-handoff', 'support handoff', ctx.taskId);
}

// --- CrewAI through OpenInference (the crewai dialect) -----------------------------

const CREW_SCOPE: OtlpScope = { name: 'openinference.instrumentation.crewai', version: '0.1.16' };
const CREW_LISTENER_SCOPE: OtlpScope = { name: 'openinference.instrumentation.crewai._event_listener' };
const OPENAI_SCOPE: OtlpScope = { name: 'openinference.instrumentation.openai' };
const CREW = ['Researcher', 'Writer', 'Editor'] as const;
const OI_AGENT = str('openinference.span.kind', 'AGENT');
const OI_CHAIN = str('openinference.span.kind', 'CHAIN');
const OI_TOOL = str('openinference.span.kind', 'TOOL');
const OI_LLM = str('openinference.span.kind', 'LLM');
const JSON_MIME = str('input.mime_type', 'application/json');
const TEXT_OUT = str('output.mime_type', 'text/plain');
const OK = { code: 1 };

/** A UUID-shaped id from a counter, as the fixtures' seeded ids are. */
const uuidOf = (n: number, tag: number): string => {
  const hex = (n >>> 0).toString(16).padStart(8, '0');
  return `${hex}-0000-4000-8${(tag & 0xfff).toString(16).padStart(3, '0')}-${hex}${(tag & 0xffff).toString(16).padStart(4, '0')}`;
};

function crewRoster(): string {
  return JSON.stringify(
    CREW.map((role, i) => ({ key: uuidOf(i + 3, 3), id: uuidOf(i + 4, 4), role, goal: `be a good ${role}`, backstory: '', 'verbose?': false, max_iter: 25, max_rpm: null, delegation_enabled: false, tools_names: [] })),
  );
}

/** `ChatCompletion` of OpenInference's OpenAI instrumentation, inside whatever called the model. */
function openAiCompletion(sc: Scenario, ctx: Ctx, parentSpanId: string): void {
  const startUs = sc.tick(100);
  sc.span(ctx, {
    spanId: sc.out.spanId(),
    parentSpanId,
    name: 'ChatCompletion',
    startUs,
    endUs: sc.tick(200_000),
    attributes: [OI_LLM, str('llm.model_name', 'gpt-4o-mini-2024-07-18'), str('llm.provider', 'openai'), str('llm.system', 'openai'), int('llm.token_count.prompt', 512), int('llm.token_count.completion', 64), int('llm.token_count.total', 576)],
    scope: OPENAI_SCOPE,
  });
}

/**
 * One sequential crew of n tasks, Researcher → Writer → Editor → Researcher …, in the
 * instrumentor's wrapper mode with OpenInference's OpenAI instrumentation beside it
 * (fixtures/frameworks/python/crewai-sequential and crewai-delegation-wrapper): under
 * `Crew_{id}.kickoff` (its `crew_tasks` listing every task) one `{role}.{task}._execute_core`
 * AGENT span per task, the instrumentation declaring the previous agent of `crew.agents`
 * as `graph.node.parent_id`; in each a model call, the agent's `search_web` tool, a model
 * call. 4 spans a task.
 */
function crewAiSequential(sc: Scenario, n: number): void {
  const ctx = { traceId: sc.out.traceId(), taskId: 'crew' };
  const crewId = uuidOf(1, 1);
  const crewKey = uuidOf(2, 2).replace(/-/g, '');
  const kickoff = open(sc);
  const tasks: object[] = [];
  for (let i = 0; i < n; i++) {
    const at = i % CREW.length;
    const role = CREW[at]!;
    const taskName = `${role.toLowerCase()} ${i}`;
    const taskId = uuidOf(i + 100, 13);
    tasks.push({ id: taskId, description: taskName, expected_output: 'text', 'async_execution?': false, 'human_input?': false, agent_role: role, agent_key: null, context: null, tools_names: ['search_web'] });
    const task = open(sc, 200);
    openAiCompletion(sc, ctx, task.spanId);
    const toolStart = sc.tick(100);
    sc.span(ctx, {
      spanId: sc.out.spanId(),
      parentSpanId: task.spanId,
      name: 'search_web.run',
      startUs: toolStart,
      endUs: sc.tick(50_000),
      attributes: [
        OI_TOOL,
        str('input.value', `{"query":"${taskName}"}`),
        JSON_MIME,
        str('tool.name', 'search_web'),
        str('tool.description', 'Tool Name: search_web'),
        bool('tool.description_updated', false),
        bool('tool.result_as_answer', false),
        int('tool.current_usage_count', 0),
        str('output.value', 'three sources'),
      ],
      scope: CREW_SCOPE,
    });
    openAiCompletion(sc, ctx, task.spanId);
    const attributes = [
      OI_AGENT,
      str('input.value', `{"agent":"${role}","context":"","tools":null}`),
      JSON_MIME,
      str('task_key', uuidOf(i + 100, 12).replace(/-/g, '')),
      str('task_id', taskId),
      str('task_name', taskName),
      str('graph.node.id', role),
      str('crew_key', crewKey),
      str('crew_id', crewId),
    ];
    if (at > 0) attributes.push(str('graph.node.parent_id', CREW[at - 1]!));
    attributes.push(str('output.value', `${taskName} done`));
    close(sc, ctx, task, { parentSpanId: kickoff.spanId, name: `${role}.${taskName}._execute_core`, attributes, scope: CREW_SCOPE });
  }
  close(sc, ctx, kickoff, {
    parentSpanId: '',
    name: `Crew_${crewId}.kickoff`,
    attributes: [
      OI_CHAIN,
      str('input.value', '{"topic":"AI agents"}'),
      JSON_MIME,
      str('crew_key', crewKey),
      str('crew_id', crewId),
      str('crew_inputs', '{"topic":"AI agents"}'),
      str('crew_agents', crewRoster()),
      str('crew_tasks', JSON.stringify(tasks)),
      str('output.value', 'the final report'),
    ],
    scope: CREW_SCOPE,
  });
}

/** The event listener's model call span. */
function crewLlmCall(sc: Scenario, ctx: Ctx, parentSpanId: string): void {
  const startUs = sc.tick(100);
  sc.span(ctx, {
    spanId: sc.out.spanId(),
    parentSpanId,
    name: 'gpt-4o-mini.llm_call',
    startUs,
    endUs: sc.tick(200_000),
    attributes: [OI_LLM, str('llm.model_name', 'gpt-4o-mini'), str('output.value', 'a tool call'), TEXT_OUT],
    status: OK,
    scope: CREW_LISTENER_SCOPE,
  });
}

/**
 * A hierarchical crew whose manager delegates n times, to Researcher, Writer, Editor in turn,
 * in the instrumentor's event-listener mode (fixtures/frameworks/python/crewai-event-listener):
 * in the manager's task span, per delegation a model call and the coworker tool
 * (`delegate_work_to_coworker`, `ask_question_to_coworker` every other time) with the
 * coworker's own AGENT run nested in it (its model call inside). 4 spans a delegation.
 */
function crewAiHierarchical(sc: Scenario, n: number): void {
  const ctx = { traceId: sc.out.traceId(), taskId: 'crew' };
  const kickoff = open(sc);
  const manager = open(sc);
  for (let i = 0; i < n; i++) {
    const coworker = CREW[i % CREW.length]!;
    const tool = i % 2 === 0 ? 'delegate_work_to_coworker' : 'ask_question_to_coworker';
    const task = `part ${i} of the launch`;
    crewLlmCall(sc, ctx, manager.spanId);
    const toolSpan = open(sc);
    const run = open(sc);
    crewLlmCall(sc, ctx, run.spanId);
    close(sc, ctx, run, {
      parentSpanId: toolSpan.spanId,
      name: `${coworker}.${task}.execute`,
      attributes: [
        OI_AGENT,
        str('input.value', `${task}\n\nThis is the expected criteria for your final answer: a plan`),
        str('input.mime_type', 'text/plain'),
        str('agent_id', uuidOf(i + 1000, 10)),
        str('agent_key', uuidOf(i + 1000, 11).replace(/-/g, '')),
        str('graph.node.id', coworker),
        str('agent.goal', `be a good ${coworker}`),
        str('task_id', uuidOf(i + 1000, 15)),
        str('task_description', task),
        str('task_expected_output', 'a plan'),
        str('output.value', `${task}: done`),
        TEXT_OUT,
      ],
      status: OK,
      scope: CREW_LISTENER_SCOPE,
    });
    close(sc, ctx, toolSpan, {
      parentSpanId: manager.spanId,
      name: `${tool}.run`,
      attributes: [
        OI_TOOL,
        str('tool.name', tool),
        str('input.value', `{"task":"${task}","context":"the launch plan","coworker":"${coworker}"}`),
        JSON_MIME,
        str('tool.agent_role', 'Crew Manager'),
        str('tool.task_name', 'launch plan'),
        int('tool.run_attempts', 0),
        str('output.value', `${task}: done`),
        TEXT_OUT,
      ],
      status: OK,
      scope: CREW_LISTENER_SCOPE,
    });
  }
  crewLlmCall(sc, ctx, manager.spanId);
  close(sc, ctx, manager, {
    parentSpanId: kickoff.spanId,
    name: 'Crew Manager.Plan the launch of our AI agents product.execute',
    attributes: [
      OI_AGENT,
      str('input.value', 'Plan the launch of our AI agents product\n\nThis is the expected criteria for your final answer: a plan'),
      str('input.mime_type', 'text/plain'),
      str('agent_id', uuidOf(10, 10)),
      str('agent_key', uuidOf(11, 11).replace(/-/g, '')),
      str('graph.node.id', 'Crew Manager'),
      str('agent.goal', 'be a good Crew Manager'),
      str('task_id', uuidOf(12, 12)),
      str('task_description', 'Plan the launch of our AI agents product'),
      str('task_expected_output', 'a plan'),
      str('agent.tools', '["Delegate work to coworker","Ask question to coworker"]'),
      str('output.value', 'the launch plan'),
      TEXT_OUT,
    ],
    status: OK,
    scope: CREW_LISTENER_SCOPE,
  });
  closeListenerKickoff(sc, ctx, kickoff);
}

/** The event-listener mode's `crew.kickoff` of the one-task launch crew, closed last (its roster, its task). */
function closeListenerKickoff(sc: Scenario, ctx: Ctx, kickoff: Open): void {
  close(sc, ctx, kickoff, {
    parentSpanId: '',
    name: 'crew.kickoff',
    attributes: [
      OI_CHAIN,
      str('input.value', '{"topic":"AI agents"}'),
      JSON_MIME,
      str('crew_key', uuidOf(2, 2).replace(/-/g, '')),
      str('crew_id', uuidOf(1, 1)),
      str('crew_agents', crewRoster()),
      str('crew_tasks', '[{"id":"4cea4b69-0000-4000-8009-4cea4b690009","description":"Plan the launch of our AI agents product","expected_output":"a plan","agent_role":null}]'),
      str('output.value', 'the launch plan'),
      TEXT_OUT,
    ],
    status: OK,
    scope: CREW_LISTENER_SCOPE,
  });
}

/**
 * Coworkers delegating on, n deep, in the event-listener mode: the manager delegates to
 * Researcher, whose run (nested in the tool, as the listener nests it) delegates to Writer, whose
 * run delegates to Editor, … (fixtures/frameworks/python/crewai-event-listener's delegation,
 * each coworker with `allow_delegation`); the innermost answers. Each run holds a model call and
 * the tool it delegates through: 3 spans a delegation, the tool n levels below the kickoff.
 */
function crewAiNested(sc: Scenario, n: number): void {
  const ctx = { traceId: sc.out.traceId(), taskId: 'crew' };
  const kickoff = open(sc);
  /** The runs and tools still open, outermost first (no recursion: n is large). */
  const frames: { run: Open; role: string; tool: Open; coworker: string }[] = [];
  /** The task the run at `depth` works on: the manager's own, then each the one delegated to it. */
  const taskAt = (depth: number): string => (depth === 0 ? 'Plan the launch of our AI agents product' : `part ${depth} of the launch`);
  let role = 'Crew Manager';
  for (let depth = 0; depth < n; depth++) {
    const run = open(sc);
    crewLlmCall(sc, ctx, run.spanId);
    const coworker = CREW[depth % CREW.length]!;
    frames.push({ run, role, tool: open(sc), coworker });
    role = coworker;
  }
  const runAttributes = (agent: string, depth: number, task: string): OtlpAttribute[] => [
    OI_AGENT,
    str('input.value', `${task}\n\nThis is the expected criteria for your final answer: a plan`),
    str('input.mime_type', 'text/plain'),
    str('agent_id', uuidOf(depth + 1000, 10)),
    str('agent_key', uuidOf(depth + 1000, 11).replace(/-/g, '')),
    str('graph.node.id', agent),
    str('agent.goal', `be a good ${agent}`),
    str('task_id', uuidOf(depth + 1000, 15)),
    str('task_description', task),
    str('task_expected_output', 'a plan'),
    str('agent.tools', '["Delegate work to coworker","Ask question to coworker"]'),
    str('output.value', `${task}: done`),
    TEXT_OUT,
  ];
  // The innermost coworker answers.
  const inner = open(sc);
  crewLlmCall(sc, ctx, inner.spanId);
  const last = frames[frames.length - 1];
  close(sc, ctx, inner, { parentSpanId: last ? last.tool.spanId : kickoff.spanId, name: `${role}.${taskAt(n)}.execute`, attributes: runAttributes(role, n, taskAt(n)), status: OK, scope: CREW_LISTENER_SCOPE });
  for (let depth = n - 1; depth >= 0; depth--) {
    const f = frames[depth]!;
    const tool = depth % 2 === 0 ? 'delegate_work_to_coworker' : 'ask_question_to_coworker';
    close(sc, ctx, f.tool, {
      parentSpanId: f.run.spanId,
      name: `${tool}.run`,
      attributes: [
        OI_TOOL,
        str('tool.name', tool),
        str('input.value', `{"task":"${taskAt(depth + 1)}","context":"the launch plan","coworker":"${f.coworker}"}`),
        JSON_MIME,
        str('tool.agent_role', f.role),
        str('tool.task_name', taskAt(depth)),
        int('tool.run_attempts', 0),
        str('output.value', `${taskAt(depth + 1)}: done`),
        TEXT_OUT,
      ],
      status: OK,
      scope: CREW_LISTENER_SCOPE,
    });
    const parentSpanId = depth === 0 ? kickoff.spanId : frames[depth - 1]!.tool.spanId;
    close(sc, ctx, f.run, { parentSpanId, name: `${f.role}.${taskAt(depth)}.execute`, attributes: runAttributes(f.role, depth, taskAt(depth)), status: OK, scope: CREW_LISTENER_SCOPE });
  }
  closeListenerKickoff(sc, ctx, kickoff);
}

// --- Agno through OpenInference (the openinference-agents dialect) ----------------

const AGNO_SCOPE: OtlpScope = { name: 'openinference.instrumentation.agno', version: '0.1.25' };
const AGNO_MEMBERS = [
  { id: 'web-researcher', name: 'Web Researcher' },
  { id: 'writer', name: 'Writer' },
  { id: 'fact-checker', name: 'Fact Checker' },
] as const;

/**
 * One Agno team run of n delegations to its members in turn (fixtures/frameworks/openinference-agents/agno-team,
 * a long session): the team's run holds, side by side, each `delegate_task_to_member` tool call and the
 * member's run it started (the tool's time holding the run's), each member run with its own search tool.
 * 3 spans a delegation.
 */
function agnoTeam(sc: Scenario, n: number): void {
  const ctx = { traceId: sc.out.traceId(), taskId: 'sess-7f3a' };
  const session = str('session.id', ctx.taskId);
  const user = str('user.id', 'ana@example.org');
  const teamNode = sc.out.spanId();
  const team = open(sc);
  for (let i = 0; i < n; i++) {
    const member = AGNO_MEMBERS[i % AGNO_MEMBERS.length]!;
    const task = `part ${i} of the brief`;
    const args = `{"member_id":"${member.id}","task":"${task}"}`;
    const tool = open(sc);
    const run = open(sc);
    const search = open(sc);
    sc.tick(40_000);
    close(sc, ctx, search, {
      parentSpanId: run.spanId,
      name: 'duckduckgo_search',
      attributes: [str('openinference.span.kind', 'TOOL'), JSON_MIME, str('input.value', `{"query":"${task}"}`), str('tool.name', 'duckduckgo_search'), str('tool.description', 'Use this function to duckduckgo search.'), str('tool.parameters', `{"query":"${task}"}`), str('output.value', '[{"title": "Heat pumps"}]'), TEXT_OUT],
      status: OK,
      scope: AGNO_SCOPE,
    });
    close(sc, ctx, run, {
      parentSpanId: team.spanId,
      name: `${member.name.replace(' ', '_')}.run`,
      attributes: [
        OI_AGENT,
        str('graph.node.id', sc.out.spanId()),
        str('input.value', task),
        str('graph.node.name', member.name),
        str('agent.name', member.name),
        str('agno.agent', member.name),
        session,
        user,
        str('graph.node.parent_id', teamNode),
        str('output.value', `${task}: done`),
        str('output.mime_type', 'application/json'),
        str('agno.run.id', uuidOf(i + 10, 3)),
      ],
      status: OK,
      scope: AGNO_SCOPE,
    });
    close(sc, ctx, tool, {
      parentSpanId: team.spanId,
      name: 'delegate_task_to_member',
      attributes: [str('openinference.span.kind', 'TOOL'), JSON_MIME, str('input.value', args), str('tool.name', 'delegate_task_to_member'), str('tool.description', 'Use this function to delegate task to member.'), str('tool.parameters', args), str('output.value', `${task}: done`), TEXT_OUT],
      status: OK,
      scope: AGNO_SCOPE,
    });
  }
  close(sc, ctx, team, {
    parentSpanId: '',
    name: 'Research_Team.run',
    attributes: [
      OI_AGENT,
      str('graph.node.id', teamNode),
      str('input.value', 'Write a short brief on heat pumps'),
      str('graph.node.name', 'Research Team'),
      str('agent.name', 'Research Team'),
      str('agno.team', 'Research Team'),
      session,
      user,
      str('output.value', 'Heat pumps: the brief, checked.'),
      str('output.mime_type', 'application/json'),
      str('agno.run.id', uuidOf(1, 3)),
    ],
    status: OK,
    scope: AGNO_SCOPE,
  });
}

// --- Strands Agents swarm (the otel-genai dialect) ---------------------------------

const STRANDS_SCOPE: OtlpScope = { name: 'strands.telemetry.tracer' };
const STRANDS = str('gen_ai.provider.name', 'strands-agents');
const CLAUDE = str('gen_ai.request.model', 'us.anthropic.claude-sonnet-4-20250514-v1:0');
const SWARM_RING = ['planner', 'coder', 'tester'] as const;
/** Strands' `gen_ai.event.*_time` attributes: ISO with `+00:00`. */
const isoOf = (us: number): string => new Date(Math.floor(us / 1000)).toISOString().replace('Z', '+00:00');

/** One Strands span, with the start and end times it also writes as attributes. */
function strandsSpan(sc: Scenario, ctx: Ctx, span: Open, parentSpanId: string, name: string, attributes: OtlpAttribute[], events?: OtlpEvent[], kind?: number): void {
  const endUs = sc.tick(100);
  sc.span(ctx, {
    spanId: span.spanId,
    parentSpanId,
    name,
    ...(kind !== undefined ? { kind } : {}),
    startUs: span.startUs,
    endUs,
    attributes: [str('gen_ai.operation.name', name.split(' ')[0]!), STRANDS, str('gen_ai.event.start_time', isoOf(span.startUs)), ...attributes, str('gen_ai.event.end_time', isoOf(endUs))],
    ...(events ? { events } : {}),
    scope: STRANDS_SCOPE,
  });
}

function strandsChat(sc: Scenario, ctx: Ctx, cycleSpanId: string): void {
  const chat = open(sc);
  sc.tick(200_000);
  strandsSpan(sc, ctx, chat, cycleSpanId, 'chat', [CLAUDE, int('gen_ai.usage.input_tokens', 1200), int('gen_ai.usage.output_tokens', 90)]);
}

/** `execute_tool {name}` with the latest conventions' events: the call's arguments, then its result. */
function strandsTool(sc: Scenario, ctx: Ctx, cycleSpanId: string, tool: string, callId: string, args: object, result: string): void {
  const span = open(sc);
  const atUs = sc.tick(50_000);
  const input = JSON.stringify([{ role: 'tool', parts: [{ type: 'tool_call', name: tool, id: callId, arguments: args }] }]);
  strandsSpan(
    sc,
    ctx,
    span,
    cycleSpanId,
    `execute_tool ${tool}`,
    [str('gen_ai.tool.name', tool), str('gen_ai.tool.call.id', callId), str('gen_ai.tool.status', 'success')],
    [event('gen_ai.client.inference.operation.details', atUs, [str('gen_ai.input.messages', input)]), event('gen_ai.choice', atUs + 10, [str('message', JSON.stringify([{ text: result }])), str('id', callId)])],
  );
}

/**
 * One Strands swarm of n handoffs round planner → coder → tester → planner …
 * (fixtures/frameworks/python/strands-swarm-loop, latest GenAI conventions): under
 * `invoke_swarm` one `invoke_agent` per turn, each with its event loop cycles: a model call
 * and a `run_tests` tool, a model call and `handoff_to_agent` (the next agent in the tool's
 * arguments), then a model call answering. The last agent answers without handing off.
 * 8 spans a handoff.
 */
function strandsSwarm(sc: Scenario, n: number): void {
  const ctx = { traceId: sc.out.traceId(), taskId: 'swarm' };
  const swarm = open(sc);
  let calls = 0;
  for (let turn = 0; turn <= n; turn++) {
    const agent = SWARM_RING[turn % SWARM_RING.length]!;
    const next = turn < n ? SWARM_RING[(turn + 1) % SWARM_RING.length]! : undefined;
    const run = open(sc);
    const cycle = (tool?: (cycleSpanId: string) => void): void => {
      const span = open(sc);
      strandsChat(sc, ctx, span.spanId);
      tool?.(span.spanId);
      strandsSpan(sc, ctx, span, run.spanId, 'execute_event_loop_cycle', [str('event_loop.cycle_id', uuidOf(turn * 4 + calls++, 1))]);
    };
    cycle((at) => strandsTool(sc, ctx, at, 'run_tests', `tooluse_${uuidOf(calls, 2).replace(/-/g, '').slice(0, 24)}`, { suite: 'unit' }, 'run_tests done'));
    if (next !== undefined) cycle((at) => strandsTool(sc, ctx, at, 'handoff_to_agent', `tooluse_${uuidOf(calls, 3).replace(/-/g, '').slice(0, 24)}`, { agent_name: next, message: 'over to you', context: {} }, `Handing off to ${next}: over to you`));
    cycle();
    strandsSpan(
      sc,
      ctx,
      run,
      swarm.spanId,
      `invoke_agent ${agent}`,
      [str('gen_ai.agent.name', agent), CLAUDE, str('gen_ai.agent.tools', '["run_tests", "handoff_to_agent"]'), int('gen_ai.usage.input_tokens', 3600), int('gen_ai.usage.output_tokens', 270), int('gen_ai.usage.total_tokens', 3870)],
      [event('gen_ai.user.message', run.startUs + 10, [str('content', '[{"text": "the task"}]')])],
    );
  }
  strandsSpan(sc, ctx, swarm, '', 'invoke_swarm', [str('gen_ai.agent.name', 'swarm')], [event('gen_ai.user.message', swarm.startUs + 10, [str('content', 'Fix the flaky test')]), event('gen_ai.choice', sc.nowUs, [str('message', 'done')])], KIND_CLIENT);
}

// --- Google ADK (the otel-genai dialect) -------------------------------------------

const ADK_SCOPE: OtlpScope = { name: 'gcp.vertex.agent', version: '1.19.0' };
const ADK_SESSION = '3f1c2a9e-7b4d-4e8a-9c61-2d5f8e0b7a14';

/**
 * One ADK invocation of n transfers round triage → billing → refunds → triage …
 * (fixtures/frameworks/python/adk-circular, scaled): ADK runs a transferred agent inside the
 * sender's model call (`_postprocess_handle_function_calls_async`), so each `invoke_agent`
 * holds a `call_llm` holding the `transfer_to_agent` tool call and the next agent's run: the
 * trace is n deep, as real as it is long. The last agent answers. 3 spans a transfer.
 */
function adkTransfers(sc: Scenario, n: number): void {
  const ctx = { traceId: sc.out.traceId(), taskId: ADK_SESSION };
  const invocationId = `e-${uuidOf(1, 1)}`;
  const invocation = open(sc);
  /** The agent runs and model calls still open, outermost first (no recursion: n is large). */
  const frames: { agent: string; run: Open; call: Open; callId: string; next: string }[] = [];
  const callLlm = (span: Open, parentSpanId: string, response: string): void =>
    close(sc, ctx, span, {
      parentSpanId,
      name: 'call_llm',
      attributes: [
        str('gen_ai.system', 'gcp.vertex.agent'),
        str('gen_ai.request.model', 'gemini-2.5-flash'),
        str('gcp.vertex.agent.invocation_id', invocationId),
        str('gcp.vertex.agent.session_id', ADK_SESSION),
        str('gcp.vertex.agent.event_id', uuidOf(span.startUs & 0xffffff, 2)),
        str('gcp.vertex.agent.llm_request', '{"model": "gemini-2.5-flash", "config": {}, "contents": []}'),
        str('gcp.vertex.agent.llm_response', response),
        int('gen_ai.usage.input_tokens', 812),
        int('gen_ai.usage.output_tokens', 41),
        strs('gen_ai.response.finish_reasons', ['stop']),
      ],
      scope: ADK_SCOPE,
    });
  const agentRun = (span: Open, parentSpanId: string, agent: string): void =>
    close(sc, ctx, span, {
      parentSpanId,
      name: `invoke_agent ${agent}`,
      attributes: [str('gen_ai.operation.name', 'invoke_agent'), str('gen_ai.agent.description', `the ${agent} agent`), str('gen_ai.agent.name', agent), str('gen_ai.conversation.id', ADK_SESSION)],
      scope: ADK_SCOPE,
    });
  for (let k = 0; k < n; k++) {
    const agent = SUPPORT[k % SUPPORT.length]!;
    const next = SUPPORT[(k + 1) % SUPPORT.length]!;
    const run = open(sc);
    const call = open(sc, 300_000);
    const callId = `adk-${uuidOf(k + 3, 3)}`;
    const tool = open(sc);
    close(sc, ctx, tool, {
      parentSpanId: call.spanId,
      name: 'execute_tool transfer_to_agent',
      attributes: [
        str('gen_ai.operation.name', 'execute_tool'),
        str('gen_ai.tool.description', 'Transfer the question to another agent.'),
        str('gen_ai.tool.name', 'transfer_to_agent'),
        str('gen_ai.tool.type', 'TransferToAgentTool'),
        str('gcp.vertex.agent.llm_request', '{}'),
        str('gcp.vertex.agent.llm_response', '{}'),
        str('gen_ai.tool.call.id', `adk-${uuidOf(k + 4, 4)}`),
        str('gcp.vertex.agent.event_id', uuidOf(k + 5, 5)),
        str('gcp.vertex.agent.tool_call_args', `{"agent_name": "${next}"}`),
        str('gcp.vertex.agent.tool_response', '{"result": null}'),
      ],
      scope: ADK_SCOPE,
    });
    frames.push({ agent, run, call, callId, next });
  }
  // The last agent answers.
  const lastAgent = SUPPORT[n % SUPPORT.length]!;
  const lastRun = open(sc);
  const lastCall = open(sc, 300_000);
  const outer = frames[frames.length - 1];
  callLlm(lastCall, lastRun.spanId, '{"content":{"parts":[{"text":"Here is what I found."}],"role":"model"}}');
  agentRun(lastRun, outer ? outer.call.spanId : invocation.spanId, lastAgent);
  for (let k = n - 1; k >= 0; k--) {
    const f = frames[k]!;
    callLlm(f.call, f.run.spanId, `{"content":{"parts":[{"function_call":{"id":"${f.callId}","name":"transfer_to_agent","args":{"agent_name":"${f.next}"}}}],"role":"model"}}`);
    agentRun(f.run, k === 0 ? invocation.spanId : frames[k - 1]!.call.spanId, f.agent);
  }
  close(sc, ctx, invocation, { parentSpanId: '', name: 'invocation', attributes: [], scope: ADK_SCOPE });
}

// --- Mastra workflows (otel-genai with mastra-workflows) ---------------------------

const MASTRA_SCOPE: OtlpScope = { name: '@mastra/otel-exporter', version: 'unknown' };
const MASTRA_AGENTS = ['research', 'writer', 'editor'] as const;

/** One Mastra span: `gen_ai.operation.name` and `mastra.span.type`, then the span's own attributes and the run id. */
function mastraSpan(sc: Scenario, ctx: Ctx, span: Open, parentSpanId: string, name: string, operation: string, type: string, attributes: OtlpAttribute[], runId: string, kind?: number): void {
  close(sc, ctx, span, {
    parentSpanId,
    name,
    ...(kind !== undefined ? { kind } : {}),
    attributes: [str('gen_ai.operation.name', operation), str('mastra.span.type', type), ...attributes, str('mastra.metadata.runId', runId)],
    status: OK,
    scope: MASTRA_SCOPE,
  });
}

/** An agent used as a step (`createStep(agent)`): its `invoke_agent` run inside the step, the model's generation, step, inference and chunk nested in it. */
function mastraAgentStep(sc: Scenario, ctx: Ctx, workflowSpanId: string, workflowRunId: string, stepId: string, agent: string, runId: string, prompt: string, text: string): void {
  const step = open(sc, 300);
  const run = open(sc);
  const generation = open(sc);
  const modelStep = open(sc);
  const chat = open(sc);
  const chunk = open(sc, 200_000);
  mastraSpan(sc, ctx, chunk, chat.spanId, `model_chunk ${agent}`, 'model_chunk', 'model_chunk', [str('mastra.model_chunk.output', `{"text":"${text}"}`)], runId);
  mastraSpan(
    sc,
    ctx,
    chat,
    modelStep.spanId,
    'chat scripted-1',
    'chat',
    'model_inference',
    [
      str('gen_ai.output.messages', `[{"role":"assistant","parts":[{"type":"text","content":"${text}"}]}]`),
      str('gen_ai.request.model', 'scripted-1'),
      str('gen_ai.provider.name', 'scripted'),
      int('gen_ai.usage.input_tokens', 40),
      int('gen_ai.usage.output_tokens', 12),
      str('gen_ai.agent.id', agent),
      str('gen_ai.agent.name', agent),
      str('mastra.completion_start_time', new Date(Math.floor(chat.startUs / 1000)).toISOString()),
      str('gen_ai.response.finish_reasons', '["stop"]'),
      str('gen_ai.response.model', 'scripted-1'),
    ],
    runId,
    KIND_CLIENT,
  );
  const messages = `[{"role":"system","content":"${agent}."},{"role":"user","content":"${prompt}"}]`;
  mastraSpan(sc, ctx, modelStep, generation.spanId, `agent_step ${agent}`, 'agent_step', 'model_step', [
    str('mastra.model_step.input', messages),
    str('mastra.model_step.output', `{"text":"${text}","toolCalls":[]}`),
    str('mastra.model_step.step_index', '0'),
    str('mastra.model_step.is_continued', 'False'),
  ], runId);
  mastraSpan(sc, ctx, generation, run.spanId, 'model_generation scripted-1', 'model_generation', 'model_generation', [
    str('mastra.model_generation.input', `{"messages":${messages}}`),
    str('mastra.model_generation.output', `{"files":[],"reasoning":[],"sources":[],"text":"${text}","warnings":[]}`),
  ], runId);
  mastraSpan(sc, ctx, run, step.spanId, `invoke_agent ${agent}`, 'invoke_agent', 'agent_run', [
    str('mastra.agent_run.input', prompt),
    str('mastra.agent_run.output', `{"text":"${text}","files":[]}`),
    str('gen_ai.agent.id', agent),
    str('gen_ai.agent.name', agent),
    str('gen_ai.system_instructions', `${agent}.`),
  ], runId);
  mastraSpan(sc, ctx, step, workflowSpanId, `workflow_step ${stepId}`, 'workflow_step', 'workflow_step', [
    str('mastra.workflow_step.input', `{"prompt":"${prompt}"}`),
    str('mastra.workflow_step.output', `{"text":"${text}"}`),
    str('mastra.workflow_step.step_id', stepId),
    str('mastra.workflow_step.status', 'success'),
  ], workflowRunId);
}

/**
 * One Mastra workflow run of n agent steps, research → writer → editor → research …, each
 * followed by a `.map` step feeding the next (fixtures/frameworks/mastra/workflow, recorded
 * from Mastra through `@mastra/otel-exporter`): under `invoke_workflow` the agent steps'
 * `workflow_step` spans with the agent's `invoke_agent` run inside and the mapping steps'
 * `workflow_step` beside them. 7 spans an agent step.
 */
function mastraWorkflow(sc: Scenario, n: number): void {
  const ctx = { traceId: sc.out.traceId(), taskId: 'workflow' };
  const workflowRunId = uuidOf(1, 1);
  const workflow = open(sc);
  for (let i = 0; i < n; i++) {
    const agent = MASTRA_AGENTS[i % MASTRA_AGENTS.length]!;
    mastraAgentStep(sc, ctx, workflow.spanId, workflowRunId, `${agent}_${i}`, agent, uuidOf(i + 10, 2), `Work on draft ${i}`, `draft ${i + 1}`);
    const mapping = open(sc);
    mastraSpan(sc, ctx, mapping, workflow.spanId, `workflow_step mapping_article_${i}`, 'workflow_step', 'workflow_step', [
      str('mastra.workflow_step.input', `{"text":"draft ${i + 1}"}`),
      str('mastra.workflow_step.output', `{"prompt":"Work on draft ${i + 1}"}`),
      str('mastra.workflow_step.step_id', `mapping_article_${i}`),
      str('mastra.workflow_step.status', 'success'),
    ], workflowRunId);
  }
  mastraSpan(sc, ctx, workflow, '', 'invoke_workflow article', 'invoke_workflow', 'workflow_run', [
    str('mastra.workflow_run.input', '{"prompt":"why tides?"}'),
    str('mastra.workflow_run.output', '{"published":true}'),
    str('mastra.workflow_run.status', 'success'),
  ], workflowRunId);
}

// --- OpenAI Agents SDK through Baton's tracing processor (the openai-agents dialect) --

const AGENTS_SCOPE: OtlpScope = { name: 'baton.openai-agents', version: '0.1.0' };
const AGENTS_HUB = ['Triage Agent', 'Billing Agent', 'Refunds Agent'] as const;
const OPENAI = str('gen_ai.provider.name', 'openai');

/**
 * One OpenAI Agents SDK run of n handoffs round Triage Agent → Billing Agent → Refunds Agent →
 * Triage Agent … (fixtures/frameworks/openai-agents/hub, recorded from `@openai/agents` through
 * `BatonAgentsTracingProcessor`): the trace's `invoke_workflow` span, its `task`, one
 * `invoke_agent` per agent run with its turns (`turn {k} {agent}`), each turn's model call
 * (`chat`), a function tool in the first and the handoff (`execute_tool transfer_to_…`,
 * `openai_agents.span.type` handoff) in the second. The last agent answers. 7 spans a handoff.
 */
function openAiAgentsRun(sc: Scenario, n: number): void {
  const ctx = { traceId: sc.out.traceId(), taskId: 'conv-hub' };
  const traceRef = str('openai_agents.trace.id', `trace_${ctx.traceId}`);
  const sdkId = (spanId: string) => `span_${spanId}${spanId.slice(0, 8)}`;
  const common = (type: string, spanId: string, parentSpanId: string | undefined): OtlpAttribute[] => {
    const attributes = [str('openai_agents.span.type', type), str('openai_agents.span.id', sdkId(spanId)), traceRef];
    if (parentSpanId !== undefined) attributes.push(str('openai_agents.parent.id', sdkId(parentSpanId)));
    attributes.push(OPENAI);
    return attributes;
  };
  const workflow = open(sc);
  const task = open(sc);
  let turnNumber = 0;
  for (let k = 0; k <= n; k++) {
    const agent = AGENTS_HUB[k % AGENTS_HUB.length]!;
    const next = k < n ? AGENTS_HUB[(k + 1) % AGENTS_HUB.length]! : undefined;
    const run = open(sc);
    const turn = (tool?: (turnSpanId: string) => void): void => {
      const span = open(sc);
      turnNumber++;
      const chat = open(sc);
      sc.tick(300_000);
      close(sc, ctx, chat, {
        parentSpanId: span.spanId,
        name: `chat scripted-${agent.toLowerCase().replace(' ', '-')}`,
        kind: KIND_CLIENT,
        attributes: [...common('generation', chat.spanId, span.spanId), str('gen_ai.operation.name', 'chat'), str('gen_ai.request.model', `scripted-${agent.toLowerCase().replace(' ', '-')}`), int('gen_ai.usage.input_tokens', 40), int('gen_ai.usage.output_tokens', 8)],
        scope: AGENTS_SCOPE,
      });
      tool?.(span.spanId);
      close(sc, ctx, span, {
        parentSpanId: run.spanId,
        name: `turn ${turnNumber} ${agent}`,
        attributes: [...common('turn', span.spanId, run.spanId), int('openai_agents.turn', turnNumber), str('openai_agents.turn.agent_name', agent)],
        scope: AGENTS_SCOPE,
      });
    };
    turn((at) => {
      const tool = open(sc);
      sc.tick(20_000);
      close(sc, ctx, tool, {
        parentSpanId: at,
        name: 'execute_tool lookup_order',
        attributes: [...common('function', tool.spanId, at), str('gen_ai.operation.name', 'execute_tool'), str('gen_ai.tool.name', 'lookup_order'), str('gen_ai.tool.type', 'function')],
        scope: AGENTS_SCOPE,
      });
    });
    turn(
      next === undefined
        ? undefined
        : (at) => {
            const handoff = open(sc);
            const tool = `transfer_to_${next.replace(' ', '_')}`;
            close(sc, ctx, handoff, {
              parentSpanId: at,
              name: `execute_tool ${tool}`,
              attributes: [
                ...common('handoff', handoff.spanId, at),
                str('gen_ai.operation.name', 'execute_tool'),
                str('gen_ai.tool.name', tool),
                str('gen_ai.tool.type', 'function'),
                str('gen_ai.transfer.mode', 'pass_control'),
                str('openai_agents.handoff.from_agent', agent),
                str('openai_agents.handoff.to_agent', next),
                str('gen_ai.agent.handoff.source.name', agent),
                str('gen_ai.transfer.target.name', next),
                str('gen_ai.transfer.target.type', 'agent'),
                str('gen_ai.agent.handoff.target.name', next),
              ],
              scope: AGENTS_SCOPE,
            });
          },
    );
    close(sc, ctx, run, {
      parentSpanId: task.spanId,
      name: `invoke_agent ${agent}`,
      attributes: [
        ...common('agent', run.spanId, task.spanId),
        str('gen_ai.operation.name', 'invoke_agent'),
        str('gen_ai.agent.name', agent),
        strs('openai_agents.agent.handoffs', AGENTS_HUB.filter((a) => a !== agent)),
        strs('openai_agents.agent.tools', ['lookup_order']),
        str('openai_agents.agent.output_type', 'text'),
      ],
      scope: AGENTS_SCOPE,
    });
  }
  close(sc, ctx, task, { parentSpanId: workflow.spanId, name: 'task support hub', attributes: common('task', task.spanId, undefined), scope: AGENTS_SCOPE });
  close(sc, ctx, workflow, {
    parentSpanId: '',
    name: 'invoke_workflow support hub',
    attributes: [str('openai_agents.span.type', 'trace'), traceRef, str('gen_ai.operation.name', 'invoke_workflow'), OPENAI, str('gen_ai.workflow.name', 'support hub'), str('openai_agents.group.id', ctx.taskId), str('gen_ai.conversation.id', ctx.taskId)],
    scope: AGENTS_SCOPE,
  });
}

/**
 * Agents used as tools (`agent.asTool()`), each asking the next inside its own tool call, n deep
 * (fixtures/frameworks/openai-agents/retry's `ask_researcher`, chained): under the orchestrator's
 * turn, `execute_tool ask_{next}` holds the SDK's `task Agent workflow` span, the next agent's
 * `invoke_agent` and its turn, whose model call is followed by its own ask tool; the innermost
 * agent answers. 5 spans an ask.
 */
function openAiAgentsNested(sc: Scenario, n: number): void {
  const ctx = { traceId: sc.out.traceId(), taskId: 'conv-nested' };
  const traceRef = str('openai_agents.trace.id', `trace_${ctx.traceId}`);
  const sdkId = (spanId: string) => `span_${spanId}${spanId.slice(0, 8)}`;
  const common = (type: string, spanId: string, parentSpanId: string | undefined): OtlpAttribute[] => {
    const attributes = [str('openai_agents.span.type', type), str('openai_agents.span.id', sdkId(spanId)), traceRef];
    if (parentSpanId !== undefined) attributes.push(str('openai_agents.parent.id', sdkId(parentSpanId)));
    attributes.push(OPENAI);
    return attributes;
  };
  const agentOf = (depth: number) => (depth === 0 ? 'orchestrator' : `specialist ${depth}`);
  const workflow = open(sc);
  const task = open(sc);
  /** Per depth: the agent's run, its turn, and (below the innermost) the ask tool and the SDK task inside it, outermost first. */
  const frames: { run: Open; turn: Open; tool: Open; inner: Open; parent: string }[] = [];
  let parent = task.spanId;
  const chat = (turnSpanId: string, agent: string): void => {
    const span = open(sc);
    sc.tick(300_000);
    const model = `scripted-${agent.replace(' ', '-')}`;
    close(sc, ctx, span, { parentSpanId: turnSpanId, name: `chat ${model}`, kind: KIND_CLIENT, attributes: [...common('generation', span.spanId, turnSpanId), str('gen_ai.operation.name', 'chat'), str('gen_ai.request.model', model), int('gen_ai.usage.input_tokens', 40), int('gen_ai.usage.output_tokens', 8)], scope: AGENTS_SCOPE });
  };
  const finish = (run: Open, turn: Open, parentSpanId: string, depth: number): void => {
    const agent = agentOf(depth);
    close(sc, ctx, turn, { parentSpanId: run.spanId, name: `turn 1 ${agent}`, attributes: [...common('turn', turn.spanId, run.spanId), int('openai_agents.turn', 1), str('openai_agents.turn.agent_name', agent)], scope: AGENTS_SCOPE });
    close(sc, ctx, run, {
      parentSpanId,
      name: `invoke_agent ${agent}`,
      attributes: [...common('agent', run.spanId, parentSpanId), str('gen_ai.operation.name', 'invoke_agent'), str('gen_ai.agent.name', agent), strs('openai_agents.agent.handoffs', []), strs('openai_agents.agent.tools', depth < n ? [`ask_${agentOf(depth + 1).replace(' ', '_')}`] : []), str('openai_agents.agent.output_type', 'text')],
      scope: AGENTS_SCOPE,
    });
  };
  for (let depth = 0; depth < n; depth++) {
    const run = open(sc);
    const turn = open(sc);
    chat(turn.spanId, agentOf(depth));
    const tool = open(sc);
    const inner = open(sc);
    frames.push({ run, turn, tool, inner, parent });
    parent = inner.spanId;
  }
  const innermost = open(sc);
  const innermostTurn = open(sc);
  chat(innermostTurn.spanId, agentOf(n));
  finish(innermost, innermostTurn, parent, n);
  for (let depth = n - 1; depth >= 0; depth--) {
    const f = frames[depth]!;
    close(sc, ctx, f.inner, { parentSpanId: f.tool.spanId, name: 'task Agent workflow', attributes: common('task', f.inner.spanId, f.tool.spanId), scope: AGENTS_SCOPE });
    close(sc, ctx, f.tool, { parentSpanId: f.turn.spanId, name: `execute_tool ask_${agentOf(depth + 1).replace(' ', '_')}`, attributes: [...common('function', f.tool.spanId, f.turn.spanId), str('gen_ai.operation.name', 'execute_tool'), str('gen_ai.tool.name', `ask_${agentOf(depth + 1).replace(' ', '_')}`), str('gen_ai.tool.type', 'function')], scope: AGENTS_SCOPE });
    finish(f.run, f.turn, f.parent, depth);
  }
  close(sc, ctx, task, { parentSpanId: workflow.spanId, name: 'task nested specialists', attributes: common('task', task.spanId, undefined), scope: AGENTS_SCOPE });
  close(sc, ctx, workflow, {
    parentSpanId: '',
    name: 'invoke_workflow nested specialists',
    attributes: [str('openai_agents.span.type', 'trace'), traceRef, str('gen_ai.operation.name', 'invoke_workflow'), OPENAI, str('gen_ai.workflow.name', 'nested specialists'), str('openai_agents.group.id', ctx.taskId), str('gen_ai.conversation.id', ctx.taskId)],
    scope: AGENTS_SCOPE,
  });
}

// --- LangGraph through OpenInference (the openinference dialect) -----------------

const OI_JSON = str('input.mime_type', 'application/json');
/** What LangGraph JS records when a handoff jumps to the parent graph (the stack is longer in real traces). */
const PARENT_COMMAND = { code: 2, message: 'ParentCommand\n    at RunnableCallable._controlBranch (node_modules/@langchain/langgraph/dist/pregel/runnable_types.js:1:1)' };
const SWARM = ['alice', 'bob', 'carol'] as const;
/** A message list as OpenInference writes inputs and outputs (a few hundred bytes, as a short conversation). */
const MESSAGES_JSON = JSON.stringify({
  messages: [
    { lc: 1, type: 'constructor', id: ['langchain_core', 'messages', 'HumanMessage'], kwargs: { content: 'route this ticket to the right team', additional_kwargs: {}, response_metadata: {} } },
  ],
});

function langGraphMetadata(threadId: string, node: string, step: number, ns: string): OtlpAttribute {
  return str(
    'metadata',
    `{"ls_integration":"langgraph","thread_id":"${threadId}","langgraph_step":${step},"langgraph_node":"${node}","langgraph_triggers":["branch:to:${node}"],"langgraph_path":["__pregel_pull","${node}"],"langgraph_checkpoint_ns":"${ns}","checkpoint_ns":"${ns}"}`,
  );
}

/** The graph's `__start__` node at checkpoint namespace `ns`, under `parentSpanId`. */
function langGraphStart(sc: Scenario, ctx: Ctx, parentSpanId: string, threadId: string, ns: string, session: OtlpAttribute, input: boolean): void {
  const start = sc.out.spanId();
  const startAt = sc.tick(input ? 200 : 100);
  const attributes = input ? [OI_CHAIN, str('input.value', MESSAGES_JSON), OI_JSON, langGraphMetadata(threadId, '__start__', 0, ns), session] : [OI_CHAIN, langGraphMetadata(threadId, '__start__', 0, ns), session];
  sc.foreign(ctx, start, parentSpanId, '__start__', startAt, sc.tick(input ? 300 : 100), attributes, OK);
}

/**
 * A ReAct agent's `agent` node under the subgraph `sub`: the prompt and the model call in a
 * RunnableSequence, then the router saying where the graph goes next.
 */
function langGraphModelNode(sc: Scenario, ctx: Ctx, sub: string, threadId: string, ns: string, step: number, route: string, session: OtlpAttribute): void {
  const agentNode = sc.out.spanId();
  const agentMeta = langGraphMetadata(threadId, 'agent', 1, `${ns}|agent:${step}`);
  const agentStart = sc.tick(100);
  const seq = sc.out.spanId();
  const seqStart = sc.tick(50);
  sc.foreign(ctx, sc.out.spanId(), seq, 'prompt', sc.tick(20), sc.tick(50), [OI_CHAIN, str('input.value', MESSAGES_JSON), OI_JSON, agentMeta, session], OK);
  sc.foreign(
    ctx,
    sc.out.spanId(),
    seq,
    'ChatOpenAI',
    sc.tick(20),
    sc.tick(400_000),
    [OI_LLM, str('input.value', MESSAGES_JSON), OI_JSON, str('output.value', MESSAGES_JSON), str('llm.model_name', 'gpt-4.1'), int('llm.token_count.prompt', 120 + sc.jitter(40)), int('llm.token_count.completion', 30), agentMeta, session],
    OK,
  );
  sc.foreign(ctx, seq, agentNode, 'RunnableSequence', seqStart, sc.tick(50), [OI_CHAIN, str('input.value', MESSAGES_JSON), OI_JSON, agentMeta, session], OK);
  sc.foreign(ctx, sc.out.spanId(), agentNode, 'RunnableLambda', sc.tick(20), sc.tick(50), [OI_CHAIN, str('output.value', route), agentMeta, session], OK);
  sc.foreign(ctx, agentNode, sub, 'agent', agentStart, sc.tick(50), [OI_CHAIN, str('input.value', MESSAGES_JSON), OI_JSON, agentMeta, session], OK);
}

/** The transfer tool's output: a Command to the parent graph naming the next agent. */
function transferCommand(tool: string, next: string): string {
  return `{"output":{"lg_name":"Command","update":{"messages":[{"lc":1,"type":"constructor","id":["langchain_core","messages","ToolMessage"],"kwargs":{"content":"Successfully transferred to ${next}","name":"${tool}"}}],"activeAgent":"${next}"},"goto":["${next}"]}}`;
}

/**
 * One swarm agent's node under the graph's root, as the OpenInference LangChain instrumentation
 * records it (fixtures/frameworks/langgraph/chain): the outer node span, its subgraph span, the
 * subgraph's `__start__`, the ReAct agent's `agent` node and, when it hands off, the `tools` node
 * with the `transfer_to_<next>` tool returning a Command; a sender's node spans end in ERROR
 * (ParentCommand). 10 spans (8 for the agent that answers).
 */
function langGraphSwarmNode(sc: Scenario, ctx: Ctx, rootId: string, threadId: string, session: OtlpAttribute, agent: string, next: string | undefined, step: number, ns: string): void {
  const outer = sc.out.spanId();
  const outerStart = sc.tick(500);
  const sub = sc.out.spanId();
  const subStart = sc.tick(100);
  const metadata = langGraphMetadata(threadId, agent, step, ns);
  langGraphStart(sc, ctx, sub, threadId, `${ns}|__start__:0`, session, false);
  langGraphModelNode(sc, ctx, sub, threadId, ns, step, next ? 'tools' : '__end__', session);
  let status: { code: number; message?: string } = OK;
  if (next) {
    // The tools step: the transfer tool returns a Command to the parent graph, which LangGraph throws.
    const toolsNode = sc.out.spanId();
    const toolsMeta = langGraphMetadata(threadId, 'tools', 2, `${ns}|tools:${step}`);
    const toolsStart = sc.tick(100);
    const tool = `transfer_to_${next}`;
    sc.foreign(ctx, sc.out.spanId(), toolsNode, tool, sc.tick(50), sc.tick(300), [OI_TOOL, str('tool.name', tool), str('input.value', '{}'), str('output.value', transferCommand(tool, next)), toolsMeta, session], OK);
    status = PARENT_COMMAND;
    sc.foreign(ctx, toolsNode, sub, 'tools', toolsStart, sc.tick(100), [OI_CHAIN, toolsMeta, session], status);
  }
  sc.foreign(ctx, sub, outer, agent, subStart, sc.tick(100), [OI_CHAIN, metadata, session], status);
  sc.foreign(ctx, outer, rootId, agent, outerStart, sc.tick(100), [OI_CHAIN, str('input.value', MESSAGES_JSON), OI_JSON, metadata, session], status);
}

function langGraphRoot(sc: Scenario, ctx: Ctx, rootId: string, rootStart: number, threadId: string, session: OtlpAttribute): void {
  sc.foreign(ctx, rootId, '', 'LangGraph', rootStart, sc.tick(200), [OI_CHAIN, str('input.value', MESSAGES_JSON), OI_JSON, str('metadata', `{"ls_integration":"langgraph","thread_id":"${threadId}"}`), session], OK);
}

/**
 * n LangGraph swarm runs (alice → bob → carol), one trace each, as the OpenInference
 * LangChain instrumentation records them (fixtures/frameworks/langgraph/chain is the
 * model). 30 spans a run.
 */
export function langGraphSwarms(sc: Scenario, n: number): void {
  for (let i = 0; i < n; i++) {
    sc.nowUs = sc.startUs + i * 2_000_000;
    const ctx = { traceId: sc.out.traceId(), taskId: `thread-${i}` };
    const threadId = ctx.taskId;
    const session = str('session.id', threadId);
    const rootId = sc.out.spanId();
    const rootStart = sc.tick(100);
    langGraphStart(sc, ctx, rootId, threadId, `__start__:${i}`, session, true);
    for (let a = 0; a < SWARM.length; a++) langGraphSwarmNode(sc, ctx, rootId, threadId, session, SWARM[a]!, SWARM[a + 1], a + 1, `${SWARM[a]!}:${i}-${a}`);
    langGraphRoot(sc, ctx, rootId, rootStart, threadId, session);
  }
}

/**
 * One LangGraph swarm thread of n handoffs round alice → bob → carol → alice …
 * (fixtures/frameworks/topologies/langgraph-swarm-laps, scaled): every agent node a child of the
 * one `LangGraph` root, its step one more than the last. 10 spans a handoff.
 */
function langGraphLaps(sc: Scenario, n: number): void {
  const ctx = { traceId: sc.out.traceId(), taskId: 'thread-laps' };
  const session = str('session.id', ctx.taskId);
  const rootId = sc.out.spanId();
  const rootStart = sc.tick(100);
  langGraphStart(sc, ctx, rootId, ctx.taskId, '__start__:0', session, true);
  for (let k = 0; k <= n; k++) {
    const agent = SWARM[k % SWARM.length]!;
    langGraphSwarmNode(sc, ctx, rootId, ctx.taskId, session, agent, k < n ? SWARM[(k + 1) % SWARM.length] : undefined, k + 1, `${agent}:${k}`);
  }
  langGraphRoot(sc, ctx, rootId, rootStart, ctx.taskId, session);
}

/**
 * ReAct agents asking the next one through a tool, each inside the last one's tool call, n deep
 * (fixtures/frameworks/topologies/langgraph-call-back, scaled: writer asks editor, who asks
 * writer, …): each agent's graph (`__start__`, `agent`, `tools` with its `ask_<next>` tool and
 * the next agent's graph nested in it, then `agent` again answering); the innermost answers.
 * n asks, each graph two levels below the last (tools, tool): the deep shape. 14 spans an ask.
 */
function langGraphNested(sc: Scenario, n: number): void {
  const ctx = { traceId: sc.out.traceId(), taskId: 'thread-nested' };
  const session = str('session.id', ctx.taskId);
  const pair = ['writer', 'editor'] as const;
  /** The graphs still open, outermost first: each waits for the ask inside it to end (no recursion: n is large). */
  const frames: { root: string; rootStart: number; parent: string; agent: string; next: string; ns: string; toolsNode: string; toolsStart: number; tool: string; toolStart: number }[] = [];
  let parent = '';
  for (let depth = 0; depth < n; depth++) {
    const agent = pair[depth % 2]!;
    const root = sc.out.spanId();
    const rootStart = sc.tick(100);
    const ns = `${agent}:${depth}`;
    langGraphStart(sc, ctx, root, ctx.taskId, `${ns}|__start__:0`, session, false);
    langGraphModelNode(sc, ctx, root, ctx.taskId, ns, 1, 'tools', session);
    const toolsNode = sc.out.spanId();
    const toolsStart = sc.tick(100);
    const tool = sc.out.spanId();
    frames.push({ root, rootStart, parent, agent, next: pair[(depth + 1) % 2]!, ns, toolsNode, toolsStart, tool, toolStart: sc.tick(50) });
    parent = tool;
  }
  const answer = (root: string, rootStart: number, parentSpanId: string, agent: string, ns: string): void => {
    langGraphModelNode(sc, ctx, root, ctx.taskId, ns, 3, '__end__', session);
    sc.foreign(ctx, root, parentSpanId, agent, rootStart, sc.tick(100), [OI_CHAIN, str('input.value', MESSAGES_JSON), OI_JSON, str('metadata', `{"ls_integration":"langgraph","thread_id":"${ctx.taskId}"}`), session], OK);
  };
  // The innermost agent answers at once.
  const inner = sc.out.spanId();
  const innerStart = sc.tick(100);
  const innerAgent = pair[n % 2]!;
  langGraphStart(sc, ctx, inner, ctx.taskId, `${innerAgent}:${n}|__start__:0`, session, false);
  answer(inner, innerStart, parent, innerAgent, `${innerAgent}:${n}`);
  for (let depth = n - 1; depth >= 0; depth--) {
    const f = frames[depth]!;
    const toolsMeta = langGraphMetadata(ctx.taskId, 'tools', 2, `${f.ns}|tools:2`);
    sc.foreign(ctx, f.tool, f.toolsNode, `ask_${f.next}`, f.toolStart, sc.tick(100), [OI_TOOL, str('tool.name', `ask_${f.next}`), str('input.value', '{"question":"is this right?"}'), str('output.value', 'yes'), toolsMeta, session], OK);
    sc.foreign(ctx, f.toolsNode, f.root, 'tools', f.toolsStart, sc.tick(100), [OI_CHAIN, toolsMeta, session], OK);
    answer(f.root, f.rootStart, f.parent, f.agent, f.ns);
  }
}

/** One framework shape (the ShapeDefinition of generate-shapes.ts, whose SHAPES list includes these). */
export interface FrameworkShape {
  readonly id: string;
  readonly title: string;
  readonly unit: string;
  readonly spansPerUnit: number;
  readonly description: string;
  readonly generate: (scenario: Scenario, n: number) => void;
}

export const FRAMEWORK_SHAPES: readonly FrameworkShape[] = [
  {
    id: 'agent-framework',
    title: 'Agent Framework workflow, executors in sequence',
    unit: 'executor runs',
    spansPerUnit: 3,
    description: 'one Agent Framework (Python) workflow.run of n executor runs, planner → coder → tester → planner … over single edges',
    generate: agentFrameworkCircular,
  },
  {
    id: 'agent-framework-nested',
    title: 'Agent Framework workflow, each executor nested in the send it handles',
    unit: 'executor runs',
    spansPerUnit: 3,
    description:
      'the same run with every executor and edge group a child of the send it handles (run > executor > send > executor > …, 2n deep): ' +
      'agent_framework links instead, but a runtime that propagates the message\'s traceparent as the parent nests so',
    generate: (sc, n) => agentFrameworkCircular(sc, n, true),
  },
  {
    id: 'agent-framework-handoff',
    title: 'Agent Framework HandoffBuilder, handoffs',
    unit: 'handoffs',
    spansPerUnit: 9,
    description: 'one HandoffBuilder workflow.run of n handoffs triage → billing → refunds → triage …, each reply broadcast to the others',
    generate: agentFrameworkHandoff,
  },
  {
    id: 'crewai-sequential',
    title: 'CrewAI sequential crew, tasks',
    unit: 'tasks',
    spansPerUnit: 4,
    description: 'one sequential crew of n tasks Researcher → Writer → Editor → Researcher … (OpenInference wrapper mode, a model call, a tool, a model call in each)',
    generate: crewAiSequential,
  },
  {
    id: 'crewai-hierarchical',
    title: 'CrewAI hierarchical crew, delegations',
    unit: 'delegations',
    spansPerUnit: 4,
    description: "one hierarchical crew whose manager delegates n times (OpenInference event-listener mode: each coworker's run nested in the tool)",
    generate: crewAiHierarchical,
  },
  {
    id: 'crewai-nested',
    title: 'CrewAI coworkers delegating on, nested delegations',
    unit: 'delegations',
    spansPerUnit: 3,
    description: "the manager delegates to a coworker who delegates on inside its run, … n deep (event-listener mode: each run nested in the tool that reached it)",
    generate: crewAiNested,
  },
  {
    id: 'agno-team',
    title: 'Agno team (OpenInference), delegations',
    unit: 'delegations',
    spansPerUnit: 3,
    description: "one Agno team run of n delegations to its three members in turn, each tool call beside the member run it started",
    generate: agnoTeam,
  },
  {
    id: 'strands-swarm',
    title: 'Strands swarm (OTel GenAI), handoffs',
    unit: 'handoffs',
    spansPerUnit: 9,
    description: 'one Strands swarm of n handoffs planner → coder → tester → planner …, each agent with three event loop cycles, a tool and the handoff tool',
    generate: strandsSwarm,
  },
  {
    id: 'adk-transfers',
    title: 'Google ADK invocation, transfers (each agent inside the last)',
    unit: 'transfers',
    spansPerUnit: 3,
    description: "one ADK invocation of n transfers triage → billing → refunds → triage …, each agent run inside the sender's model call (n deep)",
    generate: adkTransfers,
  },
  {
    id: 'mastra-workflow',
    title: 'Mastra workflow, agent steps',
    unit: 'agent steps',
    spansPerUnit: 7,
    description: 'one Mastra workflow run of n agent steps research → writer → editor → research …, a .map step after each',
    generate: mastraWorkflow,
  },
  {
    id: 'openai-agents',
    title: 'OpenAI Agents SDK run, handoffs',
    unit: 'handoffs',
    spansPerUnit: 7,
    description: "one OpenAI Agents SDK run of n handoffs Triage → Billing → Refunds → Triage … (Baton's tracing processor), two turns and a function tool per agent",
    generate: openAiAgentsRun,
  },
  {
    id: 'openai-agents-nested',
    title: 'OpenAI Agents SDK agents as tools, nested asks',
    unit: 'asks',
    spansPerUnit: 5,
    description: 'an orchestrator asks a specialist through agent.asTool(), who asks the next inside that call, … n deep',
    generate: openAiAgentsNested,
  },
  {
    id: 'langgraph-laps',
    title: 'LangGraph swarm thread (OpenInference), handoffs',
    unit: 'handoffs',
    spansPerUnit: 10,
    description: 'one LangGraph swarm thread of n handoffs alice → bob → carol → alice …, every agent node under the one root',
    generate: langGraphLaps,
  },
  {
    id: 'langgraph-nested',
    title: 'LangGraph agents asking through tools (OpenInference), nested asks',
    unit: 'asks',
    spansPerUnit: 14,
    description: 'writer asks editor through a tool, who asks writer inside that call, … n deep (each graph two levels below the last)',
    generate: langGraphNested,
  },
];
