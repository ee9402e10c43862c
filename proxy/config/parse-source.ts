import { isScalar, LineCounter, Lexer, parseDocument, Parser, visit, YAMLParseError, type Document } from 'yaml';
import type { ConfigProblem } from '../errors.ts';

/**
 * Bounds on routes.yaml before it is parsed. The YAML composer and everything that walks its
 * tree recurse once per level, so a deep file (a fuzzed `[[[[…`, or a hostile one) used to end
 * in "Maximum call stack size exceeded" and block a running proxy's event loop on reload.
 * A real routes.yaml nests about 6 levels; a monolith's whole API, 10 000 routes, weighs about
 * 600 kB (the bench's decision case), hence 1 MB. The size bound also bounds the time: hostile
 * but shallow YAML costs the composer up to about 2 µs a byte.
 */
export const CONFIG_LIMITS = { maxBytes: 1024 * 1024, maxDepth: 32 } as const;

/**
 * The yaml composer spends about 15 µs on each syntax error (an Error with a stack each), so a
 * megabyte of stray tokens took 16 s; past this many the file is refused without composing it.
 */
const MAX_SYNTAX_ERRORS = 50;

export const SYNTAX_HINT = 'check indentation, and quote values that contain ": " or start with [ { * &';

/** The problem for a file over CONFIG_LIMITS.maxBytes; the loader reports it without reading the rest. */
export function tooLargeProblem(file: string, bytes: number): ConfigProblem {
  return {
    file,
    line: 1,
    column: 1,
    path: '',
    message: `the file is ${formatBytes(bytes)}, over the ${formatBytes(CONFIG_LIMITS.maxBytes)} a routes.yaml may have; check that --config names routes.yaml and not another file, and remove what is not config`,
  };
}

/**
 * routes.yaml text as a YAML document with line numbers, or the problem that stopped it from
 * being parsed (too large, too deep, a flood of syntax errors).
 */
export function parseSource(source: string, file: string): { doc: Document.Parsed; lines: LineCounter } | { problems: ConfigProblem[] } {
  const problems = validateSource(source, file);
  if (problems.length > 0) return { problems };
  const lines = new LineCounter();
  // The composer builds an Error, stack and all, per syntax error: most of the time a file of
  // stray tokens takes. Only their messages and positions are used.
  const stackTraceLimit = Error.stackTraceLimit;
  Error.stackTraceLimit = 0;
  try {
    // yaml's own uniqueKeys check compares each key with every earlier one: 40 000 keys took 16 s
    const doc = parseDocument(source, { lineCounter: lines, prettyErrors: false, uniqueKeys: false });
    if (doc.errors.length === 0) findDuplicateKey(doc);
    return { doc, lines };
  } finally {
    Error.stackTraceLimit = stackTraceLimit;
  }
}

/** The first key repeated in a mapping, as the error yaml's uniqueKeys would have given. */
function findDuplicateKey(doc: Document.Parsed): void {
  visit(doc, {
    Map(_key, map) {
      const seen = new Set<unknown>();
      for (const pair of map.items) {
        if (!isScalar(pair.key)) continue;
        if (seen.has(pair.key.value)) {
          const start = pair.key.range?.[0] ?? 0;
          doc.errors.push(new YAMLParseError([start, start + 1], 'DUPLICATE_KEY', 'Map keys must be unique'));
          return visit.BREAK;
        }
        seen.add(pair.key.value);
      }
      return undefined;
    },
  });
}

/**
 * Size and nesting depth of YAML text, checked with the yaml package's own lexer and CST parser,
 * which keep an explicit stack (no recursion): the scan stops at the first level too deep, so
 * even a megabyte of `[` is rejected in milliseconds.
 */
export function validateSource(source: string, file: string): ConfigProblem[] {
  const bytes = Buffer.byteLength(source, 'utf8');
  if (bytes > CONFIG_LIMITS.maxBytes) return [tooLargeProblem(file, bytes)];
  const parser = new Parser();
  let first: { offset: number; message: string } | undefined;
  let syntaxErrors = 0;
  for (const lexeme of new Lexer().lex(source)) {
    for (const token of parser.next(lexeme)) {
      if (token.type !== 'error') continue;
      first ??= token;
      if (++syntaxErrors > MAX_SYNTAX_ERRORS) {
        const { line, column } = positionOf(source, first.offset);
        return [{ file, line, column, path: '', message: `YAML syntax: ${first.message}, and over ${MAX_SYNTAX_ERRORS} more syntax errors after it; ${SYNTAX_HINT}` }];
      }
    }
    // the stack holds the document, then one entry per open collection and the scalar being read
    if (parser.stack.length - 1 > CONFIG_LIMITS.maxDepth) {
      const { line, column } = positionOf(source, parser.offset - lexeme.length);
      return [
        {
          file,
          line,
          column,
          path: '',
          message: `nested deeper than ${CONFIG_LIMITS.maxDepth} levels (a routes.yaml needs about 8): an opening [ or { is probably never closed, or the indentation runs away; close it or fix the indentation`,
        },
      ];
    }
  }
  return [];
}

function positionOf(source: string, offset: number): { line: number; column: number } {
  let line = 1;
  let start = 0;
  for (let i = source.indexOf('\n'); i !== -1 && i < offset; i = source.indexOf('\n', i + 1)) {
    line++;
    start = i + 1;
  }
  return { line, column: offset - start + 1 };
}

function formatBytes(bytes: number): string {
  return bytes >= 1024 * 1024 ? `${(bytes / (1024 * 1024)).toFixed(1).replace(/\.0$/, '')} MB` : `${Math.ceil(bytes / 1024)} kB`;
}
