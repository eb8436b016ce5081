/**
 * Every span attribute name Baton writes or reads, in one place.
 *
 * Names come from the OpenTelemetry semantic conventions where they cover the
 * ground (GenAI agent spans, messaging, database); only what none of them
 * covers gets a `baton.` name. docs/conventions.md documents each one: who
 * writes it, its type and an example. Bump CONVENTIONS_VERSION whenever a
 * name or a meaning changes, so readers can tell which format they hold.
 *
 * @see https://opentelemetry.io/docs/specs/semconv/gen-ai/gen-ai-agent-spans/
 * @see https://opentelemetry.io/docs/specs/semconv/messaging/messaging-spans/
 * @see https://opentelemetry.io/docs/specs/semconv/database/database-spans/
 */

/**
 * Version of the attribute conventions in this file; written on every Baton span.
 * 2: handoff spans stopped repeating what another span already says (docs/conventions.md,
 * "Version 2"); every name of version 1 is still read.
 */
export const CONVENTIONS_VERSION = '2';

/** Instrumentation scope name of every tracer and meter Baton creates. */
export const INSTRUMENTATION_SCOPE = 'baton';

// OpenTelemetry GenAI semantic conventions.
export const GEN_AI_OPERATION_NAME = 'gen_ai.operation.name';
export const GEN_AI_AGENT_NAME = 'gen_ai.agent.name';
export const GEN_AI_AGENT_ID = 'gen_ai.agent.id';
export const GEN_AI_CONVERSATION_ID = 'gen_ai.conversation.id';
export const GEN_AI_REQUEST_MODEL = 'gen_ai.request.model';
export const GEN_AI_USAGE_INPUT_TOKENS = 'gen_ai.usage.input_tokens';
export const GEN_AI_USAGE_OUTPUT_TOKENS = 'gen_ai.usage.output_tokens';
export const GEN_AI_PROVIDER_NAME = 'gen_ai.provider.name';
export const GEN_AI_TOOL_NAME = 'gen_ai.tool.name';
export const GEN_AI_TOOL_TYPE = 'gen_ai.tool.type';
/** Tool call arguments (opt-in; a JSON string, or a key-value list that ingest turns into one). */
export const GEN_AI_TOOL_CALL_ARGUMENTS = 'gen_ai.tool.call.arguments';
export const GEN_AI_WORKFLOW_NAME = 'gen_ai.workflow.name';
/** The GenAI input messages (JSON): where the latest conventions put a tool call's arguments (`parts[].arguments` of a `tool_call` part). */
export const GEN_AI_INPUT_MESSAGES = 'gen_ai.input.messages';
/** Span events carrying a tool call's input: Strands' default (`content` = the arguments as JSON) and the latest GenAI conventions' (`gen_ai.input.messages`). */
export const GEN_AI_TOOL_MESSAGE_EVENT = 'gen_ai.tool.message';
export const GEN_AI_OPERATION_DETAILS_EVENT = 'gen_ai.client.inference.operation.details';
/** The legacy GenAI event of a user message (`content`): where Strands puts an agent's input, a graph node's included. */
export const GEN_AI_USER_MESSAGE_EVENT = 'gen_ai.user.message';
/** The legacy GenAI event of a model's or agent's answer (`message`): Strands writes an agent run's final text there. */
export const GEN_AI_CHOICE_EVENT = 'gen_ai.choice';
/** The GenAI output messages (JSON `[{"role", "parts": [{"type": "text", "content"}]}]`). */
export const GEN_AI_OUTPUT_MESSAGES = 'gen_ai.output.messages';
/** Strands Agents' outcome of a tool call (`success` / `error`) on `execute_tool`. */
export const GEN_AI_TOOL_STATUS = 'gen_ai.tool.status';
/** Google ADK's tool arguments (`json.dumps`) on `execute_tool`: ADK writes no `gen_ai.tool.call.arguments`. */
export const GCP_VERTEX_AGENT_TOOL_CALL_ARGS = 'gcp.vertex.agent.tool_call_args';
/** Mastra's span type on every span its OTel exporter writes (`agent_run`, `tool_call`, `workflow_step`, …). */
export const MASTRA_SPAN_TYPE = 'mastra.span.type';
/** The step id of a Mastra workflow step span (`workflow_step {step id}`). */
export const MASTRA_WORKFLOW_STEP_ID = 'mastra.workflow_step.step_id';
/** Pydantic AI's instrumentation v2 names: the `agent run` span's `agent_name`, the `running tool` span's `tool_arguments`. */
export const PYDANTIC_AI_AGENT_NAME = 'agent_name';
export const PYDANTIC_AI_TOOL_ARGUMENTS = 'tool_arguments';
/** Pre-1.27 names of the usage counts, still written by older instrumentations. */
export const GEN_AI_USAGE_PROMPT_TOKENS = 'gen_ai.usage.prompt_tokens';
export const GEN_AI_USAGE_COMPLETION_TOKENS = 'gen_ai.usage.completion_tokens';
// Drafts of agent-to-agent interactions (semantic-conventions-genai, development):
// the tool-based transfer refinement of `execute_tool` (gen_ai.execute_tool.transfer.internal)…
export const GEN_AI_TRANSFER_MODE = 'gen_ai.transfer.mode';
export const GEN_AI_TRANSFER_TARGET_NAME = 'gen_ai.transfer.target.name';
export const GEN_AI_TRANSFER_TARGET_ID = 'gen_ai.transfer.target.id';
export const GEN_AI_TRANSFER_TARGET_TYPE = 'gen_ai.transfer.target.type';
// …the caller-aware refinement of the `invoke_agent` CLIENT span (gen_ai.invoke_agent.caller.client)…
export const GEN_AI_CALLER_NAME = 'gen_ai.caller.name';
export const GEN_AI_CALLER_TYPE = 'gen_ai.caller.type';
// …and a competing proposal naming both ends of a handoff.
export const GEN_AI_AGENT_HANDOFF_SOURCE_NAME = 'gen_ai.agent.handoff.source.name';
export const GEN_AI_AGENT_HANDOFF_TARGET_NAME = 'gen_ai.agent.handoff.target.name';
export const ERROR_TYPE = 'error.type';

