/**
 * Baton's `maxLength`/`minLength` (validators.ts) must decide and report exactly
 * what ajv's own keywords do: they replace them only for speed, counting code
 * points only when the UTF-16 length leaves the answer open.
 */
import { Ajv2020 } from 'ajv/dist/2020.js';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { SchemaRegistry } from '../../src/schemas/validators.js';

/** Strings of astral characters, BMP ones and lone surrogates of either half, so code points and UTF-16 units differ. */
const mixedStrings = fc.array(fc.constantFrom('a', 'é', '😀', '\ud83d', '\ude00', '中', ''), { maxLength: 12 }).map((parts) => parts.join(''));

function schemaOf(min: number | undefined, max: number | undefined): object {
  const text: Record<string, unknown> = { type: 'string' };
  if (min !== undefined) text.minLength = min;
  if (max !== undefined) text.maxLength = max;
  return { type: 'object', properties: { text }, required: ['text'] };
}

describe('SchemaRegistry maxLength and minLength', () => {
  it('agree with ajv on every string, limit and error, in the fast and the all-errors pass', () => {
    // One registry and one reference ajv, each schema compiled once (a registry compiles Baton's envelopes too).
    const registry = new SchemaRegistry();
    const ajv = new Ajv2020({ allErrors: true, strict: false });
    const references = new Map<string, ReturnType<Ajv2020['compile']>>();
    const limit = fc.option(fc.integer({ min: 0, max: 10 }), { nil: undefined });
    fc.assert(
      fc.property(mixedStrings, limit, limit, (text, min, max) => {
        const version = `${min}-${max}`;
        let reference = references.get(version);
        if (!reference) {
          const schema = schemaOf(min, max);
          registry.register('length', version, schema);
          references.set(version, (reference = ajv.compile(schema)));
        }
        const expectedValid = reference({ text });
        const got = registry.validate('length', version, { text });
        expect(got.valid).toBe(expectedValid);
        const expectedIssues = (reference.errors ?? []).map((e) => ({ instancePath: e.instancePath, keyword: e.keyword, message: e.message }));
        expect(got.issues).toEqual(expectedValid ? [] : expectedIssues);
      }),
      { numRuns: 400 },
    );
  });

  it('counts code points: three astral characters fit maxLength 3, a lone surrogate counts as one', () => {
    const registry = new SchemaRegistry();
    registry.register('length', '1', schemaOf(2, 3));
    expect(registry.validate('length', '1', { text: '😀😀😀' }).valid).toBe(true);
    expect(registry.validate('length', '1', { text: '😀😀😀😀' }).issues).toEqual([
      { instancePath: '/text', keyword: 'maxLength', message: 'must NOT have more than 3 characters' },
    ]);
    expect(registry.validate('length', '1', { text: '😀' }).issues).toEqual([
      { instancePath: '/text', keyword: 'minLength', message: 'must NOT have fewer than 2 characters' },
    ]);
    expect(registry.validate('length', '1', { text: '\ud83d\ud83d' }).valid).toBe(true);
  });
});
