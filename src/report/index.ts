/**
 * Report renderers: an AuditReport as text for a person, JSON for tools, JUnit
 * XML for CI, Markdown for a pull request, and the handoff graph as Mermaid,
 * DOT or JSON. Each is a pure function of the report; none prints.
 */
export { renderText } from './text.js';
export type { TextOptions } from './text.js';
export { renderJson } from './json.js';
export { renderExplainText } from './explain.js';
export type { ExplainTextOptions } from './explain.js';
export { renderJunit, escapeXml } from './junit.js';
export { renderMarkdown, escapeCell } from './markdown.js';
export type { MarkdownOptions } from './markdown.js';
export { renderGraph, GRAPH_FORMATS, escapeMermaidLabel, quoteDot } from './graph.js';
export type { GraphFormat, GraphEdge, HandoffGraphJson } from './graph.js';

/** The formats `baton audit --format` takes. */
export const REPORT_FORMATS = ['text', 'json', 'junit', 'markdown'] as const;
export type ReportFormat = (typeof REPORT_FORMATS)[number];