// The OpenAI Agents SDK (@openai/agents) read through Baton's tracing processor or its own JSON
// export: the SDK's span data under `openai_agents.`, beside the GenAI names the processor also writes.
/** The SDK's span type (`agent`, `handoff`, `function`, `generation`, `response`, `guardrail`, `custom`, `task`, `turn`, …), or `trace` for the trace itself. */
export const OPENAI_AGENTS_SPAN_TYPE = 'openai_agents.span.type';
/** The SDK's own ids (`span_…`, `trace_…`), kept beside the OTel ids derived from them. */
export const OPENAI_AGENTS_SPAN_ID = 'openai_agents.span.id';
export const OPENAI_AGENTS_TRACE_ID = 'openai_agents.trace.id';
export const OPENAI_AGENTS_PARENT_ID = 'openai_agents.parent.id';
export const OPENAI_AGENTS_GROUP_ID = 'openai_agents.group.id';
export const OPENAI_AGENTS_HANDOFF_FROM_AGENT = 'openai_agents.handoff.from_agent';
export const OPENAI_AGENTS_HANDOFF_TO_AGENT = 'openai_agents.handoff.to_agent';
/** Every agent a response asked to hand off to, when it asked for more than one ("Multiple handoffs requested"); the SDK ran only the first. */
export const OPENAI_AGENTS_HANDOFF_REQUESTED_AGENTS = 'openai_agents.handoff.requested_agents';
export const OPENAI_AGENTS_AGENT_HANDOFFS = 'openai_agents.agent.handoffs';
export const OPENAI_AGENTS_AGENT_TOOLS = 'openai_agents.agent.tools';
export const OPENAI_AGENTS_AGENT_OUTPUT_TYPE = 'openai_agents.agent.output_type';
export const OPENAI_AGENTS_TURN = 'openai_agents.turn';
export const OPENAI_AGENTS_TURN_AGENT_NAME = 'openai_agents.turn.agent_name';
export const OPENAI_AGENTS_GUARDRAIL_TRIGGERED = 'openai_agents.guardrail.triggered';
export const OPENAI_AGENTS_ERROR_MESSAGE = 'openai_agents.error.message';
/** false on a trace span the processor closed itself because the SDK never ended the trace (a run that threw). */
export const OPENAI_AGENTS_TRACE_ENDED = 'openai_agents.trace.ended';
export const GEN_AI_RESPONSE_ID = 'gen_ai.response.id';
/** Tool call result (opt-in, like the arguments). */
export const GEN_AI_TOOL_CALL_RESULT = 'gen_ai.tool.call.result';
// OpenInference (Arize) span attributes, as its openai-agents instrumentation writes them.
export const OPENINFERENCE_SPAN_KIND = 'openinference.span.kind';
export const OPENINFERENCE_GRAPH_NODE_ID = 'graph.node.id';
export const OPENINFERENCE_GRAPH_NODE_PARENT_ID = 'graph.node.parent_id';
export const OPENINFERENCE_TOOL_NAME = 'tool.name';
export const OPENINFERENCE_INPUT_VALUE = 'input.value';
export const OPENINFERENCE_OUTPUT_VALUE = 'output.value';
/** The conversation, when the app set one (`using_session`, `setSession`): written on every span of it. */
export const OPENINFERENCE_SESSION_ID = 'session.id';
/** The agent a span belongs to (OpenInference's `agent.name`, as the Agno instrumentation writes it on every run). */
export const OPENINFERENCE_AGENT_NAME = 'agent.name';
/** The display name of a graph node (`graph.node.name`; Agno: the agent's or team's name, its `graph.node.id` a fresh hex id per run). */
export const OPENINFERENCE_GRAPH_NODE_NAME = 'graph.node.name';
/** OpenInference's CrewAI instrumentation: the crew a task span ran in (`Task._execute_core`, `Crew.kickoff`). */
export const CREWAI_CREW_ID = 'crew_id';
/** …and the crew's agents on its kickoff span (JSON, `[{"role": …}, …]`). */
export const CREWAI_CREW_AGENTS = 'crew_agents';
/** …and CrewAI's own keys of the crew, task and agent (on kickoff, task and event-listener agent spans): how its spans are known without their scope. */
export const CREWAI_CREW_KEY = 'crew_key';
export const CREWAI_TASK_KEY = 'task_key';
export const CREWAI_AGENT_KEY = 'agent_key';
/** OpenInference's Agno instrumentation: the agent or team a run span ran (`_runs_wrapper.py`), on every run. */
export const AGNO_AGENT = 'agno.agent';
export const AGNO_TEAM = 'agno.team';
/** OpenInference's smolagents instrumentation: what `_RunWrapper` writes on every agent run. */
export const SMOLAGENTS_TASK = 'smolagents.task';
export const SMOLAGENTS_MAX_STEPS = 'smolagents.max_steps';
export const SMOLAGENTS_TOOLS_NAMES = 'smolagents.tools_names';
// Pydantic Logfire's span attributes (its openai_agents integration writes the span data's fields under their own names).
export const LOGFIRE_MSG = 'logfire.msg';
export const LOGFIRE_MSG_TEMPLATE = 'logfire.msg_template';
export const LOGFIRE_LEVEL_NUM = 'logfire.level_num';
// OpenInference (Arize) span attributes, as @arizeai/openinference-instrumentation-langchain writes them.
// https://github.com/Arize-ai/openinference/blob/main/spec/semantic_conventions.md
/** The LangChain run's metadata as one JSON string (LangGraph's `langgraph_node`, `langgraph_step`, `langgraph_checkpoint_ns`, …). */
export const OPENINFERENCE_METADATA = 'metadata';
export const OPENINFERENCE_LLM_TOKEN_COUNT_PROMPT = 'llm.token_count.prompt';
export const OPENINFERENCE_LLM_TOKEN_COUNT_COMPLETION = 'llm.token_count.completion';
// LangSmith's OTel export (langsmith SDK `_otel_exporter`): run type, metadata one key per attribute.
export const LANGSMITH_SPAN_KIND = 'langsmith.span.kind';
/** Prefix of the run's metadata keys: `langsmith.metadata.langgraph_node`, … */
export const LANGSMITH_METADATA_PREFIX = 'langsmith.metadata.';
/** The run's outputs as JSON text (LangSmith writes them here). */
export const GEN_AI_COMPLETION = 'gen_ai.completion';
// LangGraph's run metadata keys (in OpenInference's `metadata` JSON, or after LANGSMITH_METADATA_PREFIX).
export const LANGGRAPH_NODE = 'langgraph_node';
export const LANGGRAPH_STEP = 'langgraph_step';
export const LANGGRAPH_CHECKPOINT_NS = 'langgraph_checkpoint_ns';
export const LANGGRAPH_THREAD_ID = 'thread_id';

