/** A valid v1 envelope draft for SDK tests; `overrides` replace whole top-level fields. */
import type { HandoffEnvelopeV1 } from '../../src/model/envelope.js';

export function draft(overrides: Partial<HandoffEnvelopeV1> = {}): HandoffEnvelopeV1 {
  return {
    task_id: 'task-1',
    source_agent: 'research',
    target_agent: 'analysis',
    status: 'complete',
    output: { summary: 'three vendors compared', artifacts: ['mem://task-1/research'], confidence: 0.8 },
    context: { original_goal: 'pick a vendor', constraints: ['EU hosting'], decisions_made: ['drop vendor C'] },
    metadata: { started_at: '2026-11-25T10:00:00Z', completed_at: '2026-11-25T10:00:02Z', token_count: 420, model: 'scripted-1' },
    ...overrides,
  } as HandoffEnvelopeV1;
}
