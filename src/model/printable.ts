/**
 * Text that came from a trace or an envelope, made safe to print: shared by every report
 * renderer (src/report) and by the SDK's diag lines, which quote agent names and schema
 * ids from envelopes the app received.
 */
// C0 and C1 controls, DEL, lone surrogates, and the bidirectional overrides and
// isolates that can make a terminal show text in a different order than it is
// (CVE-2021-42574, "Trojan Source").
// eslint-disable-next-line no-control-regex
const UNPRINTABLE =
  /[\u0000-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g;

/**
 * Trace data made printable on one line: a newline becomes `\n`, a tab `\t`,
 * any other control or bidi character `\u001b`-style, so a hostile agent name
 * can neither break a layout nor send escape sequences to a terminal.
 */
export function printable(text: string): string {
  return text.replace(UNPRINTABLE, (c) => {
    if (c === '\n') return '\\n';
    if (c === '\r') return '\\r';
    if (c === '\t') return '\\t';
    return `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`;
  });
}
