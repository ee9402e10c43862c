import { writeFile } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import pino from 'pino';
import { loadConfig } from '../../proxy/config/load-config.ts';
import { rolloutFeature, writeFlagsFile, type Feature } from '../../proxy/flags/flags-file.ts';
import { buildProxy, type Proxy } from '../../proxy/server.ts';
import { startUpstream } from './http.ts';

export interface TestProxy {
  url: string;
  proxy: Proxy;
  configFile: string;
  flagsFile: string;
  /** every log line the proxy wrote, parsed */
  logs: Array<Record<string, any>>;
  close(): Promise<void>;
}

export interface TestProxyOptions {
  dir: string;
  legacy: string;
  services?: Record<string, string>;
  /** YAML lines under routes: */
  routes?: string;
  /** extra top-level YAML */
  extra?: string;
  /** YAML for the flags: key; default local mode with flags.json */
  flags?: string;
  /** flags file content; default: no features */
  features?: Feature[];
}

/** A real proxy on port 0, built from a real routes.yaml and flags file in `dir`. */
export async function startTestProxy(options: TestProxyOptions): Promise<TestProxy> {
  const configFile = path.join(options.dir, 'routes.yaml');
  const flagsFile = path.join(options.dir, 'flags.json');
  const services = Object.entries(options.services ?? {})
    .map(([name, url]) => `  ${name}: ${url}`)
    .join('\n');
  await writeFile(
    configFile,
    [
      'listen: 127.0.0.1:0',
      `legacy: ${options.legacy}`,
      services ? `services:\n${services}` : 'services: {}',
      options.flags ?? 'flags:\n  file: flags.json',
      options.extra ?? '',
      options.routes ? `routes:\n${options.routes}` : 'routes: []',
      '',
    ].join('\n'),
  );
  await writeFlagsFile(flagsFile, { version: 2, features: options.features ?? [] });
  const logs: Array<Record<string, any>> = [];
  const logger = pino({ level: 'debug' }, { write: (chunk: string) => void logs.push(...chunk.split('\n').filter(Boolean).map((line) => JSON.parse(line))) });
  const config = await loadConfig(configFile);
  const proxy = await buildProxy(config, { logger });
  await new Promise<void>((resolve) => proxy.server.listen(0, '127.0.0.1', resolve));
  const { port } = proxy.server.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}`, proxy, configFile, flagsFile, logs, close: () => proxy.close() };
}

export const on = (flag: string) => rolloutFeature(flag, 100);
export const off = (flag: string) => rolloutFeature(flag, 100, false);

type Handler = Parameters<typeof startUpstream>[1];

export const ROOMS_ROUTES = `
  - name: rooms-list
    match: GET /api/rooms
    service: rooms
  - name: rooms-get
    match: GET /api/rooms/:id
    service: rooms
`;

/**
 * The common fixture: a recording `legacy` upstream, a recording `rooms` service, and a proxy
 * in front of both; everything is closed when the test ends.
 */
export async function startProxyFixture(
  t: { testdir(): string; teardown(fn: () => unknown): void },
  options: Omit<TestProxyOptions, 'dir' | 'legacy' | 'services'> & { legacy?: Handler; rooms?: Handler } = {},
) {
  const legacy = await startUpstream('legacy', options.legacy);
  const rooms = await startUpstream('rooms', options.rooms);
  const proxy = await startTestProxy({ ...options, dir: t.testdir(), legacy: legacy.url, services: { rooms: rooms.url } });
  t.teardown(async () => {
    await proxy.close();
    await legacy.close();
    await rooms.close();
  });
  return { proxy, legacy, rooms };
}
