/**
 * Reads what a SQL statement does to a state table, from its text alone: which
 * table, which parameter holds the key, which the version written or expected.
 * Enough for the statements state code issues (single-row SELECT / UPDATE /
 * INSERT keyed by a parameter, NOTIFY / pg_notify); anything else is not state
 * access and is left alone. Each distinct text is read once and cached, so the
 * per-query cost is a Map lookup.
 */

/** How one state table stores its key, version and epoch. */
export interface StateTable {
  /** Key column. Default `key`. */
  readonly key?: string;
  /** Version column. Default `version`. */
  readonly version?: string;
  /** Epoch column. Default `epoch`. */
  readonly epoch?: string;
}

/** What a statement does, as far as Baton reads it. Parameter indexes are 0-based into the values. */
export interface SqlAccess {
  readonly kind: 'read' | 'write' | 'publish';
  /** The table as configured (`pipeline_state`), or the channel of a NOTIFY. */
  readonly table: string;
  readonly keyParam?: number;
  /** Column names of the table's version and epoch. */
  readonly versionColumn: string;
  readonly epochColumn: string;
  /** `SET version = $n` / `VALUES (…, $n, …)`: the version written is this parameter. */
  readonly versionParam?: number;
  /** A literal version in `VALUES (…, 1, …)`. */
  readonly versionLiteral?: number;
  /** `WHERE version = $n`: the version the write expects to replace. */
  readonly expectedParam?: number;
  /** `SET version = version + 1`: the version written is the expected one plus one. */
  readonly incrementsVersion?: boolean;
  readonly epochParam?: number;
  /** NOTIFY: a literal channel, or pg_notify's channel and payload parameters. */
  readonly channel?: string;
  readonly channelParam?: number;
  readonly payloadParam?: number;
}

const IDENT = String.raw`("?[A-Za-z_][\w$]*"?(?:\."?[A-Za-z_][\w$]*"?)?)`;
const SELECT_FROM = new RegExp(String.raw`^\s*select\b[\s\S]*?\bfrom\s+${IDENT}`, 'i');
const UPDATE_TABLE = new RegExp(String.raw`^\s*update\s+${IDENT}\s+set\b([\s\S]*?)(?:\bwhere\b([\s\S]*?))?(?:\breturning\b[\s\S]*)?$`, 'i');
const INSERT_TABLE = new RegExp(String.raw`^\s*insert\s+into\s+${IDENT}\s*\(([^)]*)\)\s*values\s*\(([^)]*)\)`, 'i');
const PG_NOTIFY = /^\s*select\s+pg_notify\s*\(\s*(?:\$(\d+)|'([^']*)')\s*,\s*\$(\d+)\s*\)/i;
const NOTIFY = /^\s*notify\s+("[^"]+"|[A-Za-z_][\w$]*)/i;
const LEADING_COMMENTS = /^(?:\s*(?:--[^\n]*\n|\/\*[\s\S]*?\*\/))+/;