// OpenLLMetry (Traceloop): opentelemetry-semantic-conventions-ai `SpanAttributes`
// (traceloop/openllmetry packages/opentelemetry-semantic-conventions-ai/opentelemetry/semconv_ai/__init__.py).
/** `workflow`, `task`, `agent`, `tool` (TraceloopSpanKindValues); the OpenAI Agents instrumentation adds `handoff`. */
export const TRACELOOP_SPAN_KIND = 'traceloop.span.kind';
export const TRACELOOP_ENTITY_NAME = 'traceloop.entity.name';
export const TRACELOOP_ENTITY_PATH = 'traceloop.entity.path';
export const TRACELOOP_WORKFLOW_NAME = 'traceloop.workflow.name';
/** The entity's output as JSON text (content tracing, on by default: `TRACELOOP_TRACE_CONTENT`). */
export const TRACELOOP_ENTITY_OUTPUT = 'traceloop.entity.output';
/** Prefix of the association properties, and of the LangChain instrumentation's run metadata (`Config.metadata_key_prefix`). */
export const TRACELOOP_ASSOCIATION_PREFIX = 'traceloop.association.properties.';
/** OpenLLMetry's OpenAI Agents instrumentation (`utils.py`): a handoff span's agents, and on an agent span the agent that handed off to it. */
export const OPENLLMETRY_HANDOFF_FROM_AGENT = 'gen_ai.handoff.from_agent';
export const OPENLLMETRY_HANDOFF_TO_AGENT = 'gen_ai.handoff.to_agent';
export const OPENLLMETRY_HANDOFF_PARENT_AGENT = 'gen_ai.agent.handoff_parent';
/** OpenLLMetry's LangChain instrumentation (`patch.py`): the `goto {target}` span made when a LangGraph `Command` with `goto` is created. */
export const LANGGRAPH_COMMAND_SOURCE_NODE = 'langgraph.command.source_node';
export const LANGGRAPH_COMMAND_GOTO_NODE = 'langgraph.command.goto_node';
/** …several targets, as a JSON list. */
export const LANGGRAPH_COMMAND_GOTO_NODES = 'langgraph.command.goto_nodes';
/** A tool call's result / a task's output (OpenLLMetry writes them beside `traceloop.entity.output`). */
export const GEN_AI_TASK_OUTPUT = 'gen_ai.task.output';
/** OpenLLMetry's CrewAI instrumentation: `str(crew.process)` on `crewai.workflow` (`Process.sequential`, `Process.hierarchical`). */
export const OPENLLMETRY_CREWAI_PROCESS = 'crewai.crew.process';

