/**
 * The dialects by id, in priority order: a span goes to the first one that
 * claims it, so the most specific vocabulary comes first (Baton's own spans
 * also carry GenAI attributes; LangSmith's and the Vercel AI SDK's spans carry
 * some GenAI names too). `--dialect` reads this map.
 */
import { ag2Dialect } from './ag2.js';
import { agentFrameworkDialect } from './agent-framework.js';
import { autogenDialect } from './autogen.js';
import { batonDialect } from './baton.js';
import { crewAiDialect } from './crewai.js';
import type { Dialect } from './dialect.js';
import { openAiAgentsDialect } from './openai-agents.js';
import { openInferenceAgentsDialect } from './openinference-agents.js';
import { openInferenceDialect } from './openinference.js';
import { otelGenAiDialect } from './otel-genai.js';
import { openLlmetryDialect } from './traceloop.js';
import { vercelAiDialect } from './vercel-ai.js';

/**
 * Every dialect, in priority order: Baton's own, then the framework dialects
 * (`openai-agents` before `openinference`, which leaves the OpenInference OpenAI
 * Agents spans to it; the framework runtimes, AutoGen's message runtime and Agent
 * Framework's workflow engine, claim only their own span names, as `ag2` claims only spans
 * marked `ag2.span.type` (AG2's `invoke_agent` and `execute_tool` spans, 0.x's and 1.0's, would otherwise go to
 * `otel-genai`, which cannot read a group chat's turns) and OpenInference's AG2 instrumentation by its scope
 * (before `openinference-agents` and `openinference`, which would read its AGENT and TOOL spans as steps without
 * LangGraph metadata); `crewai` before
 * `openinference`, which leaves the CrewAI instrumentation's spans to it; `openllmetry` before
 * `otel-genai`, since OpenLLMetry writes `gen_ai.operation.name` = `invoke_agent` / `execute_tool`
 * beside its own `traceloop.span.kind` and its own handoff spans; `openinference-agents`
 * before `openinference` too, claiming only the smolagents and Agno instrumentations' scopes), then the generic
 * GenAI conventions last, since framework spans carry some GenAI names too
 * (LangSmith's `gen_ai.operation.name`, AutoGen's and Agent Framework's GenAI spans).
 */
export const DIALECTS: readonly Dialect[] = [
  batonDialect,
  openAiAgentsDialect,
  autogenDialect,
  ag2Dialect,
  agentFrameworkDialect,
  crewAiDialect,
  openInferenceAgentsDialect,
  openInferenceDialect,
  openLlmetryDialect,
  vercelAiDialect,
  otelGenAiDialect,
];

export const DIALECT_IDS: readonly string[] = DIALECTS.map((d) => d.id);

/** The dialect with this id, or undefined. */
export function dialectById(id: string): Dialect | undefined {
  return DIALECTS.find((d) => d.id === id);
}
