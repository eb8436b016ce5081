/** Agents: working / waiting / idle / failed, when last seen, current task, and whom a waiting agent waits on. */
import { Box, Text } from 'ink';
import type { AgentRow, AgentState } from './view-model.js';
import { ago, cell, padCell, right } from './text.js';

/** Props of {@link AgentsPanel}. */
export interface AgentsPanelProps {
  readonly agents: readonly AgentRow[];
  readonly nowMs: number;
  readonly width: number;
  readonly maxRows: number;
}

const STATE_COLOR: Readonly<Record<AgentState, string>> = { working: 'green', waiting: 'yellow', idle: 'gray', failed: 'red' };

export function AgentsPanel({ agents, nowMs, width, maxRows }: AgentsPanelProps) {
  const nameWidth = Math.min(24, Math.max(10, Math.floor(width * 0.25)));
  const rest = Math.max(0, width - nameWidth - 9 - 6 - 2);
  const shown = agents.slice(0, Math.max(0, maxRows));
  return (
    <Box flexDirection="column">
      <Text bold wrap="truncate">
        Agents {agents.length > 0 ? `(${agents.length})` : ''}
      </Text>
      {agents.length === 0 ? <Text dimColor>  none seen yet</Text> : null}
      {shown.map((agent) => {
        const detail = agent.state === 'waiting' ? `waiting on ${agent.waitingOn.join(', ')}` : agent.task !== null ? `task ${agent.task}` : '';
        return (
          <Text key={agent.name} wrap="truncate">
            {padCell(agent.name, nameWidth)} <Text color={STATE_COLOR[agent.state]}>{padCell(agent.state, 8)}</Text>
            {right(ago(agent.lastSeenMs, nowMs), 5)}  {cell(detail, rest)}
          </Text>
        );
      })}
      {agents.length > shown.length ? <Text dimColor>{`  … ${agents.length - shown.length} more`}</Text> : null}
    </Box>
  );
}