// Vercel AI SDK 5/6 telemetry (`experimental_telemetry`): https://ai-sdk.dev/docs/ai-sdk-core/telemetry
export const AI_OPERATION_ID = 'ai.operationId';
export const AI_TELEMETRY_FUNCTION_ID = 'ai.telemetry.functionId';
/** Prefix of `experimental_telemetry.metadata` keys: `ai.telemetry.metadata.agent`, … */
export const AI_TELEMETRY_METADATA_PREFIX = 'ai.telemetry.metadata.';
export const AI_TOOL_CALL_NAME = 'ai.toolCall.name';
export const AI_TOOL_CALL_ID = 'ai.toolCall.id';
export const AI_USAGE_PROMPT_TOKENS = 'ai.usage.promptTokens';
export const AI_USAGE_COMPLETION_TOKENS = 'ai.usage.completionTokens';
export const AI_USAGE_INPUT_TOKENS = 'ai.usage.inputTokens';
export const AI_USAGE_OUTPUT_TOKENS = 'ai.usage.outputTokens';

// OpenTelemetry messaging semantic conventions (event publish / consume).
export const MESSAGING_SYSTEM = 'messaging.system';
export const MESSAGING_DESTINATION_NAME = 'messaging.destination.name';
export const MESSAGING_MESSAGE_ID = 'messaging.message.id';
export const MESSAGING_OPERATION_TYPE = 'messaging.operation.type';
export const MESSAGING_OPERATION_NAME = 'messaging.operation.name';
export const MESSAGING_MESSAGE_BODY_SIZE = 'messaging.message.body.size';
/** Messages one receive returned (a Redis XREADGROUP reply); written by the store adapters. */
export const MESSAGING_BATCH_MESSAGE_COUNT = 'messaging.batch.message_count';

