/**
 * docs/conventions.md's envelope table says which fields a v1 envelope must
 * have: that column must be what handoff-envelope.v1.json requires, since a
 * reader builds envelopes from it. Each row's fields are read from the table
 * (`metadata.completed_at`, `token_count`, `model` names three fields of
 * `metadata`) and looked up in the schema.
 */
import { readFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';

const DOC = new URL('../../docs/conventions.md', import.meta.url);
const SCHEMA = new URL('../../src/schemas/handoff-envelope.v1.json', import.meta.url);

interface SchemaNode {
  readonly required?: readonly string[];
  readonly properties?: Readonly<Record<string, SchemaNode>>;
}

/** Rows of the table headed `| field | v1 | meaning |`: each field path with the v1 column. */
function envelopeTableOf(markdown: string): { field: string; v1: string }[] {
  const lines = markdown.split('\n');
  const start = lines.findIndex((line) => line.startsWith('| field | v1 | meaning |'));
  if (start < 0) throw new Error('conventions.md: no envelope table');
  const rows: { field: string; v1: string }[] = [];
  for (let i = start + 2; i < lines.length && lines[i]!.startsWith('|'); i++) {
    const [fields, v1] = lines[i]!.split('|').slice(1, 3).map((cell) => cell.trim());
    let parent = '';
    for (const name of [...fields!.matchAll(/`([^`]+)`/g)].map((m) => m[1]!)) {
      const dot = name.lastIndexOf('.');
      if (dot >= 0) parent = name.slice(0, dot + 1);
      rows.push({ field: dot >= 0 ? name : `${parent}${name}`, v1: v1! });
    }
  }
  return rows;
}

/** Whether `path` (dotted) is required by its parent object in the schema; undefined if the schema has no such property. */
function requiredIn(schema: SchemaNode, path: string): boolean | undefined {
  let node = schema;
  const parts = path.split('.');
  for (let i = 0; i < parts.length - 1; i++) {
    const next = node.properties?.[parts[i]!];
    if (!next) return undefined;
    node = next;
  }
  const name = parts[parts.length - 1]!;
  if (!node.properties?.[name]) return undefined;
  return node.required?.includes(name) ?? false;
}

describe('docs/conventions.md envelope table', () => {
  it('marks required exactly the fields handoff-envelope.v1.json requires, and optional the others', async () => {
    const [markdown, schema] = await Promise.all([readFile(DOC, 'utf8'), readFile(SCHEMA, 'utf8').then((text) => JSON.parse(text) as SchemaNode)]);
    const rows = envelopeTableOf(markdown).filter((row) => row.v1 === 'required' || row.v1 === 'optional');
    expect(rows.length).toBeGreaterThan(10);
    const wrong = rows.filter((row) => requiredIn(schema, row.field) !== (row.v1 === 'required'));
    expect(wrong).toEqual([]);
  });

  it('names every property of output, context and metadata the schema has', async () => {
    const [markdown, schema] = await Promise.all([readFile(DOC, 'utf8'), readFile(SCHEMA, 'utf8').then((text) => JSON.parse(text) as SchemaNode)]);
    const documented = new Set(envelopeTableOf(markdown).map((row) => row.field));
    for (const block of ['output', 'context', 'metadata']) {
      for (const name of Object.keys(schema.properties![block]!.properties!)) expect(documented).toContain(`${block}.${name}`);
    }
  });
});
