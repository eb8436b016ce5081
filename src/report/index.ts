/**
 * Report renderers: an AuditReport as text for a person, JSON for tools, JUnit
 * XML for CI, Markdown for a pull request, and the handoff graph.
 */
export { renderText } from './text.js';
export type { TextOptions } from './text.js';
export { renderJson } from './json.js';
export { renderJunit, escapeXml } from './junit.js';
export { renderMarkdown, escapeCell } from './markdown.js';
export { renderGraph, GRAPH_FORMATS } from './graph.js';
export type { GraphFormat } from './graph.js';

/** The formats `baton audit --format` takes. */
export const REPORT_FORMATS = ['text', 'json', 'junit', 'markdown'] as const;
export type ReportFormat = (typeof REPORT_FORMATS)[number];