// OpenTelemetry database semantic conventions (state store access).
export const DB_SYSTEM_NAME = 'db.system.name';
export const DB_OPERATION_NAME = 'db.operation.name';
export const DB_COLLECTION_NAME = 'db.collection.name';
export const DB_NAMESPACE = 'db.namespace';

// Baton's own: only what the conventions above do not cover.
export const BATON_CONVENTIONS_VERSION = 'baton.conventions.version';
/** Which Baton operation a span records; values in {@link BatonOperation}. */
export const BATON_OPERATION = 'baton.operation';
export const BATON_TASK_ID = 'baton.task.id';
export const BATON_HANDOFF_ID = 'baton.handoff.id';
export const BATON_HANDOFF_SOURCE_AGENT = 'baton.handoff.source_agent';
export const BATON_HANDOFF_TARGET_AGENT = 'baton.handoff.target_agent';
export const BATON_HANDOFF_STATUS = 'baton.handoff.status';
/** Conventions 1 only (send and receive spans): the send span's start, to the microsecond. Not read. */
export const BATON_HANDOFF_SENT_AT = 'baton.handoff.sent_at';
export const BATON_ATTEMPT = 'baton.attempt';
export const BATON_IDEMPOTENCY_KEY = 'baton.idempotency_key';
export const BATON_STEP = 'baton.step';
export const BATON_EPOCH = 'baton.epoch';
export const BATON_TIMEOUT_BUDGET_MS = 'baton.timeout_budget_ms';
export const BATON_ACK_DELAY_MS = 'baton.ack.delay_ms';
export const BATON_ACK_WITHIN_BUDGET = 'baton.ack.within_budget';
/** True on a receive or ack span whose sent_at is later than the receive by the receiver's clock: the clocks disagree. */
export const BATON_CLOCK_SKEW_SUSPECTED = 'baton.clock_skew_suspected';
export const BATON_ENVELOPE_SCHEMA_ID = 'baton.envelope.schema_id';
export const BATON_ENVELOPE_SCHEMA_VERSION = 'baton.envelope.schema_version';
export const BATON_ENVELOPE_SENDER_SCHEMA_VERSION = 'baton.envelope.sender_schema_version';
export const BATON_ENVELOPE_SIZE_BYTES = 'baton.envelope.size_bytes';
export const BATON_ENVELOPE_BODY = 'baton.envelope.body';
export const BATON_VALIDATION_RESULT = 'baton.validation.result';
export const BATON_VALIDATION_ERROR_PATH = 'baton.validation.error_path';
export const BATON_VALIDATION_ERROR_KEYWORD = 'baton.validation.error_keyword';
export const BATON_VALIDATION_ERROR_COUNT = 'baton.validation.error_count';
export const BATON_VALIDATION_DURATION_MS = 'baton.validation.duration_ms';
export const BATON_CONTEXT_TOKEN_COUNT = 'baton.context.token_count';
export const BATON_CONTEXT_SIZE_BYTES = 'baton.context.size_bytes';
export const BATON_CONTEXT_DECISIONS_COUNT = 'baton.context.decisions_count';
export const BATON_CONTEXT_CONSTRAINTS_COUNT = 'baton.context.constraints_count';
export const BATON_CONTEXT_MISSING_FIELDS = 'baton.context.missing_fields';
export const BATON_STATE_KEY = 'baton.state.key';
export const BATON_STATE_VERSION_READ = 'baton.state.version_read';
export const BATON_STATE_VERSION_WRITTEN = 'baton.state.version_written';
export const BATON_STATE_VERSION_EXPECTED = 'baton.state.version_expected';
export const BATON_STATE_FOUND = 'baton.state.found';
/** True on a write the store recognised as a repeat (same idempotency key) and committed nothing for. */
export const BATON_STATE_DEDUPLICATED = 'baton.state.deduplicated';
export const BATON_EVENT_EXPECTED_TOPIC = 'baton.event.expected_topic';
export const BATON_AGENT_DEPENDS_ON = 'baton.agent.depends_on';
export const BATON_AGENT_OUTCOME = 'baton.agent.outcome';
export const BATON_FAULT_COUNT = 'baton.fault.count';

