import { loadConfig } from '../config/load-config.ts';
import { errors } from '../errors.ts';
import type { AuditEntry, RouteStatus } from '../admin/route-controller.ts';
import { adminClientFor, defaultReason } from './admin-target.ts';
import { CONFIG_OPTION, parseCommandArgs, UsageError, type Command } from './command.ts';

const TOKEN_OPTION = { token: { type: 'string' } } as const;

export const statusCommand: Command = {
  name: 'status',
  summary: "every route as the running proxy sees it: stage, share, kill switch, req/s, parity",
  usage: `Usage: strangler status [--config routes.yaml] [--json] [--token t]

Asks the running proxy's admin API (routes.yaml admin:) for every route: stage, the share of
its flag, whether the flag is on, requests per second per target over the last minute, and
parity over the last hour when the route compares.

Options:
  -c, --config <file>  config file (default: ./routes.yaml); admin.listen and the tokens are read from it
      --token <t>      admin token (default: admin.readToken, else admin.operatorToken)
      --json           print the routes as JSON
  -h, --help           show this help`,
  async run(argv) {
    const { values } = parseCommandArgs(argv, { ...CONFIG_OPTION, ...TOKEN_OPTION, json: { type: 'boolean', default: false } });
    const config = await loadConfig(values.config);
    const client = adminClientFor(config, 'read', values.token);
    if (!client) throw errors.adminNotConfigured(config.file);
    const routes = await client.routes();
    console.log(values.json ? toTerminalJson(routes) : formatRoutes(routes));
    return 0;
  },
};

function formatRoutes(routes: RouteStatus[]): string {
  const head = ['route', 'stage', 'share', 'flag', 'req/s', 'parity', 'rollout'];
  const rows = routes.map((r) =>
    [
      r.name,
      r.stage,
      r.share === null ? 'custom' : `${r.share} %`,
      r.enabled ? 'on' : 'off',
      Object.entries(r.rates).map(([target, rate]) => `${target} ${rate}`).join(', ') || '0',
      r.parity === null ? '—' : `${(Math.floor(r.parity * 100) / 100).toFixed(2)} %`,
      // a stopped rollout's reason quotes the operator's --reason
      r.rollout ? `${r.rollout.status} ${r.rollout.step}/${r.rollout.steps.length}: ${r.rollout.reason}` : '',
    ].map(escapeControls),
  );
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((row) => row[i].length)));
  return [head, ...rows].map((row) => row.map((c, i) => c.padEnd(widths[i])).join('  ').trimEnd()).join('\n');
}

function changeCommand(name: 'rollback' | 'promote', summary: string, explain: string): Command {
  return {
    name,
    summary,
    usage: `Usage: strangler ${name} <route> [--reason "why"] [--config routes.yaml] [--token t]

${explain}
The change goes through the running proxy's admin API (routes.yaml admin:) and is written to
the audit log with its reason.

Options:
  -c, --config <file>  config file (default: ./routes.yaml)
      --reason <text>  why (kept in the audit log)
      --token <t>      operator token (default: admin.operatorToken from the config)
  -h, --help           show this help`,
    async run(argv) {
      const { values, positionals } = parseCommandArgs(argv, { ...CONFIG_OPTION, ...TOKEN_OPTION, reason: { type: 'string' } });
      if (positionals.length !== 1) throw new UsageError(`give one route, e.g. strangler ${name} rooms-get`);
      const config = await loadConfig(values.config);
      const client = adminClientFor(config, 'operator', values.token);
      if (!client) throw errors.adminNotConfigured(config.file);
      const change = await client[name](positionals[0], values.reason ?? defaultReason(name));
      console.log(`${change.route}: ${describe(change.from)} → ${describe(change.to)} (${name}, in the audit log)`);
      return 0;
    },
  };
}

export function describe(side: { share: number | null; enabled: boolean }): string {
  const share = side.share === null ? 'custom strategies' : `${side.share} %`;
  return side.enabled ? share : `off (${share} when on)`;
}

