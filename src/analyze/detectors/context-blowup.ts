/**
 * context-blowup: context passed along a chain of handoffs growing faster than
 * a factor per hop, or past a budget: the forward-everything anti-pattern.
 * Measured in tokens (baton.context.token_count) where recorded, else in bytes.
 */
import type { DetectorResult, Finding } from '../../model/finding.js';
import type { Handoff, HandoffGraph } from '../../model/handoff-model.js';
import { chainIndexOf } from '../chains.js';
import { assertGraph, evidenceOf, formatPath } from './evidence.js';
import { countReason, perGroupRule, reasonByDialect, reasonsOf, type RuleDefinition } from './rule.js';

export const RULE = 'context-blowup' as const;

export interface ContextBlowupOptions {
  /** Largest allowed growth per hop. Default 1.5. */
  readonly maxGrowthPerHop?: number;
  /** Growth below this many tokens is never reported, whatever the ratio. Default 2000. */
  readonly minGrowthTokens?: number;
  /** Context past this many tokens is reported. Default 16000. */
  readonly maxTokens?: number;
  /** Byte equivalents when no token counts were recorded. Defaults 8000 and 64000. */
  readonly minGrowthBytes?: number;
  readonly maxBytes?: number;
}

const HINT =
  'Summarize, do not forward: pass a compact summary plus a pointer to the full artifact in the shared store, and let the receiver fetch details only when it needs them.';
const transfersUnmeasured = reasonByDialect((dialect) => `chains of in-process transfers: ${dialect} does not record context sizes`);

function sizeOf(h: Handoff, unit: 'tokens' | 'bytes'): number | undefined {
  return unit === 'tokens' ? h.send?.tokenCount : h.send?.contextBytes;
}

/** Reports chains whose context grows too fast or too large. Pure. */
export function detectContextBlowup(handoffGraph: HandoffGraph, options: ContextBlowupOptions = {}): DetectorResult {
  assertGraph(RULE, handoffGraph);
  const { model } = handoffGraph;
  const factor = options.maxGrowthPerHop ?? 1.5;
  const findings: Finding[] = [];
  let checked = 0;
  let unmeasured = 0;
  const reasons = new Map<string, number>();
  for (const chain of chainIndexOf(model).chains()) {
    const transfer = chain.find((h) => h.kind === 'transfer');
    if (transfer) {
      countReason(reasons, transfersUnmeasured(transfer.dialect));
      continue;
    }
    const unit = chain.every((h) => h.send?.tokenCount !== undefined) ? 'tokens' : 'bytes';
    if (chain.some((h) => sizeOf(h, unit) === undefined)) {
      unmeasured++;
      continue;
    }
    checked++;
    const minGrowth = unit === 'tokens' ? (options.minGrowthTokens ?? 2000) : (options.minGrowthBytes ?? 8000);
    const budget = unit === 'tokens' ? (options.maxTokens ?? 16000) : (options.maxBytes ?? 64000);
    const sizes = chain.map((h) => sizeOf(h, unit)!);
    let worstRatio = 0;
    let worstHop = -1;
    for (let i = 1; i < sizes.length; i++) {
      const grew = sizes[i]! - sizes[i - 1]!;
      const ratio = sizes[i - 1]! > 0 ? sizes[i]! / sizes[i - 1]! : Number.POSITIVE_INFINITY;
      if (grew >= minGrowth && ratio > factor && ratio > worstRatio) {
        worstRatio = ratio;
        worstHop = i;
      }
    }
    const overBudget = sizes.findIndex((s) => s > budget);
    if (worstHop < 0 && overBudget < 0) continue;
    const path = formatPath([chain[0]!.source, ...chain.map((h) => h.target)]);
    const first = sizes[0]!;
    const last = sizes[sizes.length - 1]!;
    const parts: string[] = [];
    if (worstHop >= 0) parts.push(`up to ${worstRatio.toFixed(1)}x per hop (limit ${factor}x)`);
    if (overBudget >= 0) parts.push(`past the ${budget} ${unit} budget at ${chain[overBudget]!.source} → ${chain[overBudget]!.target}`);
    findings.push({
      ruleId: RULE,
      severity: overBudget >= 0 ? 'error' : 'warning',
      message: `context grew from ${first} to ${last} ${unit} along ${path}: ${parts.join('; ')}`,
      hint: HINT,
      evidence: evidenceOf(chain.map((h) => h.send)),
      agents: [...new Set([chain[0]!.source, ...chain.map((h) => h.target)])],
      ...(chain[0]!.taskId ? { taskId: chain[0]!.taskId } : {}),
    });
  }
  return {
    findings,
    checked,
    notEvaluated: [
      ...(unmeasured > 0 ? [{ count: unmeasured, reason: 'chains with handoffs lacking baton.context.token_count and baton.context.size_bytes' }] : []),
      ...reasonsOf(reasons),
    ],
  };
}

export const contextBlowupRule: RuleDefinition<ContextBlowupOptions> = {
  id: RULE,
  description: 'context growing too fast along a chain, or past a budget',
  severity: 'error',
  reads: ['handoffs'],
  create: perGroupRule(detectContextBlowup),
};
