import { join } from 'node:path';
import { findPhp, startLegacy, type RunningLegacy } from '../../legacy/start-legacy.ts';

/**
 * Shared by the legacy tests: a real `php -S` on port 0 over a throw-away SQLite file.
 * Without a usable PHP every legacy test is skipped with `phpSkipReason`.
 */
const php = await findPhp();
export const phpSkipReason: string | false = php.ok
  ? false
  : `PHP is not usable, legacy monolith tests skipped: ${php.reason} (sudo apt-get install -y php-cli php-sqlite3 php-mysql)`;

interface TestLike {
  testdir(): string;
  teardown(fn: () => unknown): void;
}

export async function startTestLegacy(t: TestLike, databaseUrl?: string): Promise<RunningLegacy> {
  const url = databaseUrl ?? `sqlite:${join(t.testdir(), 'timing.sqlite')}`;
  const legacy = await startLegacy({ databaseUrl: url, port: 0, workers: 2 });
  t.teardown(() => legacy.stop());
  return legacy;
}

export interface JsonResponse {
  status: number;
  headers: Headers;
  body: any;
}

export async function request(
  base: string,
  path: string,
  init: { method?: string; json?: unknown; rawBody?: string; cookie?: string } = {},
): Promise<JsonResponse> {
  const headers: Record<string, string> = {};
  if (init.cookie) headers.cookie = init.cookie;
  let body: string | undefined = init.rawBody;
  if (init.json !== undefined) {
    headers['content-type'] = 'application/json';
    body = JSON.stringify(init.json);
  }
  const res = await fetch(base + path, { method: init.method ?? 'GET', headers, body, redirect: 'manual' });
  const text = await res.text();
  const isJson = (res.headers.get('content-type') ?? '').startsWith('application/json');
  return { status: res.status, headers: res.headers, body: isJson ? JSON.parse(text) : text };
}

/** "PHPSESSID=abc" from the response's Set-Cookie, ready for a Cookie header. */
export function sessionCookie(res: JsonResponse): string | undefined {
  const cookie = res.headers.getSetCookie().find((c) => c.startsWith('PHPSESSID='));
  return cookie?.split(';')[0];
}

export const ISO_UTC = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$/;
export const REQUEST_ID = /^[0-9a-f]{16}$/;
