/**
 * One request to an admin API (the proxy's, Unleash's): bounded in time, never following a
 * redirect (a bearer token must not travel elsewhere). Rejects with `describe` set to a short
 * reason (ECONNREFUSED, "no answer within 10000 ms") for the caller's typed error.
 */
export async function fetchText(
  url: string,
  options: { method: string; headers: Record<string, string>; body?: object; timeoutMs: number },
): Promise<{ res: Response; text: string }> {
  const headers = { ...options.headers, accept: 'application/json' } as Record<string, string>;
  if (options.body) headers['content-type'] = 'application/json';
  try {
    const res = await fetch(url, {
      method: options.method,
      headers,
      body: options.body ? JSON.stringify(options.body) : undefined,
      redirect: 'manual',
      signal: AbortSignal.timeout(options.timeoutMs),
    });
    return { res, text: await res.text() };
  } catch (err) {
    throw Object.assign(err instanceof Error ? err : new Error(String(err)), { describe: describeFetchFailure(err, options.timeoutMs) });
  }
}

export function describeFetchFailure(err: unknown, timeoutMs: number): string {
  if (err instanceof Error && (err.name === 'TimeoutError' || err.name === 'AbortError')) return `no answer within ${timeoutMs} ms`;
  const cause = (err as { cause?: { code?: string; message?: string } }).cause;
  return cause?.code ?? cause?.message ?? (err instanceof Error ? err.message : String(err));
}
