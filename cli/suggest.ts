/**
 * "Did you mean …?" for a mistyped command, flag or value: the closest known
 * name by Damerau–Levenshtein distance (optimal string alignment: a swapped pair
 * of letters, the commonest typo, costs one edit, not two), as npm's and git's
 * CLIs suggest. https://en.wikipedia.org/wiki/Damerau%E2%80%93Levenshtein_distance
 */

/** Edits (insert, delete, substitute, swap two neighbours) that turn `a` into `b`. */
export function editDistance(a: string, b: string): number {
  const rows = a.length + 1;
  const cols = b.length + 1;
  const d: number[] = new Array<number>(rows * cols).fill(0);
  for (let i = 0; i < rows; i++) d[i * cols] = i;
  for (let j = 0; j < cols; j++) d[j] = j;
  for (let i = 1; i < rows; i++) {
    for (let j = 1; j < cols; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let best = Math.min(d[(i - 1) * cols + j]! + 1, d[i * cols + j - 1]! + 1, d[(i - 1) * cols + j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) best = Math.min(best, d[(i - 2) * cols + j - 2]! + 1);
      d[i * cols + j] = best;
    }
  }
  return d[rows * cols - 1]!;
}

/**
 * The known name closest to `input`, or undefined when none is close enough
 * to be what the user meant: at most a third of the name's letters edited
 * (at least one); or `input` a prefix of exactly one name (`--fail` → `--fail-on`);
 * or its dash-separated words, in order, in exactly one name (`stale-read` →
 * `stale-epoch-read`).
 */
export function closestName(input: string, names: readonly string[]): string | undefined {
  const typed = input.toLowerCase();
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const name of names) {
    const distance = editDistance(typed, name.toLowerCase());
    if (distance < bestDistance) {
      best = name;
      bestDistance = distance;
    }
  }
  if (best !== undefined && bestDistance <= Math.max(1, Math.floor(best.length / 3))) return best;
  const prefixed = typed.length >= 2 ? names.filter((name) => name.toLowerCase().startsWith(typed)) : [];
  if (prefixed.length === 1) return prefixed[0];
  const words = typed.split('-').filter((word) => word !== '');
  if (words.length < 2) return undefined;
  const containing = names.filter((name) => {
    const parts = name.toLowerCase().split('-');
    let at = 0;
    for (const word of words) {
      while (at < parts.length && parts[at] !== word) at++;
      if (at++ >= parts.length) return false;
    }
    return true;
  });
  return containing.length === 1 ? containing[0] : undefined;
}

/** `; did you mean "audit"?` or the empty string, to append to a one-line error message. */
export function didYouMean(input: string, names: readonly string[], show: (name: string) => string = (name) => `"${name}"`): string {
  const name = closestName(input, names);
  return name === undefined ? '' : `; did you mean ${show(name)}?`;
}