function unquote(name: string): string {
  return name.replace(/"/g, '');
}

function paramIndex(text: string): number | undefined {
  const match = /^\s*\$(\d+)\s*$/.exec(text);
  return match ? Number(match[1]) - 1 : undefined;
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** `<column> = $n` within `clause`, as a 0-based parameter index. */
function columnParam(clause: string | undefined, column: string): number | undefined {
  if (!clause) return undefined;
  const match = new RegExp(String.raw`(?:^|[^\w$."])"?${escapeRegExp(column)}"?\s*=\s*\$(\d+)`, 'i').exec(clause);
  return match ? Number(match[1]) - 1 : undefined;
}

function lookupTable(name: string, tables: ReadonlyMap<string, StateTable>): [string, StateTable] | undefined {
  const plain = unquote(name);
  const direct = tables.get(plain);
  if (direct) return [plain, direct];
  const dot = plain.lastIndexOf('.');
  if (dot >= 0) {
    const bare = plain.slice(dot + 1);
    const table = tables.get(bare);
    if (table) return [bare, table];
  }
  return undefined;
}

/** Splits a column or VALUES list on top-level commas. */
function splitList(list: string): string[] {
  const parts: string[] = [];
  let depth = 0;
  let quote = false;
  let start = 0;
  for (let i = 0; i < list.length; i++) {
    const c = list[i];
    if (c === "'") quote = !quote;
    else if (!quote && c === '(') depth++;
    else if (!quote && c === ')') depth--;
    else if (!quote && depth === 0 && c === ',') {
      parts.push(list.slice(start, i).trim());
      start = i + 1;
    }
  }
  parts.push(list.slice(start).trim());
  return parts;
}

/**
 * What `text` does to one of `tables`, or null when it is not state access
 * (another table, no key parameter, DDL, a multi-row statement Baton cannot key).
 */
export function classifySql(text: string, tables: ReadonlyMap<string, StateTable>, notify: boolean): SqlAccess | null {
  const sql = text.replace(LEADING_COMMENTS, '');
  if (notify) {
    const fn = PG_NOTIFY.exec(sql);
    if (fn) {
      const base = { kind: 'publish' as const, versionColumn: '', epochColumn: '', payloadParam: Number(fn[3]) - 1 };
      return fn[1] !== undefined
        ? { ...base, table: '', channelParam: Number(fn[1]) - 1 }
        : { ...base, table: fn[2]!, channel: fn[2]! };
    }
    const statement = NOTIFY.exec(sql);
    if (statement) return { kind: 'publish', table: unquote(statement[1]!), channel: unquote(statement[1]!), versionColumn: '', epochColumn: '' };
  }
  const select = SELECT_FROM.exec(sql);
  if (select) {
    const found = lookupTable(select[1]!, tables);
    if (!found) return null;
    const [table, config] = found;
    const keyParam = columnParam(sql.slice(select[0].length), config.key ?? 'key');
    if (keyParam === undefined) return null;
    return { kind: 'read', table, keyParam, versionColumn: config.version ?? 'version', epochColumn: config.epoch ?? 'epoch' };
  }
  const update = UPDATE_TABLE.exec(sql);
  if (update) {
    const found = lookupTable(update[1]!, tables);
    if (!found) return null;
    const [table, config] = found;
    const versionColumn = config.version ?? 'version';
    const epochColumn = config.epoch ?? 'epoch';
    const keyParam = columnParam(update[3], config.key ?? 'key');
    if (keyParam === undefined) return null;
    const setClause = update[2] ?? '';
    const increments = new RegExp(
      String.raw`"?${escapeRegExp(versionColumn)}"?\s*=\s*(?:\w+\.)?"?${escapeRegExp(versionColumn)}"?\s*\+\s*1\b`,
      'i',
    ).test(setClause);
    return {
      kind: 'write',
      table,
      keyParam,
      versionColumn,
      epochColumn,
      versionParam: columnParam(setClause, versionColumn),
      expectedParam: columnParam(update[3], versionColumn),
      incrementsVersion: increments,
      epochParam: columnParam(setClause, epochColumn),
    };
  }
  const insert = INSERT_TABLE.exec(sql);
  if (insert) {
    const found = lookupTable(insert[1]!, tables);
    if (!found) return null;
    const [table, config] = found;
    const columns = splitList(insert[2]!).map((c) => unquote(c).toLowerCase());
    const values = splitList(insert[3]!);
    const at = (column: string) => columns.indexOf(column.toLowerCase());
    const keyAt = at(config.key ?? 'key');
    const keyParam = keyAt >= 0 && values[keyAt] !== undefined ? paramIndex(values[keyAt]!) : undefined;
    if (keyParam === undefined) return null;
    const versionColumn = config.version ?? 'version';
    const epochColumn = config.epoch ?? 'epoch';
    const versionText = values[at(versionColumn)];
    const epochText = values[at(epochColumn)];
    const literal = versionText !== undefined && /^\d+$/.test(versionText) ? Number(versionText) : undefined;
    return {
      kind: 'write',
      table,
      keyParam,
      versionColumn,
      epochColumn,
      versionParam: versionText !== undefined ? paramIndex(versionText) : undefined,
      versionLiteral: literal,
      epochParam: epochText !== undefined ? paramIndex(epochText) : undefined,
    };
  }
  return null;
}
