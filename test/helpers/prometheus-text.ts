/**
 * A reader of the Prometheus text exposition format 0.0.4, as Prometheus' own
 * parser reads it: `name{label="value",...} value` lines, label values unescaped
 * (`\\`, `\"`, `\n`), `# TYPE` remembered, other comments skipped. Strict: a line
 * it cannot read fails the test, so a broken escape never passes unnoticed.
 * Spec: https://prometheus.io/docs/instrumenting/exposition_formats/#text-based-format
 */

export interface Sample {
  readonly name: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly value: number;
}

export interface Exposition {
  readonly samples: readonly Sample[];
  /** Metric family name → its TYPE. */
  readonly types: ReadonlyMap<string, string>;
}

const NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*/;

export function parseExposition(text: string): Exposition {
  const samples: Sample[] = [];
  const types = new Map<string, string>();
  for (const [index, line] of text.split('\n').entries()) {
    if (line.trim() === '') continue;
    if (line.startsWith('#')) {
      const type = /^# TYPE (\S+) (counter|gauge|histogram|summary|untyped)$/.exec(line);
      if (type) types.set(type[1]!, type[2]!);
      continue;
    }
    const name = NAME.exec(line)?.[0];
    if (!name) throw new Error(`line ${index + 1}: no metric name: ${line}`);
    let at = name.length;
    const labels: Record<string, string> = {};
    if (line[at] === '{') {
      at++;
      while (line[at] !== '}') {
        const labelName = NAME.exec(line.slice(at))?.[0];
        if (!labelName || line[at + labelName.length] !== '=' || line[at + labelName.length + 1] !== '"') {
          throw new Error(`line ${index + 1}: bad label at ${at}: ${line}`);
        }
        at += labelName.length + 2;
        let value = '';
        for (;;) {
          const c = line[at];
          if (c === undefined) throw new Error(`line ${index + 1}: unterminated label value: ${line}`);
          at++;
          if (c === '"') break;
          if (c === '\\') {
            const escaped = line[at++];
            if (escaped === 'n') value += '\n';
            else if (escaped === '\\' || escaped === '"') value += escaped;
            else throw new Error(`line ${index + 1}: bad escape \\${escaped}: ${line}`);
          } else {
            value += c;
          }
        }
        if (labelName in labels) throw new Error(`line ${index + 1}: label ${labelName} twice`);
        labels[labelName] = value;
        if (line[at] === ',') at++;
      }
      at++;
    }
    const rest = line.slice(at).trim().split(/\s+/);
    if (line[at] !== ' ' || rest.length < 1 || rest.length > 2) throw new Error(`line ${index + 1}: bad value: ${line}`);
    const raw = rest[0]!;
    const value = raw === '+Inf' ? Number.POSITIVE_INFINITY : raw === '-Inf' ? Number.NEGATIVE_INFINITY : Number(raw);
    if (Number.isNaN(value) && raw !== 'NaN') throw new Error(`line ${index + 1}: bad number ${raw}`);
    samples.push({ name, labels, value });
  }
  return { samples, types };
}

/** Samples named `name` whose labels include every pair of `match`. */
export function samplesOf(exposition: Exposition, name: string, match: Readonly<Record<string, string>> = {}): Sample[] {
  return exposition.samples.filter((s) => s.name === name && Object.entries(match).every(([k, v]) => s.labels[k] === v));
}

/** The one sample named `name` matching `match`; fails when there is not exactly one. */
export function valueOf(exposition: Exposition, name: string, match: Readonly<Record<string, string>> = {}): number {
  const found = samplesOf(exposition, name, match);
  if (found.length !== 1) throw new Error(`expected one ${name} ${JSON.stringify(match)}, found ${found.length}`);
  return found[0]!.value;
}

/** Fetches and parses a /metrics URL, checking the content type Prometheus 3 requires. */
export async function scrape(url: string): Promise<Exposition> {
  const response = await fetch(url);
  if (response.status !== 200) throw new Error(`scrape ${url}: HTTP ${response.status}`);
  const type = response.headers.get('content-type') ?? '';
  if (!/^text\/plain; version=0\.0\.4/.test(type)) throw new Error(`scrape ${url}: content-type ${type}`);
  return parseExposition(await response.text());
}
