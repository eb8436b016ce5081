/**
 * The dashboard: header, edge table, agents and findings (or one edge in
 * detail, or the keys), laid out to the terminal's size, driven by the keyboard.
 * It draws a plain LiveView and keeps only UI state (selection, filter, sort,
 * pause); pausing freezes the view on screen while analysis goes on.
 */
import { Box, Text, useInput } from 'ink';
import { useState } from 'react';
import { AgentsPanel } from './AgentsPanel.js';
import { EdgeDetail } from './EdgeDetail.js';
import { EdgeTable, type EdgeSort } from './EdgeTable.js';
import { FindingsPanel } from './FindingsPanel.js';
import { Header } from './Header.js';
import { HelpPanel } from './HelpPanel.js';
import { compareWorstFirst } from './live-session.js';
import { cell } from './text.js';
import type { EdgeRow, LiveView } from './view-model.js';

/** Props of {@link App}. */
export interface AppProps {
  readonly view: LiveView;
  /** Terminal columns and rows. */
  readonly width: number;
  readonly height: number;
  /** Called on q or Ctrl-C. */
  readonly onQuit: () => void;
}

const SORTS: readonly EdgeSort[] = ['worst', 'count', 'name'];

function sortEdges(edges: readonly EdgeRow[], sort: EdgeSort): EdgeRow[] {
  const list = [...edges];
  if (sort === 'worst') list.sort(compareWorstFirst);
  else if (sort === 'count') list.sort((a, b) => b.handoffs - a.handoffs || (a.key < b.key ? -1 : 1));
  else list.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  return list;
}

/** Views narrowed to agents whose name contains `filter` (case-insensitive). */
export function filterView(view: LiveView, filter: string): LiveView {
  if (filter === '') return view;
  const f = filter.toLowerCase();
  const hit = (name: string) => name.toLowerCase().includes(f);
  return {
    ...view,
    edges: view.edges.filter((e) => hit(e.source) || hit(e.target)),
    agents: view.agents.filter((a) => hit(a.name)),
    findings: view.findings.filter((x) => x.agents.some(hit)),
  };
}

export function App({ view, width, height, onQuit }: AppProps) {
  const [frozen, setFrozen] = useState<LiveView | null>(null);
  const [selectedKey, setSelectedKey] = useState<string | null>(null);
  const [detail, setDetail] = useState(false);
  const [help, setHelp] = useState(false);
  const [sort, setSort] = useState<EdgeSort>('worst');
  const [filter, setFilter] = useState('');
  const [editing, setEditing] = useState<string | null>(null);

  const shown = filterView(frozen ?? view, editing ?? filter);
  const edges = sortEdges(shown.edges, sort);
  let selected = selectedKey === null ? -1 : edges.findIndex((e) => e.key === selectedKey);
  if (selected === -1 && edges.length > 0) selected = 0;
  const selectedEdge = selected >= 0 ? edges[selected] : undefined;

  const headerLines = shown.notice !== null ? 3 : 2;
  const body = Math.max(6, height - headerLines - 1);
  const edgeRows = detail || help ? Math.min(3, Math.max(1, edges.length)) : Math.max(2, Math.floor(body * 0.45) - 3);
  const rest = Math.max(2, body - Math.min(edgeRows, Math.max(1, edges.length)) - 3 - (edges.length > edgeRows ? 1 : 0));
  const agentRows = Math.max(1, Math.floor(rest * 0.45) - 1);
  const findingRows = Math.max(1, rest - agentRows - 2);

  const move = (to: number) => {
    if (edges.length === 0) return;
    const index = Math.min(edges.length - 1, Math.max(0, to));
    setSelectedKey(edges[index]!.key);
  };

  useInput((input, key) => {
    if (editing !== null) {
      if (key.return) {
        setFilter(editing);
        setEditing(null);
      } else if (key.escape) {
        setFilter('');
        setEditing(null);
      } else if (key.backspace || key.delete) {
        setEditing(editing.slice(0, -1));
      } else if (input !== '' && !key.ctrl && !key.meta) {
        setEditing(editing + input);
      }
      return;
    }
    if (input === 'q' || (key.ctrl && input === 'c')) return onQuit();
    if (key.escape) {
      if (help) setHelp(false);
      else if (detail) setDetail(false);
      else if (filter !== '') setFilter('');
      return;
    }
    if (input === '?') return setHelp(!help);
    if (input === 'p') return setFrozen(frozen ? null : view);
    if (input === 's') return setSort(SORTS[(SORTS.indexOf(sort) + 1) % SORTS.length]!);
    if (input === '/') return setEditing(filter);
    if (key.return) return setDetail(selectedEdge !== undefined && !detail);
    if (key.upArrow || input === 'k') return move(selected - 1);
    if (key.downArrow || input === 'j') return move(selected + 1);
    if (key.pageUp) return move(selected - edgeRows);
    if (key.pageDown) return move(selected + edgeRows);
    if (input === 'g' || key.home) return move(0);
    if (input === 'G' || key.end) return move(edges.length - 1);
  });

  const footer =
    editing !== null
      ? `filter by agent: ${editing}▏ (Enter keeps it, Esc clears it)`
      : `q quit  ↑↓ move  Enter detail  / filter  s sort  p ${frozen ? 'resume' : 'pause'}  ? help`;
  return (
    <Box flexDirection="column" width={width}>
      <Header view={shown} paused={frozen !== null} width={width} filter={editing ?? filter} />
      <EdgeTable edges={edges} selected={selected} width={width} maxRows={edgeRows} sort={sort} />
      {help ? (
        <HelpPanel width={width} />
      ) : detail && selectedEdge ? (
        <EdgeDetail edge={selectedEdge} findings={shown.findings} nowMs={shown.nowMs} width={width} maxRows={rest} />
      ) : (
        <>
          <AgentsPanel agents={shown.agents} nowMs={shown.nowMs} width={width} maxRows={agentRows} />
          <FindingsPanel findings={shown.findings} total={shown.findingsTotal} nowMs={shown.nowMs} width={width} maxRows={findingRows} />
        </>
      )}
      <Text dimColor wrap="truncate">
        {cell(footer, width)}
      </Text>
    </Box>
  );
}
