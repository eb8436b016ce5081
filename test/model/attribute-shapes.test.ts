/**
 * Attribute maps built by shape (src/ingest/attribute-shapes.ts) are the maps the plain build
 * makes, for any keys: the same own keys in the same order, the same values, Object's prototype,
 * every property a plain enumerable data property. Sequences are repeated past the point where
 * they get a compiled constructor, so both paths are compared; keys a literal would misread
 * (`__proto__`), repeated keys, integer-like keys and arbitrary text included.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { AttributeShapes } from '../../src/model/attribute-shapes.js';
import { MANY_ATTRIBUTES, type AttributeValue } from '../../src/model/span-record.js';

/** The build the readers did before shapes: keyed stores, or Object.fromEntries from MANY_ATTRIBUTES on. */
function plain(pairs: readonly (readonly [string, AttributeValue])[]): Record<string, AttributeValue> {
  if (pairs.length >= MANY_ATTRIBUTES) return Object.fromEntries(pairs) as Record<string, AttributeValue>;
  const out: Record<string, AttributeValue> = {};
  for (const [key, value] of pairs) {
    if (key === '__proto__') Object.defineProperty(out, key, { value, enumerable: true, writable: true, configurable: true });
    else out[key] = value;
  }
  return out;
}

function build(shapes: AttributeShapes, pairs: readonly (readonly [string, AttributeValue])[]): Record<string, AttributeValue> {
  shapes.start();
  for (const [key, value] of pairs) shapes.add(key, value);
  return shapes.finish();
}

function expectSameMap(actual: Record<string, AttributeValue>, expected: Record<string, AttributeValue>): void {
  expect(Object.getPrototypeOf(actual)).toBe(Object.prototype);
  expect(Reflect.ownKeys(actual)).toEqual(Reflect.ownKeys(expected));
  for (const key of Reflect.ownKeys(expected)) {
    expect(Object.getOwnPropertyDescriptor(actual, key)).toEqual(Object.getOwnPropertyDescriptor(expected, key));
  }
}

const keyArb = fc.oneof(
  { weight: 6, arbitrary: fc.constantFrom('baton.operation', 'gen_ai.agent.name', 'baton.task.id', 'db.system.name', 'a', 'b') },
  { weight: 1, arbitrary: fc.constantFrom('__proto__', 'constructor', 'toString', '0', '7', '4294967295', '', '"', '\\', '\u2028', '}; throw 1; ({') },
  { weight: 2, arbitrary: fc.string({ unit: 'binary', maxLength: 12 }) },
);
const valueArb: fc.Arbitrary<AttributeValue> = fc.oneof(fc.string(), fc.integer(), fc.double(), fc.boolean(), fc.constant(null), fc.array(fc.string(), { maxLength: 3 }));
const mapArb = fc.array(fc.tuple(keyArb, valueArb), { maxLength: 30 });

describe('AttributeShapes', () => {
  it('builds what the plain build does, before and after a sequence is compiled', () => {
    fc.assert(
      fc.property(fc.array(mapArb, { minLength: 1, maxLength: 4 }), fc.integer({ min: 1, max: 80 }), (maps, repeats) => {
        const shapes = new AttributeShapes();
        for (let r = 0; r < repeats; r++) {
          for (const pairs of maps) expectSameMap(build(shapes, pairs), plain(pairs));
        }
      }),
      { numRuns: 150 },
    );
  });

  it('gives each map its own object, holding the values it was given', () => {
    const shapes = new AttributeShapes();
    const maps = Array.from({ length: 100 }, (_, i) => build(shapes, [['agent', `a${i}`], ['n', i]]));
    expect(new Set(maps).size).toBe(100);
    expect(maps.map((m) => m.agent)).toEqual(Array.from({ length: 100 }, (_, i) => `a${i}`));
    maps[99]!.agent = 'changed';
    expect(maps[98]!.agent).toBe('a98');
  });

  it('never lets a key set the prototype, however often the sequence repeats', () => {
    const shapes = new AttributeShapes();
    for (let i = 0; i < 100; i++) {
      const map = build(shapes, [['__proto__', 'x'], ['polluted', true]]);
      expect(Object.getPrototypeOf(map)).toBe(Object.prototype);
      expect(Object.keys(map)).toEqual(['__proto__', 'polluted']);
    }
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it('stays correct past its bounds on distinct key sets (adversarial input)', () => {
    const shapes = new AttributeShapes();
    for (let i = 0; i < 30_000; i++) {
      const pairs: [string, AttributeValue][] = [[`k${i}`, i], ['common', 'c']];
      expectSameMap(build(shapes, pairs), plain(pairs));
    }
    for (let i = 0; i < 40; i++) expectSameMap(build(shapes, [['late', i]]), { late: i });
  });

  it('restarts cleanly after a map left unfinished (a reader that threw on a malformed attribute)', () => {
    const shapes = new AttributeShapes();
    shapes.start();
    shapes.add('half', 1);
    expectSameMap(build(shapes, [['whole', 2]]), { whole: 2 });
  });
});