/** Values of `baton.operation`: the kind of handoff part a span records. */
export const BatonOperation = {
  HandoffSend: 'handoff.send',
  HandoffReceive: 'handoff.receive',
  HandoffAck: 'handoff.ack',
  StateRead: 'state.read',
  StateWrite: 'state.write',
  EventPublish: 'event.publish',
  EventConsume: 'event.consume',
  AgentRun: 'agent.run',
} as const;
export type BatonOperation = (typeof BatonOperation)[keyof typeof BatonOperation];

/** Values of `baton.validation.result`. */
export const ValidationResult = {
  Valid: 'valid',
  Invalid: 'invalid',
  /** Validation could not run: unknown schema version, or an envelope that is not an object. */
  Error: 'error',
} as const;
export type ValidationResult = (typeof ValidationResult)[keyof typeof ValidationResult];

/** Values of `baton.agent.outcome`. */
export const AgentOutcome = {
  Completed: 'completed',
  Failed: 'failed',
  /** Gave up waiting on a dependency: the symptom of a deadlock. */
  Blocked: 'blocked',
} as const;
export type AgentOutcome = (typeof AgentOutcome)[keyof typeof AgentOutcome];

/** Metric instrument names Baton emits through the host's MeterProvider. */
export const METRIC_HANDOFF_LATENCY = 'baton.handoff.latency';
export const METRIC_HANDOFFS = 'baton.handoffs';
export const METRIC_VALIDATION_FAILURES = 'baton.validation.failures';
export const METRIC_ACK_TIMEOUTS = 'baton.ack.timeouts';
export const METRIC_INSTRUMENTATION_FAULTS = 'baton.instrumentation.faults';
/** Negative sent_at → receive latencies (clock skew), recorded as 0 in METRIC_HANDOFF_LATENCY and counted here. */
export const METRIC_CLOCK_SKEW_SAMPLES = 'baton.clock_skew.samples';

// AutoGen 0.4+ runtime spans (autogen_core/_telemetry/_tracing_config.py and
// _single_threaded_agent_runtime.py): the older messaging names, read only.
/** `create`, `publish` (send and publish), `receive` (receive, intercept, ack) or `process`. */
export const AUTOGEN_MESSAGING_OPERATION = 'messaging.operation';
/** An agent as `{type}.({key})-A`, a topic as `{type}.({source})-T`, an intervention handler's class name. */
export const AUTOGEN_MESSAGING_DESTINATION = 'messaging.destination';
export const AUTOGEN_MESSAGE_TYPE = 'messaging.message.type';
export const AUTOGEN_SENDER_AGENT_TYPE = 'sender_agent_type';
export const AUTOGEN_RECIPIENT_AGENT_TYPE = 'recipient_agent_type';
/** JSON: `{"sender", "topic_id", "is_rpc", "message_id"}` on process spans. */
export const AUTOGEN_MESSAGE_CONTEXT = 'message_context';
/** Legacy `gen_ai.system`, `autogen` on AutoGen's GenAI spans. */
export const GEN_AI_SYSTEM = 'gen_ai.system';

