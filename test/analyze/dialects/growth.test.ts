/**
 * Each dialect's work grows linearly with the long and deep framework traces of the growth
 * benchmark (bench/framework-shapes.ts): counted as span reads and context lookups
 * (test/helpers/dialect-work.ts), never timed. At 4x the spans a linear reading does about
 * 4x the work; the walks and scans these tests were written against did 8.5–16x. The meter
 * does not see loops over a dialect's own records (only span reads), so those are the series'
 * to find (bench/shapes.ts).
 */
import { describe, expect, it } from 'vitest';
import { agentFrameworkDialect } from '../../../src/analyze/dialects/agent-framework.js';
import { crewAiDialect } from '../../../src/analyze/dialects/crewai.js';
import type { Dialect } from '../../../src/analyze/dialects/dialect.js';
import { openAiAgentsDialect } from '../../../src/analyze/dialects/openai-agents.js';
import { openInferenceDialect } from '../../../src/analyze/dialects/openinference.js';
import { openInferenceAgentsDialect } from '../../../src/analyze/dialects/openinference-agents.js';
import { otelGenAiDialect } from '../../../src/analyze/dialects/otel-genai.js';
import { interpretWork, shapeSpans } from '../../helpers/dialect-work.js';

/** At 4x the spans, at most this many times the work. */
const MAX_GROWTH_AT_4X = 5;

/** The work at size n and 4n of `shape`, and what the dialect read at 4n (some parts of each kind it should find). */
function growthOf(dialect: Dialect, shape: string, n: number): { ratio: number; small: number; large: number; parts: Map<string, number> } {
  const small = interpretWork(dialect, shapeSpans(shape, n));
  const large = interpretWork(dialect, shapeSpans(shape, 4 * n));
  const parts = new Map<string, number>();
  for (const part of large.result.parts) parts.set(part.type, (parts.get(part.type) ?? 0) + 1);
  return { ratio: large.work / small.work, small: small.work, large: large.work, parts };
}

describe('agentFrameworkDialect', () => {
  it('does linear work on a workflow whose executors nest in the sends they handle (run > executor > send > executor …)', () => {
    const growth = growthOf(agentFrameworkDialect, 'agent-framework-nested', 400);
    expect(growth.parts.get('send')).toBe(1599);
    expect(growth.parts.get('receive')).toBe(1599);
    expect(growth.ratio, `work ${growth.small} → ${growth.large}`).toBeLessThanOrEqual(MAX_GROWTH_AT_4X);
  });

  it('does linear work on a long HandoffBuilder workflow (broadcasts to every participant)', () => {
    const growth = growthOf(agentFrameworkDialect, 'agent-framework-handoff', 100);
    expect(growth.parts.get('send')).toBe(400);
    expect(growth.ratio, `work ${growth.small} → ${growth.large}`).toBeLessThanOrEqual(MAX_GROWTH_AT_4X);
  });
});

describe('openInferenceDialect', () => {
  it('does linear work on LangGraph agents asking each other through tools, each graph nested in the last', () => {
    const growth = growthOf(openInferenceDialect, 'langgraph-nested', 60);
    expect(growth.parts.get('transfer')).toBe(240);
    expect(growth.ratio, `work ${growth.small} → ${growth.large}`).toBeLessThanOrEqual(MAX_GROWTH_AT_4X);
  });

  it('does linear work on a long LangGraph swarm thread (every agent node in the one root graph)', () => {
    const growth = growthOf(openInferenceDialect, 'langgraph-laps', 300);
    expect(growth.parts.get('transfer')).toBe(1200);
    expect(growth.ratio, `work ${growth.small} → ${growth.large}`).toBeLessThanOrEqual(MAX_GROWTH_AT_4X);
  });
});

describe('crewAiDialect', () => {
  it('does linear work on a long sequential crew (each task handed on from the latest task of the agent before it)', () => {
    const growth = growthOf(crewAiDialect, 'crewai-sequential', 300);
    expect(growth.parts.get('transfer')).toBe(800);
    expect(growth.ratio, `work ${growth.small} → ${growth.large}`).toBeLessThanOrEqual(MAX_GROWTH_AT_4X);
  });

  it('does linear work on coworkers delegating on, each run nested in the tool that reached it', () => {
    const growth = growthOf(crewAiDialect, 'crewai-nested', 300);
    expect(growth.parts.get('transfer')).toBe(1200);
    expect(growth.ratio, `work ${growth.small} → ${growth.large}`).toBeLessThanOrEqual(MAX_GROWTH_AT_4X);
  });
});

describe('otelGenAiDialect', () => {
  it('does linear work on a long Google ADK invocation (each transferred agent runs inside the last one\'s model call)', () => {
    const growth = growthOf(otelGenAiDialect, 'adk-transfers', 300);
    expect(growth.parts.get('transfer')).toBe(1200);
    expect(growth.ratio, `work ${growth.small} → ${growth.large}`).toBeLessThanOrEqual(MAX_GROWTH_AT_4X);
  });

  it('does linear work on a long Strands swarm and a long Mastra workflow', () => {
    for (const shape of ['strands-swarm', 'mastra-workflow']) {
      const growth = growthOf(otelGenAiDialect, shape, 150);
      expect(growth.parts.get('transfer'), shape).toBeGreaterThanOrEqual(599);
      expect(growth.ratio, `${shape}: work ${growth.small} → ${growth.large}`).toBeLessThanOrEqual(MAX_GROWTH_AT_4X);
    }
  });
});

describe('openAiAgentsDialect', () => {
  it('does linear work on agents used as tools, each asking the next inside its tool call', () => {
    const growth = growthOf(openAiAgentsDialect, 'openai-agents-nested', 200);
    expect(growth.parts.get('transfer')).toBe(800);
    expect(growth.ratio, `work ${growth.small} → ${growth.large}`).toBeLessThanOrEqual(MAX_GROWTH_AT_4X);
  });

  it('does linear work on a long run of handoffs', () => {
    const growth = growthOf(openAiAgentsDialect, 'openai-agents', 200);
    expect(growth.parts.get('transfer')).toBe(800);
    expect(growth.ratio, `work ${growth.small} → ${growth.large}`).toBeLessThanOrEqual(MAX_GROWTH_AT_4X);
  });
});

describe('openInferenceAgentsDialect', () => {
  it('does linear work on a long Agno team run (every delegation tool and member run side by side in it)', () => {
    const growth = growthOf(openInferenceAgentsDialect, 'agno-team', 300);
    expect(growth.parts.get('transfer')).toBe(1200);
    expect(growth.ratio, `work ${growth.small} → ${growth.large}`).toBeLessThanOrEqual(MAX_GROWTH_AT_4X);
  });
});
