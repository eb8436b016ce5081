/**
 * The dashboard: header, edge table, agents and findings (or one edge in
 * detail, or the keys), laid out to the terminal's size, driven by the keyboard.
 * It draws a plain LiveView and keeps only UI state (selection, filter, sort,
 * pause); pausing freezes the view on screen while analysis goes on.
 */
import { Box, Text, useInput, type Key } from 'ink';
import { useRef, useState } from 'react';
import { AgentsPanel } from './AgentsPanel.js';
import { EdgeDetail } from './EdgeDetail.js';
import { EdgeTable, type EdgeSort } from './EdgeTable.js';
import { FindingsPanel } from './FindingsPanel.js';
import { Header, headerHeight } from './Header.js';
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

/** What the keyboard changes: kept in one ref so fast keys each see the state the previous one left. */
interface UiState {
  frozen: LiveView | null;
  selectedKey: string | null;
  detail: boolean;
  help: boolean;
  sort: EdgeSort;
  filter: string;
  /** The filter being typed, or null when not typing one. */
  editing: string | null;
}

export function App({ view, width, height, onQuit }: AppProps) {
  const ui = useRef<UiState>({ frozen: null, selectedKey: null, detail: false, help: false, sort: 'worst', filter: '', editing: null });
  const [, redraw] = useState(0);
  const update = (change: Partial<UiState>) => {
    Object.assign(ui.current, change);
    redraw((n) => n + 1);
  };
  const { frozen, detail, help, sort, filter, editing } = ui.current;

  const shown = filterView(frozen ?? view, editing ?? filter);
  const edges = sortEdges(shown.edges, sort);
  let selected = ui.current.selectedKey === null ? -1 : edges.findIndex((e) => e.key === ui.current.selectedKey);
  if (selected === -1 && edges.length > 0) selected = 0;
  const selectedEdge = selected >= 0 ? edges[selected] : undefined;

  const headerLines = headerHeight(shown, width, editing ?? filter);
  const body = Math.max(6, height - headerLines - 1);
  const edgeRows = detail || help ? Math.min(3, Math.max(1, edges.length)) : Math.max(2, Math.floor(body * 0.45) - 3);
  const rest = Math.max(2, body - Math.min(edgeRows, Math.max(1, edges.length)) - 3 - (edges.length > edgeRows ? 1 : 0));
  const agentRows = Math.max(1, Math.floor(rest * 0.45) - 1);
  const findingRows = Math.max(1, rest - agentRows - 2);

  // Reads the current state from the ref (not this render's copy): keys can come faster than frames.
  const handle = (input: string, key: Key) => {
    const state = ui.current;
    const list = sortEdges(filterView(state.frozen ?? view, state.editing ?? state.filter).edges, state.sort);
    let at = state.selectedKey === null ? -1 : list.findIndex((e) => e.key === state.selectedKey);
    if (at === -1 && list.length > 0) at = 0;
    const move = (to: number) => {
      if (list.length > 0) update({ selectedKey: list[Math.min(list.length - 1, Math.max(0, to))]!.key });
    };
    if (state.editing !== null) {
      if (key.return) update({ filter: state.editing, editing: null });
      else if (key.escape) update({ filter: '', editing: null });
      else if (key.backspace || key.delete) update({ editing: state.editing.slice(0, -1) });
      else if (input !== '' && !key.ctrl && !key.meta) update({ editing: state.editing + input });
      return;
    }
    if (input === 'q' || (key.ctrl && input === 'c')) return onQuit();
    if (key.escape) {
      if (state.help) update({ help: false });
      else if (state.detail) update({ detail: false });
      else if (state.filter !== '') update({ filter: '' });
      return;
    }
    if (input === '?') return update({ help: !state.help });
    if (input === 'p') return update({ frozen: state.frozen ? null : view });
    if (input === 's') return update({ sort: SORTS[(SORTS.indexOf(state.sort) + 1) % SORTS.length]! });
    if (input === '/') return update({ editing: state.filter });
    if (key.return) return update({ detail: at >= 0 && !state.detail, selectedKey: at >= 0 ? list[at]!.key : null });
    if (key.upArrow || input === 'k') return move(at - 1);
    if (key.downArrow || input === 'j') return move(at + 1);
    if (key.pageUp) return move(at - edgeRows);
    if (key.pageDown) return move(at + edgeRows);
    if (input === 'g' || key.home) return move(0);
    if (input === 'G' || key.end) return move(list.length - 1);
  };

  useInput((input, key) => {
    // Keys typed faster than a frame arrive as one chunk ("j\r"): take them one by one.
    if (ui.current.editing === null && input.length > 1 && !key.ctrl && !key.meta) {
      for (const ch of input) handle(ch === '\r' ? '' : ch, { ...key, return: ch === '\r' });
      return;
    }
    handle(input, key);
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
