import type { AddressInfo } from 'node:net';
import type { Logger } from 'pino';
import type { Config } from '../config/schema.ts';
import { watchConfig } from '../config/watch-config.ts';
import { ConfigError, errors } from '../errors.ts';
import { buildProxy, type Proxy } from '../server.ts';
import { startAdmin, type RunningAdmin } from '../admin/start-admin.ts';

export interface RunningProxy {
  proxy: Proxy;
  url: string;
  /** the admin API's address, when routes.yaml has admin: */
  adminUrl?: string;
  admin?: RunningAdmin;
  stop(): Promise<void>;
}

/** Loads the config, starts the proxy listening, and keeps it in step with the file. */
export async function runProxy(config: Config, logger: Logger, listen?: { host?: string; port?: number }): Promise<RunningProxy> {
  const proxy = await buildProxy(config, { logger });
  const host = listen?.host ?? config.listen.host;
  const port = listen?.port ?? config.listen.port;
  await new Promise<void>((resolve, reject) => {
    proxy.server.once('error', (err: NodeJS.ErrnoException) =>
      reject(err.code === 'EADDRINUSE' ? errors.portInUse('the proxy', `${host}:${port}`, err) : err),
    );
    proxy.server.listen(port, host, () => resolve());
  });
  const address = proxy.server.address() as AddressInfo;
  const url = `http://${address.family === 'IPv6' ? `[${address.address}]` : address.address}:${address.port}`;
  logger.info({ url, config: config.file, routes: config.routes.length, flags: config.flags.kind }, 'proxy listening');
  if (!config.testers.secret) logger.info('testers.secret is empty: x-strangler-force is ignored');

  const watcher = watchConfig(
    config.file,
    (next) => proxy.reload(next),
    (err) =>
      logger.error(
        err instanceof ConfigError ? { problems: err.problems.map((p) => `${p.line}:${p.column} ${p.path} ${p.message}`) } : { err },
        'config rejected, still serving the last good one',
      ),
    { logger },
  );
  const onHup = () => {
    logger.info({ signal: 'SIGHUP', config: config.file }, 'config reload requested');
    void watcher.reload();
  };
  process.on('SIGHUP', onHup);
  let admin: RunningAdmin | undefined;
  try {
    if (config.admin) admin = await startAdmin(proxy, config, logger);
  } catch (err) {
    process.off('SIGHUP', onHup);
    watcher.close();
    await proxy.close();
    throw err;
  }
  return {
    proxy,
    url,
    adminUrl: admin?.url,
    admin,
    async stop() {
      // a SIGHUP while draining is ignored: without a listener it would end the process mid-drain
      const ignore = () => logger.info({ signal: 'SIGHUP' }, 'config reload ignored while stopping');
      process.on('SIGHUP', ignore);
      process.off('SIGHUP', onHup);
      watcher.close();
      try {
        await admin?.stop();
        await proxy.close();
      } finally {
        process.off('SIGHUP', ignore);
      }
    },
  };
}
