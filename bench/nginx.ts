import { access, mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { childPids, freePort, isListening, spawnTracked } from './processes.ts';

const NGINX = '/usr/sbin/nginx';

export interface RunningNginx {
  url: string;
  /** the single worker: the process that does the proxying, whose CPU the row reports */
  workerPid: number;
  version: string;
}

/** Why the nginx row is skipped, or undefined when nginx is there. */
export async function nginxMissing(): Promise<string | undefined> {
  return access(NGINX).then(
    () => undefined,
    () => `nginx row skipped: ${NGINX} not found (apt-get install -y nginx-light)`,
  );
}

/**
 * nginx as the reference reverse proxy: one worker, HTTP/1.1 keep-alive to the upstream,
 * no access log — the best case a Node proxy is measured against.
 */
export async function startNginx(dir: string, upstreamUrl: string): Promise<RunningNginx> {
  const prefix = path.join(dir, 'nginx');
  await mkdir(path.join(prefix, 'logs'), { recursive: true });
  const port = await freePort();
  const upstream = new URL(upstreamUrl);
  const conf = path.join(prefix, 'nginx.conf');
  await writeFile(
    conf,
    `worker_processes 1;
daemon off;
master_process on;
pid ${prefix}/nginx.pid;
error_log ${prefix}/logs/error.log warn;
events { worker_connections 4096; }
http {
  access_log off;
  client_body_temp_path ${prefix}/body;
  proxy_temp_path ${prefix}/proxy;
  fastcgi_temp_path ${prefix}/fastcgi;
  uwsgi_temp_path ${prefix}/uwsgi;
  scgi_temp_path ${prefix}/scgi;
  upstream app { server ${upstream.host}; keepalive 128; }
  server {
    listen 127.0.0.1:${port};
    location / {
      proxy_pass http://app;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_set_header Host $host;
      proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
      proxy_buffering off;
    }
  }
}
`,
  );
  const master = spawnTracked(NGINX, ['-p', prefix, '-c', conf]);
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 10_000;
  for (;;) {
    const [workerPid] = await childPids(master.pid!);
    if (workerPid && (await isListening(port))) return { url, workerPid, version: (await readVersion()) ?? 'nginx' };
    if (master.exitCode !== null || Date.now() > deadline) throw new Error(`nginx did not start; see ${prefix}/logs/error.log`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

async function readVersion(): Promise<string | undefined> {
  const { execFile } = await import('node:child_process');
  return new Promise((resolve) => execFile(NGINX, ['-v'], (_err, _out, stderr) => resolve(/nginx\/[\d.]+/.exec(stderr)?.[0])));
}
