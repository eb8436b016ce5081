/**
 * Generates src/model/envelope.generated.ts from the envelope JSON Schemas, so the
 * TypeScript types cannot drift from the schemas that ajv enforces.
 * Run: npx tsx scripts/generate-envelope-types.ts   (test/model/envelope-types.test.ts checks it is current)
 */
import { readFile, writeFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { compile, type JSONSchema } from 'json-schema-to-typescript';

const root = fileURLToPath(new URL('..', import.meta.url));
const SCHEMAS = ['handoff-envelope.v1.json', 'handoff-envelope.v2.json'];
export const GENERATED_PATH = `${root}src/model/envelope.generated.ts`;

/**
 * The schema with its handoff block (and the trace context in it) closed, for the types only.
 * The schema stays open there, so a newer sender's extra handoff facts still validate; but Baton
 * writes that block, and code reading it should not compile on a typo (`handoff.handoff_id`).
 */
function closeHandoffBlock(schema: JSONSchema): JSONSchema {
  const block = (schema.$defs as Record<string, JSONSchema> | undefined)?.handoffBlock;
  if (!block) throw new Error('envelope schema without $defs.handoffBlock');
  block.additionalProperties = false;
  const carrier = (block.properties as Record<string, JSONSchema> | undefined)?.trace_context;
  if (carrier) carrier.additionalProperties = false;
  return schema;
}

/** Renders the TypeScript source for all envelope schema versions. */
export async function renderEnvelopeTypes(): Promise<string> {
  const parts = [
    '/* eslint-disable */\n/**\n * Generated from src/schemas/handoff-envelope.v*.json by scripts/generate-envelope-types.ts.\n * Do not edit: change the schema and regenerate.\n */\n',
  ];
  for (const file of SCHEMAS) {
    const schema = closeHandoffBlock(JSON.parse(await readFile(`${root}src/schemas/${file}`, 'utf8')) as JSONSchema);
    parts.push(
      await compile(schema, schema.title as string, {
        bannerComment: '',
        additionalProperties: true,
        strictIndexSignatures: true,
        format: true,
        style: { singleQuote: true, printWidth: 100 },
      }),
    );
  }
  return parts.join('\n');
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  await writeFile(GENERATED_PATH, await renderEnvelopeTypes());
  console.log(`wrote ${GENERATED_PATH}`);
}
