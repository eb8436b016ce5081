/** The header: what is being watched, and where every span went (accepted, rejected, throttled, aged out). */
import { Box, Text } from 'ink';
import type { LiveView } from './view-model.js';
import { cell, count, rate } from './text.js';

/** Props of {@link Header}. */
export interface HeaderProps {
  readonly view: LiveView;
  readonly paused: boolean;
  readonly width: number;
  /** The agent filter in force, if any. */
  readonly filter: string;
}

/** Two lines (three with a notice): sources, then the span counters. */
export function Header({ view, paused, width, filter }: HeaderProps) {
  const c = view.counters;
  const state = view.done ? 'done' : paused ? 'PAUSED' : view.mode === 'replay' ? 'replaying' : view.mode === 'follow' ? 'following' : 'live';
  const sources = view.sources.length > 0 ? view.sources.join(' · ') : '—';
  const title = view.title ?? 'baton watch';
  const parts = [
    `spans ${count(c.accepted)} (${rate(c.perSecond)}/s)`,
    `rejected ${count(c.rejected)}`,
    `throttled ${count(c.throttled)}`,
    `aged out ${count(c.agedOut)}`,
    `traces open ${count(c.tracesOpen)} done ${count(c.tracesAnalyzed)}`,
  ];
  if (c.badRequests > 0) parts.push(`bad input ${count(c.badRequests)}`);
  if (c.queued > 0) parts.push(`queued ${count(c.queued)}`);
  if (view.recording) parts.push(`rec ${view.recording.path} (${count(view.recording.spans)})`);
  if (filter !== '') parts.push(`filter /${filter}`);
  return (
    <Box flexDirection="column">
      <Text wrap="truncate">
        <Text bold>{title}</Text> <Text color={paused ? 'yellow' : view.done ? 'cyan' : 'green'}>[{state}]</Text> {cell(sources, Math.max(10, width - 3 - title.length - state.length))}
      </Text>
      <Text wrap="truncate">{cell(parts.join('  '), width)}</Text>
      {view.notice !== null ? (
        <Text color="yellow" wrap="truncate">
          {cell(`! ${view.notice}`, width)}
        </Text>
      ) : null}
    </Box>
  );
}
