import { writeFile } from 'node:fs/promises';
import pino from 'pino';
import { runProxy, type RunningProxy } from '../../proxy/cli/run-proxy.ts';
import { loadConfig } from '../../proxy/config/load-config.ts';
import { StranglerError } from '../../proxy/errors.ts';
import { closedPort } from './http.ts';

/**
 * A proxy with its admin API on a fixed port (the CLI reads the port from routes.yaml, so it
 * cannot be 0). A free port can be taken by a parallel test before the admin listens: pick
 * another and try again.
 */
export async function runProxyWithAdmin(configFile: string, writeConfig: (adminPort: number) => string): Promise<RunningProxy> {
  for (let attempt = 1; ; attempt++) {
    await writeFile(configFile, writeConfig(await closedPort()));
    try {
      return await runProxy(await loadConfig(configFile), pino({ level: 'silent' }));
    } catch (err) {
      if (attempt >= 5 || !(err instanceof StranglerError && err.code === 'STRANGLER_ERR_PORT_IN_USE')) throw err;
    }
  }
}
