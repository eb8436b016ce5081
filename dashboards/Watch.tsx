/** The dashboard wired to a live session: the view from useLiveGraph, the size from the terminal. */
import { App } from './App.js';
import { useLiveGraph, type LiveViewSource } from './use-live-graph.js';
import { useTerminalSize } from './use-terminal-size.js';

/** Props of {@link Watch}. */
export interface WatchProps {
  readonly source: LiveViewSource;
  readonly onQuit: () => void;
  /** Fastest redraw, ms. Default 500. */
  readonly intervalMs?: number;
}

export function Watch({ source, onQuit, intervalMs }: WatchProps) {
  const view = useLiveGraph(source, intervalMs);
  const { width, height } = useTerminalSize();
  return <App view={view} width={width} height={height} onQuit={onQuit} />;
}