export const rollbackCommand = changeCommand('rollback', "send a route's traffic back to legacy at once (0 %), audited", 'Sets the route\'s share to 0 %: every request goes to legacy within a second.');
export const promoteCommand = changeCommand(
  'promote',
  "start a route's rollout plan (or, without one, send it 100 %), audited",
  "With a rollout: plan in routes.yaml, sets the first step's share and lets the proxy walk the\nplan: it advances while every gate holds and rolls back to 0 % when one fails. Without a\nplan, sets the route's share to 100 %.",
);

export const auditCommand: Command = {
  name: 'audit',
  summary: 'who changed which route, when, from what to what, and why',
  usage: `Usage: strangler audit [route] [--limit 50] [--json] [--config routes.yaml] [--token t]

Reads the audit log through the running proxy's admin API, newest first.

Options:
  -c, --config <file>  config file (default: ./routes.yaml)
      --limit <n>      entries (default 50, at most 1000)
      --json           print the entries as JSON
      --token <t>      admin token (default: admin.readToken, else admin.operatorToken)
  -h, --help           show this help`,
  async run(argv) {
    const { values, positionals } = parseCommandArgs(argv, { ...CONFIG_OPTION, ...TOKEN_OPTION, limit: { type: 'string', default: '50' }, json: { type: 'boolean', default: false } });
    const limit = Number(values.limit);
    if (!Number.isInteger(limit) || limit < 1 || limit > 1000) throw new UsageError('--limit must be a whole number from 1 to 1000');
    const config = await loadConfig(values.config);
    const client = adminClientFor(config, 'read', values.token);
    if (!client) throw errors.adminNotConfigured(config.file);
    const entries = await client.audit({ route: positionals[0], limit });
    if (values.json) console.log(toTerminalJson(entries));
    else if (entries.length === 0) console.log('no changes recorded yet');
    else for (const e of entries) console.log(formatAuditEntry(e));
    return 0;
  },
};

/** One audit entry on one line; every field is the log's text, so none reaches the terminal raw. */
function formatAuditEntry(e: AuditEntry): string {
  const by = `${e.actor.token}${e.actor.address ? `@${e.actor.address}` : ''}`;
  const fields = [e.at, e.change.route, e.change.action, `${describe(e.change.from)} → ${describe(e.change.to)}`, `by ${by}`].map(escapeControls);
  return `${fields.join('  ')}  "${escapeControls(e.reason).replace(/"/g, '\\"')}"`;
}

/**
 * Characters a terminal acts on instead of showing: C0 controls (ESC starts colour and cursor
 * sequences, CR rewrites the line), DEL, C1 controls (U+009B is a one-character CSI), line and
 * paragraph separators, and the bidirectional controls that reorder what is shown.
 */
const TERMINAL_CONTROLS = /[\u0000-\u001f\u007f-\u009f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g;
/** The same less C0, which JSON.stringify escapes inside strings (the raw newlines are its indentation). */
const TERMINAL_CONTROLS_JSON_LEAVES = /[\u007f-\u009f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g;

/**
 * Text from the admin API (an operator's --reason above all) as it may be printed: backslash
 * and every terminal control written as an escape (\\, \x1b, \r, \u202e), so what is printed
 * is what was stored, and no reason can recolour, move the cursor or overwrite the line.
 */
function escapeControls(text: unknown): string {
  return String(text)
    .replace(/\\/g, '\\\\')
    .replace(TERMINAL_CONTROLS, (c) => {
      const code = c.charCodeAt(0);
      if (c === '\n') return '\\n';
      if (c === '\r') return '\\r';
      if (c === '\t') return '\\t';
      return code <= 0xff ? `\\x${code.toString(16).padStart(2, '0')}` : `\\u${code.toString(16).padStart(4, '0')}`;
    });
}

/** JSON for a terminal: JSON.stringify escapes C0 controls but leaves the other terminal controls raw. */
function toTerminalJson(value: unknown): string {
  return JSON.stringify(value, null, 2).replace(TERMINAL_CONTROLS_JSON_LEAVES, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}
