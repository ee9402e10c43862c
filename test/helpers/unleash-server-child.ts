/**
 * A real unleash-server in a process of its own, forked by test/helpers/unleash-server.ts.
 * Not in the test process: unleash-server installs a process-wide unhandledRejection handler
 * (which would hide a test's own failures) and registers its metrics in prom-client's global
 * registry; and killing its process is what "the Unleash server went away" really looks like.
 */
import type { AddressInfo } from 'node:net';
import { ApiTokenType, IAuthType, LogLevel, start } from 'unleash-server';

export interface ChildOptions {
  database: { host: string; port: number; user: string; password: string; database: string };
  adminToken: string;
  clientToken: { secret: string; project: string; environment: string };
}

/** The one message the child sends: the port it listens on. */
export interface ChildReady {
  port: number;
}

const options = JSON.parse(process.env.STRANGLER_UNLEASH_CHILD ?? '{}') as ChildOptions;

const unleash = await start({
  db: { ...options.database, ssl: false },
  server: { host: '127.0.0.1', port: 0, gracefulShutdownEnable: false },
  logLevel: LogLevel.warn,
  // The version check is also what sends telemetry; this machine must not call out.
  versionCheck: { enable: false },
  authentication: {
    type: IAuthType.OPEN_SOURCE,
    enableApiToken: true,
    createAdminUser: false,
    initApiTokens: [
      { type: ApiTokenType.ADMIN, secret: options.adminToken, tokenName: 'strangler-test-admin', projects: ['*'], environment: '*' },
      {
        type: ApiTokenType.BACKEND,
        secret: options.clientToken.secret,
        tokenName: 'strangler-test-client',
        projects: [options.clientToken.project],
        environment: options.clientToken.environment,
      },
    ],
  },
});

let stopping = false;
async function stop() {
  if (stopping) return;
  stopping = true;
  await unleash.stop();
  process.exit(0);
}
// A message asks for a clean stop; a parent that died takes the IPC channel with it.
process.on('message', stop);
process.on('disconnect', stop);
process.send?.({ port: (unleash.server?.address() as AddressInfo).port } satisfies ChildReady);
