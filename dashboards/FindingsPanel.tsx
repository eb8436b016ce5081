/** Findings as they happen, newest first: age, severity (coloured), rule, agents, message. */
import { Box, Text } from 'ink';
import type { Severity } from '../src/model/finding.js';
import type { FindingRow } from './view-model.js';
import { ago, cell, padCell, right } from './text.js';

/** Props of {@link FindingsPanel}. */
export interface FindingsPanelProps {
  readonly findings: readonly FindingRow[];
  /** Findings in total (the list may be capped or filtered). */
  readonly total: number;
  readonly nowMs: number;
  readonly width: number;
  readonly maxRows: number;
}

const SEVERITY_COLOR: Readonly<Record<Severity, string>> = { error: 'red', warning: 'yellow', info: 'blue' };

export function FindingsPanel({ findings, total, nowMs, width, maxRows }: FindingsPanelProps) {
  const shown = findings.slice(0, Math.max(0, maxRows));
  const ruleWidth = 18;
  const agentsWidth = width >= 100 ? 24 : 0;
  const messageWidth = Math.max(10, width - 5 - 8 - ruleWidth - agentsWidth - 4);
  return (
    <Box flexDirection="column">
      <Text bold wrap="truncate">
        Findings {total > 0 ? `(${total})` : ''}
      </Text>
      {findings.length === 0 ? <Text dimColor>  none so far</Text> : null}
      {shown.map((finding) => (
        <Text key={finding.id} wrap="truncate">
          {right(ago(finding.foundAtMs, nowMs), 4)} <Text color={SEVERITY_COLOR[finding.severity]}>{padCell(finding.severity, 7)}</Text> {padCell(finding.ruleId, ruleWidth)}
          {agentsWidth > 0 ? ` ${padCell(finding.agents.join(','), agentsWidth)}` : ''} {cell(finding.message, messageWidth)}
        </Text>
      ))}
      {findings.length > shown.length ? <Text dimColor>{`  … ${findings.length - shown.length} more`}</Text> : null}
    </Box>
  );
}
