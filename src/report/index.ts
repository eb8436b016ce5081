/**
 * `baton-cli/report`: an AuditReport as text for a person, JSON for tools, JUnit
 * XML for CI, Markdown for a pull request, and the handoff graph as Mermaid,
 * DOT or JSON. Each is a pure function of the report; none prints. The
 * escaping each format needs is applied inside; it is not part of the API.
 */
export { renderText } from './text.js';
export type { TextOptions } from './text.js';
export { renderJson } from './json.js';
export { renderExplainText } from './explain.js';
export type { ExplainTextOptions } from './explain.js';
export { renderJunit } from './junit.js';
export { renderMarkdown } from './markdown.js';
export type { MarkdownOptions } from './markdown.js';
export { renderGraph, GRAPH_FORMATS } from './graph.js';
export type { GraphFormat, GraphEdge, HandoffGraphJson, TextGraphOptions } from './graph.js';

/** The formats `baton audit --format` takes. */
export const REPORT_FORMATS = ['text', 'json', 'junit', 'markdown'] as const;
export type ReportFormat = (typeof REPORT_FORMATS)[number];
