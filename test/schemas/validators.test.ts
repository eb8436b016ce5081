import { describe, expect, it, vi } from 'vitest';
import { SchemaRegistrationError, SchemaUnknownError } from '../../src/model/errors.js';
import { parseSchemaRef, SchemaRegistry } from '../../src/schemas/validators.js';
import { draft } from '../helpers/envelopes.js';

const acmeV1 = {
  $schema: 'https://json-schema.org/draft/2020-12/schema',
  type: 'object',
  required: ['ticket', 'due'],
  properties: { ticket: { type: 'string', pattern: '^ACME-\\d+$' }, due: { type: 'string', format: 'date' } },
};

describe('SchemaRegistry', () => {
  it("holds Baton's envelope v1 and v2, and validates a draft against v1", () => {
    const registry = new SchemaRegistry();
    expect(registry.versions('baton.handoff-envelope')).toEqual(['1', '2']);
    expect(registry.validate('baton.handoff-envelope', '1', draft())).toMatchObject({ valid: true, issues: [] });
  });

  it('registers user schemas with formats, and reports the failing pointer and keyword', () => {
    const registry = new SchemaRegistry();
    registry.register('acme.ticket', '1', acmeV1);
    expect(registry.has('acme.ticket', '1')).toBe(true);
    expect(registry.validate('acme.ticket', '1', { ticket: 'ACME-7', due: '2026-12-01' }).valid).toBe(true);
    const bad = registry.validate('acme.ticket', '1', { ticket: 'ACME-7', due: 'tomorrow' });
    expect(bad.valid).toBe(false);
    expect(bad.issues[0]).toMatchObject({ instancePath: '/due', keyword: 'format' });
  });

  it('compiles each schema once, at registration, never per call', async () => {
    const { Ajv2020 } = await import('ajv/dist/2020.js');
    const compile = vi.spyOn(Ajv2020.prototype, 'compile');
    const registry = new SchemaRegistry();
    registry.register('acme.ticket', '1', acmeV1);
    const afterRegistration = compile.mock.calls.length;
    for (let i = 0; i < 50; i++) registry.validate('acme.ticket', '1', { ticket: `ACME-${i}`, due: '2026-12-01' });
    for (let i = 0; i < 50; i++) registry.validate('baton.handoff-envelope', '1', draft());
    expect(compile.mock.calls.length).toBe(afterRegistration);
    compile.mockRestore();
  });

  it('refuses a second registration of the same id and version, and a schema that does not compile', () => {
    const registry = new SchemaRegistry();
    expect(() => registry.register('baton.handoff-envelope', '1', acmeV1)).toThrow(SchemaRegistrationError);
    expect(() => registry.register('acme.bad', '1', { type: 'no-such-type' })).toThrow(SchemaRegistrationError);
    expect(() => registry.register('acme.bad', '1', { type: 'no-such-type' })).toThrow(/cannot register schema acme\.bad@1/);
  });

  it('throws SchemaUnknownError for an unregistered version', () => {
    expect(() => new SchemaRegistry().validate('baton.handoff-envelope', '9', {})).toThrow(SchemaUnknownError);
  });
});

describe('parseSchemaRef', () => {
  it.each([
    ['baton.handoff-envelope@2', { id: 'baton.handoff-envelope', version: '2' }],
    [{ id: 'acme', version: '3' }, { id: 'acme', version: '3' }],
  ])('reads %j', (ref, expected) => {
    expect(parseSchemaRef(ref as never)).toEqual(expected);
  });

  it("reads a bare version as a version of Baton's own envelope schema", () => {
    expect(parseSchemaRef('2')).toEqual({ id: 'baton.handoff-envelope', version: '2' });
  });
});
