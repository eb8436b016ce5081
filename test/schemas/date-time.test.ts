/**
 * Baton's own `date-time` check must accept exactly what ajv-formats' full
 * `date-time` accepts: it replaces it only for speed.
 */
import addFormatsModule from 'ajv-formats';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { isRfc3339DateTime } from '../../src/schemas/validators.js';

const formats =
  (addFormatsModule as unknown as { default?: { get(name: string): unknown } }).default ??
  (addFormatsModule as unknown as { get(name: string): unknown });
const reference = (formats.get('date-time') as { validate: (text: string) => boolean }).validate;

const digits = (n: number) => fc.stringMatching(new RegExp(`^\\d{${n}}$`));
/** Strings shaped like RFC 3339 times, each part sometimes out of range or malformed. */
const nearDateTimes = fc
  .tuple(
    digits(4),
    fc.oneof(digits(2), fc.constantFrom('00', '13', '02', '1')),
    fc.oneof(digits(2), fc.constantFrom('00', '29', '30', '31', '32')),
    fc.constantFrom('T', 't', ' ', '\t', '\u00a0', 'x', ''),
    fc.oneof(digits(2), fc.constantFrom('23', '24')),
    fc.oneof(digits(2), fc.constantFrom('59', '60')),
    fc.oneof(digits(2), fc.constantFrom('59', '60', '61')),
    fc.constantFrom('', '.', '.1', '.123456', '.x'),
    fc.constantFrom(
      'Z',
      'z',
      '',
      '+00:00',
      '-00:00',
      '+01:00',
      '-01:00',
      '+2359',
      '+24:00',
      '+00:60',
      '+0',
      '+01',
      'Zz',
      '+01:0',
    ),
  )
  .map((parts) => `${parts[0]}-${parts[1]}-${parts[2]}${parts[3]}${parts[4]}:${parts[5]}:${parts[6]}${parts[7]}${parts[8]}`);

describe('isRfc3339DateTime', () => {
  it.each([
    ['2026-11-25T10:00:00Z', true],
    ['2026-11-25T10:00:00.123456Z', true],
    ['2024-02-29T00:00:00+01:00', true],
    ['2023-02-29T00:00:00Z', false],
    ['2026-11-25 10:00:00z', true],
    ['2026-11-25T10:00:00', false],
    ['1998-12-31T23:59:60Z', true],
    ['1998-12-31T22:59:60Z', false],
    ['1998-12-31T15:59:60-08:00', true],
  ])('%s → %s, as ajv-formats says', (text, expected) => {
    expect(reference(text)).toBe(expected);
    expect(isRfc3339DateTime(text)).toBe(expected);
  });

  it('agrees with ajv-formats on generated near-times and arbitrary strings', () => {
    fc.assert(
      fc.property(fc.oneof(nearDateTimes, fc.string(), fc.string({ unit: 'binary' })), (text) => {
        expect(isRfc3339DateTime(text)).toBe(reference(text));
      }),
      { numRuns: 1500 },
    );
  });
});
