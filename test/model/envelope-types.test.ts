import { readFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { GENERATED_PATH, renderEnvelopeTypes } from '../../scripts/generate-envelope-types.js';

describe('src/model/envelope.generated.ts', () => {
  it('is what the envelope JSON Schemas generate today, so types and schemas cannot drift', async () => {
    expect(await readFile(GENERATED_PATH, 'utf8')).toBe(await renderEnvelopeTypes());
  });
});
