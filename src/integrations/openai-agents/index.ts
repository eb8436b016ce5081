/**
 * `baton-sdk/openai-agents`: OpenTelemetry spans from the OpenAI Agents SDK
 * (@openai/agents, an optional peer dependency). See docs/frameworks.md.
 */
export { AgentsIdGenerator, BatonAgentsTracingProcessor, OPENAI_AGENTS_SCOPE } from './processor.js';
export type { BatonAgentsTracingProcessorOptions } from './processor.js';
