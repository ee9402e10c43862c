import { isMap, isScalar, isSeq, parseDocument, stringify, type Node, type Pair } from 'yaml';

/**
 * Adds a service and a route to routes.yaml by inserting text, never by re-serialising the
 * document: a person wrote the file, and its comments, alignment and quoting must survive
 * byte for byte. The YAML parser only tells where to insert. The caller validates the result.
 */

export interface ServiceEntry {
  name: string;
  url: string;
}

export interface RouteEntry {
  name: string;
  match: string;
  service: string;
  stage: string;
}

export interface RoutesYamlAdditions {
  service?: ServiceEntry;
  route?: RouteEntry;
}

const DEFAULT_INDENT = 2;

export function addToRoutesYaml(source: string, additions: RoutesYamlAdditions): string {
  const eol = source.includes('\r\n') ? '\r\n' : '\n';
  let text = source;
  // service first: the route refers to it, and a fresh parse keeps the offsets right
  if (additions.service) text = addService(text, additions.service, eol);
  if (additions.route) text = addRoute(text, additions.route, eol);
  return text;
}

function addService(text: string, service: ServiceEntry, eol: string): string {
  const entry = `${toYamlScalar(service.name)}: ${toYamlScalar(service.url)}`;
  const found = topLevelPair(text, 'services');
  if (!found) {
    const block = `services:${eol}${' '.repeat(DEFAULT_INDENT)}${entry}${eol}`;
    const routes = topLevelPair(text, 'routes');
    // before routes: so the file keeps reading top-down: upstreams, then the routes using them
    return routes ? insertAt(text, lineStart(text, offsetOf(routes.key)), block) : appendBlock(text, block, eol);
  }
  const value = found.value;
  if (isMap(value) && value.flow && value.items.length === 0) return addService(withoutEmptyFlow(text, value), service, eol);
  if (isMap(value) && value.flow) return addToFlowCollection(text, value, '{', '}', entry);
  if (isMap(value) && value.items.length > 0) {
    const indent = columnOf(text, offsetOf(value.items[0].key as Node));
    return insertAt(text, lineEndAfter(text, endOf(value)), `${' '.repeat(indent)}${entry}${eol}`);
  }
  // `services:` with nothing (null) under it
  const indent = columnOf(text, offsetOf(found.key)) + DEFAULT_INDENT;
  return insertAt(text, lineEndAfter(text, endOf(found.key)), `${' '.repeat(indent)}${entry}${eol}`);
}

function addRoute(text: string, route: RouteEntry, eol: string): string {
  const fields: Array<[string, string]> = [
    ['name', route.name],
    ['match', route.match],
    ['service', route.service],
    ['stage', route.stage],
  ];
  const blockItem = (dashColumn: number) =>
    fields.map(([key, value], i) => `${' '.repeat(i === 0 ? dashColumn : dashColumn + 2)}${i === 0 ? '- ' : ''}${key}: ${toYamlScalar(value)}${eol}`).join('');
  const found = topLevelPair(text, 'routes');
  if (!found) return appendBlock(text, `routes:${eol}${blockItem(DEFAULT_INDENT)}`, eol);
  const value = found.value;
  if (isSeq(value) && value.flow && value.items.length === 0) return addRoute(withoutEmptyFlow(text, value), route, eol);
  if (isSeq(value) && value.flow) {
    const flowItem = `{ ${fields.map(([key, v]) => `${key}: ${toYamlScalar(v)}`).join(', ')} }`;
    return addToFlowCollection(text, value, '[', ']', flowItem);
  }
  if (isSeq(value) && value.items.length > 0) {
    const dashColumn = columnOf(text, offsetOf(value));
    return insertAt(text, lineEndAfter(text, endOf(value)), blockItem(dashColumn));
  }
  const dashColumn = columnOf(text, offsetOf(found.key)) + DEFAULT_INDENT;
  return insertAt(text, lineEndAfter(text, endOf(found.key)), blockItem(dashColumn));
}

/**
 * `routes: []   # none yet` → `routes:   # none yet`: an empty flow collection is a placeholder,
 * not a style, so the first entry goes under the key in block style, as every example writes
 * routes. The comment after it stays where it was.
 */
function withoutEmptyFlow(text: string, node: Node): string {
  const [start, end] = node.range ?? [0, 0];
  const close = text.lastIndexOf(isSeq(node) ? ']' : '}', end) + 1;
  const after = text.slice(close);
  const restOfLine = /^[^\n]*/.exec(after)![0];
  if (restOfLine.trim() === '') return text.slice(0, start).replace(/[ \t]+$/, '') + after.slice(restOfLine.length);
  // blanks where the brackets were: the comment keeps its column
  return text.slice(0, start) + ' '.repeat(close - start) + after;
}

/** `{}` → `{ entry }`, `{ a: b }` → `{ a: b, entry }`; the same for `[ ]`. */
function addToFlowCollection(text: string, node: Node, open: string, close: string, entry: string): string {
  const [start, end] = node.range ?? [0, 0];
  const closeAt = text.lastIndexOf(close, end);
  const inner = text.slice(text.indexOf(open, start) + 1, closeAt);
  if (inner.trim() === '') return `${text.slice(0, start)}${open} ${entry} ${close}${text.slice(closeAt + 1)}`;
  const lastContent = start + text.slice(start, closeAt).trimEnd().length;
  const needsComma = !text.slice(start, lastContent).endsWith(',');
  return `${text.slice(0, lastContent)}${needsComma ? ',' : ''} ${entry}${text.slice(lastContent)}`;
}

function topLevelPair(text: string, key: string): { key: Node; value: Node | null } | undefined {
  const doc = parseDocument(text);
  if (!isMap(doc.contents)) return undefined;
  const pair = doc.contents.items.find((p: Pair) => isScalar(p.key) && p.key.value === key);
  if (!pair) return undefined;
  const value = pair.value as Node | null;
  // `key:` alone parses as a null scalar; treat it as "nothing under it"
  return { key: pair.key as Node, value: isScalar(value) && value.value === null ? null : value };
}

/** A scalar as YAML would write it: plain when that is safe, quoted otherwise. */
function toYamlScalar(value: string): string {
  return stringify(value).trimEnd();
}

function offsetOf(node: Node): number {
  return node.range?.[0] ?? 0;
}

function endOf(node: Node): number {
  return node.range?.[1] ?? 0;
}

function columnOf(text: string, offset: number): number {
  return offset - lineStart(text, offset);
}

function lineStart(text: string, offset: number): number {
  return text.lastIndexOf('\n', offset - 1) + 1;
}

/** Where the line holding the character before `offset` ends (after its newline). */
function lineEndAfter(text: string, offset: number): number {
  if (offset > 0 && text[offset - 1] === '\n') return offset;
  const newline = text.indexOf('\n', offset);
  return newline < 0 ? text.length : newline + 1;
}

function insertAt(text: string, offset: number, insert: string): string {
  // the last line of the file may lack its newline: give it one before appending after it
  if (offset === text.length && text.length > 0 && !text.endsWith('\n')) return `${text}\n${insert}`;
  return text.slice(0, offset) + insert + text.slice(offset);
}

function appendBlock(text: string, block: string, eol: string): string {
  if (text.length === 0) return block;
  return text.endsWith('\n') ? text + block : text + eol + block;
}
