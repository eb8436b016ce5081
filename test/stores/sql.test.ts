/**
 * classifySql: what baton-sdk/pg reads from a statement's text. Table-driven cases
 * for the statements state code issues, and properties over generated and
 * arbitrary text: it never throws, and a generated keyed statement is always
 * read with the right parameters.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { classifySql, type StateTable } from '../../src/stores/sql.js';

const tables = new Map<string, StateTable>([
  ['agent_state', { key: 'id', version: 'rev', epoch: 'stage' }],
  ['baton_state', {}],
]);

describe('classifySql', () => {
  it.each([
    ['SELECT doc, rev FROM agent_state WHERE id = $1', { kind: 'read', table: 'agent_state', keyParam: 0 }],
    ['select * from public.agent_state where "id"=$2 for update', { kind: 'read', table: 'agent_state', keyParam: 1 }],
    ['/* app */ -- note\nSELECT value FROM baton_state WHERE key = $1', { kind: 'read', table: 'baton_state', keyParam: 0 }],
    [
      'UPDATE agent_state SET doc = $2, rev = rev + 1 WHERE id = $1 AND rev = $3 RETURNING rev',
      { kind: 'write', table: 'agent_state', keyParam: 0, expectedParam: 2, incrementsVersion: true },
    ],
    ['UPDATE agent_state SET rev = $3, stage = $4 WHERE id = $1', { kind: 'write', keyParam: 0, versionParam: 2, epochParam: 3 }],
    ['INSERT INTO agent_state (id, doc, rev) VALUES ($1, $2, 1)', { kind: 'write', keyParam: 0, versionLiteral: 1 }],
    ['INSERT INTO agent_state (doc, rev, id) VALUES ($1, $2, $3)', { kind: 'write', keyParam: 2, versionParam: 1 }],
    ['SELECT pg_notify($1, $2)', { kind: 'publish', channelParam: 0, payloadParam: 1 }],
    ["SELECT pg_notify('done', $1)", { kind: 'publish', channel: 'done', payloadParam: 0 }],
    ['NOTIFY "task.done"', { kind: 'publish', channel: 'task.done' }],
  ])('reads %s', (sql, expected) => {
    expect(classifySql(sql, tables, true)).toMatchObject(expected);
  });

  it.each([
    ['SELECT 1'],
    ['SELECT * FROM agent_state'],
    ["SELECT * FROM agent_state WHERE id = 'literal'"],
    ['SELECT * FROM other_table WHERE id = $1'],
    ['UPDATE agent_state SET rev = rev + 1'],
    ['CREATE TABLE agent_state (id text)'],
    ['INSERT INTO agent_state (doc, rev) VALUES ($1, 1)'],
    ['BEGIN'],
  ])('leaves %s alone', (sql) => {
    expect(classifySql(sql, tables, true)).toBeNull();
  });

  it('leaves NOTIFY alone when notifications are not traced', () => {
    expect(classifySql('SELECT pg_notify($1, $2)', tables, false)).toBeNull();
  });

  it('never throws, and answers null or an access on a known table, on arbitrary text', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 300 }), (text) => {
        const access = classifySql(text, tables, true);
        expect(access === null || access.kind === 'publish' || tables.has(access.table)).toBe(true);
      }),
      { numRuns: 500 },
    );
  });

  it('reads the key and expected version parameters of any generated compare-and-set UPDATE', () => {
    const ident = fc.stringMatching(/^[a-z][a-z0-9_]{0,12}$/);
    fc.assert(
      fc.property(ident, ident, ident, fc.integer({ min: 1, max: 30 }), fc.integer({ min: 1, max: 30 }), fc.boolean(), (table, keyCol, versionCol, keyN, expectedN, returning) => {
        const keywords = new Set(['set', 'where', 'and', 'returning', 'update', 'from', 'select', 'insert', 'into', 'values']);
        fc.pre(keyCol !== versionCol && ![table, keyCol, versionCol].some((name) => keywords.has(name)));
        const config = new Map<string, StateTable>([[table, { key: keyCol, version: versionCol }]]);
        const sql = `UPDATE ${table} SET payload = $99, ${versionCol} = ${versionCol} + 1 WHERE ${keyCol} = $${keyN} AND ${versionCol} = $${expectedN}${returning ? ` RETURNING ${versionCol}` : ''}`;
        const access = classifySql(sql, config, true);
        expect(access).toMatchObject({ kind: 'write', table, keyParam: keyN - 1, expectedParam: expectedN - 1, incrementsVersion: true });
      }),
      { numRuns: 300 },
    );
  });
});
