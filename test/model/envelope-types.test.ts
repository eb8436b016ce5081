import { readFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { GENERATED_PATH, renderEnvelopeTypes } from '../../scripts/generate-envelope-types.js';
import type { HandoffEnvelopeV1, HandoffEnvelopeV2 } from '../../src/model/envelope.generated.js';
import { ENVELOPE_SCHEMA_ID } from '../../src/model/envelope.js';
import { SchemaRegistry } from '../../src/schemas/validators.js';

describe('src/model/envelope.generated.ts', () => {
  it('is what the envelope JSON Schemas generate today, so types and schemas cannot drift', async () => {
    expect(await readFile(GENERATED_PATH, 'utf8')).toBe(await renderEnvelopeTypes());
  });

  it('closes the handoff block in the types (a misspelt field does not compile) while the schemas accept a newer sender’s fields', () => {
    const read = (env: HandoffEnvelopeV1 | HandoffEnvelopeV2) => {
      // @ts-expect-error handoff_id is not a field of the handoff block (it is `id`): `npm run typecheck` fails if it compiles.
      return env.handoff?.handoff_id;
    };
    const envelope = {
      task_id: 't', source_agent: 'a', target_agent: 'b', status: 'complete' as const,
      output: { summary: 's' }, context: { original_goal: 'g', constraints: [], decisions_made: [] }, metadata: { started_at: '2026-12-01T22:00:00.000Z' },
      handoff: { id: 'h-1', schema_version: '1', sent_by: 'a newer sender', trace_context: { traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01', baggage: 'k=v' } },
    };
    expect(read(envelope)).toBeUndefined();
    const registry = new SchemaRegistry();
    for (const version of ['1', '2']) expect(registry.validate(ENVELOPE_SCHEMA_ID, version, envelope)).toMatchObject({ valid: true });
  });
});
