/**
 * The dialects by id, in priority order: a span goes to the first one that
 * claims it, so the most specific vocabulary comes first (Baton's own spans
 * also carry GenAI attributes). `--dialect` reads this map.
 */
import { agentFrameworkDialect } from './agent-framework.js';
import { autogenDialect } from './autogen.js';
import { batonDialect } from './baton.js';
import type { Dialect } from './dialect.js';
import { otelGenAiDialect } from './otel-genai.js';

/**
 * Every dialect, in priority order. The framework runtimes (AutoGen's message
 * runtime, Agent Framework's workflow engine) claim only their own span names,
 * so they sit before otel-genai, which reads the GenAI spans both also emit.
 */
export const DIALECTS: readonly Dialect[] = [batonDialect, autogenDialect, agentFrameworkDialect, otelGenAiDialect];

export const DIALECT_IDS: readonly string[] = DIALECTS.map((d) => d.id);

/** The dialect with this id, or undefined. */
export function dialectById(id: string): Dialect | undefined {
  return DIALECTS.find((d) => d.id === id);
}
