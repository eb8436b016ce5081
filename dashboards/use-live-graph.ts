/**
 * The hook between a live session and the dashboard: a fresh LiveView at most
 * every `intervalMs` (and only when something changed), never one per span, so a
 * 10k spans/s stream costs two frames a second, not ten thousand renders (a full
 * Ink frame of a busy dashboard costs tens of milliseconds on a loaded machine).
 */
import { useEffect, useState } from 'react';
import type { LiveView } from './view-model.js';

/** What the hook reads: a LiveSession, or anything that builds views and says when they change. */
export interface LiveViewSource {
  view(): LiveView;
  readonly version: number;
}

/** The current view of `source`, rebuilt at most every `intervalMs` (default 500). */
export function useLiveGraph(source: LiveViewSource, intervalMs = 500): LiveView {
  const [view, setView] = useState<LiveView>(() => source.view());
  useEffect(() => {
    let seen = source.version;
    let lastSecond = Math.floor(Date.now() / 1000);
    const timer = setInterval(() => {
      // Ages ("4s ago") move every second even when nothing new arrived.
      const second = Math.floor(Date.now() / 1000);
      if (source.version === seen && second === lastSecond) return;
      seen = source.version;
      lastSecond = second;
      setView(source.view());
    }, intervalMs);
    return () => clearInterval(timer);
  }, [source, intervalMs]);
  return view;
}
