/** The keys (`?`). */
import { Box, Text } from 'ink';

/** Props of {@link HelpPanel}. */
export interface HelpPanelProps {
  readonly width: number;
}

export const KEYS: readonly (readonly [string, string])[] = [
  ['↑ ↓  j k', 'move through the edges'],
  ['PgUp PgDn  g G', 'page, first, last'],
  ['Enter', 'the selected edge in detail'],
  ['Esc', 'back (detail, help, filter)'],
  ['/', 'filter by agent name (Enter keeps it, Esc clears it)'],
  ['s', 'sort: worst first, most handoffs, by name'],
  ['p', 'pause the display (analysis goes on)'],
  ['?', 'this help'],
  ['q  Ctrl-C', 'quit (flushes --record)'],
];

export function HelpPanel({ width }: HelpPanelProps) {
  return (
    <Box flexDirection="column">
      <Text bold>Keys</Text>
      {KEYS.map(([key, what]) => (
        <Text key={key} wrap="truncate">
          {`  ${key.padEnd(16)} ${what}`.slice(0, width)}
        </Text>
      ))}
    </Box>
  );
}
