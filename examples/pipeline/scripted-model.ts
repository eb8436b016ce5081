/**
 * A scripted stand-in for an LLM: deterministic text and token counts per agent,
 * with a small real delay so spans have plausible durations. No network.
 */

export interface ModelReply {
  readonly text: string;
  readonly inputTokens: number;
  readonly outputTokens: number;
}

const SCRIPT: Record<string, { text: string; outputTokens: number; latencyMs: number }> = {
  triage: {
    text: 'Scope: SaaS devtools pricing, sub-$100/mo tiers, B2B only. Route to research.',
    outputTokens: 180,
    latencyMs: 6,
  },
  research: {
    text: 'Found 3 relevant competitors with pricing data: Acme CI ($49), Buildly ($79), Shipfast ($99).',
    outputTokens: 950,
    latencyMs: 14,
  },
  analysis: {
    text: 'Median entry tier is $79; all three gate SSO behind the top tier; usage-based overage is common.',
    outputTokens: 720,
    latencyMs: 11,
  },
  writer: {
    text: 'Draft report: the market clusters at $49–$99 with SSO as the upsell lever; recommend $69 entry tier.',
    outputTokens: 1400,
    latencyMs: 12,
  },
  reviewer: {
    text: 'Approved: claims match the research artifacts; pricing table checked against sources.',
    outputTokens: 240,
    latencyMs: 7,
  },
};

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** Replies to an agent's prompt from the script; the input token count is the prompt's estimate. */
export class ScriptedModel {
  readonly name = 'scripted-model-1';

  async complete(agent: string, promptTokens: number): Promise<ModelReply> {
    const line = SCRIPT[agent];
    if (!line) throw new Error(`scripted model has no line for agent "${agent}"`);
    await sleep(line.latencyMs);
    return { text: line.text, inputTokens: promptTokens, outputTokens: line.outputTokens };
  }
}

/** Rough token estimate used by the example (4 characters a token), as agents do before calling a model. */
export function estimateTokens(text: string): number {
  return Math.ceil(text.length / 4);
}