// Microsoft Agent Framework workflows (python agent_framework/observability.py OtelAttr,
// dotnet Microsoft.Agents.AI.Workflows/Observability/Tags.cs).
export const MAF_WORKFLOW_ID = 'workflow.id';
export const MAF_WORKFLOW_NAME = 'workflow.name';
export const MAF_EXECUTOR_ID = 'executor.id';
export const MAF_EXECUTOR_TYPE = 'executor.type';
export const MAF_MESSAGE_TYPE = 'message.type';
/** On `executor.process`: the class name of the message data handled. */
export const MAF_MESSAGE_PAYLOAD_TYPE = 'message.payload_type';
export const MAF_MESSAGE_SOURCE_ID = 'message.source_id';
export const MAF_MESSAGE_TARGET_ID = 'message.target_id';
/** Python's name for a targeted send's executor (`ctx.send_message(msg, target_id=…)`). */
export const MAF_MESSAGE_DESTINATION_EXECUTOR_ID = 'message.destination_executor_id';
export const MAF_EDGE_GROUP_TYPE = 'edge_group.type';
export const MAF_EDGE_GROUP_ID = 'edge_group.id';
export const MAF_EDGE_GROUP_DELIVERED = 'edge_group.delivered';
/** `delivered`, `dropped type mismatch`, `dropped target mismatch`, `dropped condition evaluated to false` (dotnet: `dropped condition false`), `exception`, `buffered`. */
export const MAF_EDGE_GROUP_DELIVERY_STATUS = 'edge_group.delivery_status';
/** dotnet: the session on `workflow.session` and `workflow_invoke` (Python writes `gen_ai.conversation.id`). */
export const MAF_SESSION_ID = 'session.id';

// AG2 (ag2ai/ag2, `autogen` 0.10+): its own OpenTelemetry instrumentation (autogen/opentelemetry/,
// consts.py `SpanType`, instrumentators/), read only.
/** On every AG2 span: `conversation`, `multi_conversation`, `agent`, `llm`, `tool`, `speaker_selection`, `human_input`, `code_execution` (`handoff` is reserved, never written). */
export const AG2_SPAN_TYPE = 'ag2.span.type';
/** On `speaker_selection`: a JSON list of the names the group manager chose from. */
export const AG2_SPEAKER_SELECTION_CANDIDATES = 'ag2.speaker_selection.candidates';
/** On `speaker_selection`: the name of the next speaker chosen. */
export const AG2_SPEAKER_SELECTION_SELECTED = 'ag2.speaker_selection.selected';
/** On `initiate_chats` / `agent.initiate_chats`: a JSON list of each chat's recipient, in queue order. */
export const AG2_CHATS_RECIPIENTS = 'ag2.chats.recipients';
/** On `initiate_chats` / `agent.initiate_chats`: `sequential` (`initiate_chats`) or `parallel` (`a_initiate_chats`). */
export const AG2_CHATS_MODE = 'ag2.chats.mode';
/** On `initiate_chats` / `agent.initiate_chats`: a JSON list of the chats' ids, set when they all ended. */
export const AG2_CHATS_IDS = 'ag2.chats.ids';
/** On AG2's remote `invoke_agent` (an A2A agent's reply): true. */
export const GEN_AI_AGENT_REMOTE = 'gen_ai.agent.remote';
/** On AG2's `conversation` around `a_resume`: true. */
export const GEN_AI_CONVERSATION_RESUMED = 'gen_ai.conversation.resumed';
/** OTel's `server.address`: on AG2's remote `invoke_agent`, the A2A agent's url. */
export const SERVER_ADDRESS = 'server.address';
