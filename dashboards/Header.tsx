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

/**
 * The counter lines under the title: one, or two when a recording or filter the
 * user turned on does not fit beside the counters (it must stay visible, not be
 * cut off at the edge).
 */
export function counterLines(view: LiveView, width: number, filter: string): string[] {
  const c = view.counters;
  const parts = [
    `spans ${count(c.accepted)} (${rate(c.perSecond)}/s)`,
    `rejected ${count(c.rejected)}`,
    `throttled ${count(c.throttled)}`,
    `aged out ${count(c.agedOut)}`,
    `traces open ${count(c.tracesOpen)} done ${count(c.tracesAnalyzed)}`,
  ];
  if (c.badRequests > 0) parts.push(`bad input ${count(c.badRequests)}`);
  if (c.queued > 0) parts.push(`queued ${count(c.queued)}`);
  const modes: string[] = [];
  if (view.recording) modes.push(`rec ${view.recording.path} (${count(view.recording.spans)})`);
  if (filter !== '') modes.push(`filter /${filter}`);
  const counters = parts.join('  ');
  if (modes.length === 0) return [cell(counters, width)];
  const together = `${counters}  ${modes.join('  ')}`;
  return [...together].length <= width ? [cell(together, width)] : [cell(counters, width), cell(modes.join('  '), width)];
}

/** How many lines {@link Header} draws, for the layout below it. */
export function headerHeight(view: LiveView, width: number, filter: string): number {
  return 1 + counterLines(view, width, filter).length + (view.notice !== null ? 1 : 0);
}

/** The title line (command, state, sources), the counter lines, and a line for a notice. */
export function Header({ view, paused, width, filter }: HeaderProps) {
  const state = view.done ? 'done' : paused ? 'PAUSED' : view.mode === 'replay' ? 'replaying' : view.mode === 'follow' ? 'following' : 'live';
  const sources = view.sources.length > 0 ? view.sources.join(' · ') : '—';
  const title = view.title ?? 'baton watch';
  return (
    <Box flexDirection="column">
      <Text wrap="truncate">
        <Text bold>{title}</Text> <Text color={paused ? 'yellow' : view.done ? 'cyan' : 'green'}>[{state}]</Text> {cell(sources, Math.max(10, width - 3 - title.length - state.length))}
      </Text>
      {counterLines(view, width, filter).map((line, i) => (
        <Text key={i} wrap="truncate">
          {line}
        </Text>
      ))}
      {view.notice !== null ? (
        <Text color="yellow" wrap="truncate">
          {cell(`! ${view.notice}`, width)}
        </Text>
      ) : null}
    </Box>
  );
}
