import { spawn, execFile, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, readdirSync } from 'node:fs';
import { cp, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import net from 'node:net';
import path from 'node:path';
import knex, { type Knex } from 'knex';
import { eventually, request } from '../../helpers/http.ts';

/**
 * A real, unmodified WordPress from Debian's `wordpress` package, served by nginx + php-fpm over
 * a throw-away MariaDB database, everything private to one directory: the package's tree is
 * copied there (WordPress finds its wp-config.php next to the real path of wp-load.php, so a
 * symlinked tree would read Debian's global one), the wp-config.php is our own, nginx and
 * php-fpm run with their own config and pid there, on free ports. Nothing under /etc is touched.
 */

export const WORDPRESS_ROOT = '/usr/share/wordpress';
const THEME = path.join(WORDPRESS_ROOT, 'wp-content/themes/twentytwentythree');
const NGINX = '/usr/sbin/nginx';
/** Debian names the binary after PHP's version (php-fpm8.2 on Debian 12) */
const PHP_FPM = path.join('/usr/sbin', (existsSync('/usr/sbin') ? readdirSync('/usr/sbin') : []).filter((n) => /^php-fpm[\d.]*$/.test(n)).sort().pop() ?? 'php-fpm');
/** the server, not a database: MYSQL_URL (as .ci/run sets it) without its path, else root on 127.0.0.1 */
const ADMIN_URL = (() => {
  const url = new URL(process.env.MYSQL_URL ?? 'mysql://root@127.0.0.1:3306/');
  url.pathname = '/';
  return url.toString();
})();

export const ADMIN_USER = 'editor';
export const ADMIN_PASSWORD = 'strangler-e2e-Pa55!';

/** Why the WordPress test cannot run here, or false when it can; said loudly by the caller. */
export async function wordpressSkipReason(): Promise<string | false> {
  const missing: string[] = [];
  if (!existsSync(path.join(WORDPRESS_ROOT, 'wp-load.php'))) missing.push(`wordpress (${WORDPRESS_ROOT})`);
  if (!existsSync(THEME)) missing.push('wordpress-theme-twentytwentythree');
  if (!existsSync(NGINX)) missing.push(`nginx (${NGINX}: nginx-light)`);
  if (!existsSync(PHP_FPM)) missing.push(`php-fpm (${PHP_FPM})`);
  if (!existsSync('/usr/bin/chromium')) missing.push('chromium (/usr/bin/chromium)');
  if (missing.length) return `WORDPRESS E2E SKIPPED: missing ${missing.join(', ')} (apt-get install -y wordpress wordpress-theme-twentytwentythree php-fpm php-mysql nginx-light chromium mariadb-server; .ci/run does)`;
  const db = knex({ client: 'mysql2', connection: ADMIN_URL, acquireConnectionTimeout: 5000 });
  try {
    await db.raw('select 1');
  } catch (err) {
    return `WORDPRESS E2E SKIPPED: MariaDB/MySQL not reachable at ${redactUrl(ADMIN_URL)} (${(err as Error).message}); set MYSQL_URL or start MariaDB (.ci/run does)`;
  } finally {
    await db.destroy();
  }
  return false;
}

function redactUrl(url: string): string {
  const u = new URL(url);
  if (u.password) u.password = '***';
  return u.toString();
}

export interface RunningWordPress {
  /** nginx's own address: the monolith as it listens, behind the proxy */
  url: string;
  /** the WordPress database (knex connection settings) */
  database: Knex.MySql2ConnectionConfig & { database: string };
  tablePrefix: string;
  docroot: string;
  /** writes wp-config.php telling WordPress its public URL (the proxy's origin), then installs it */
  install(publicUrl: string): Promise<void>;
  /** runs PHP with WordPress loaded (wp-load.php), for seeding through WordPress's own API */
  php(code: string): Promise<string>;
  logs(): Promise<string>;
  stop(): Promise<void>;
}

async function freePort(): Promise<number> {
  const s = net.createServer();
  await new Promise<void>((resolve) => s.listen(0, '127.0.0.1', resolve));
  const { port } = s.address() as net.AddressInfo;
  await new Promise<void>((resolve) => s.close(() => resolve()));
  return port;
}

function phpString(value: string): string {
  return `'${value.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;
}

export async function startWordPress(dir: string): Promise<RunningWordPress> {
  const run = path.join(dir, 'run');
  const docroot = path.join(dir, 'wordpress');
  await mkdir(path.join(run, 'nginx'), { recursive: true });
  // dereferenced: the package links getID3 relatively (../../../php/getid3), which a copy would break
  await cp(WORDPRESS_ROOT, docroot, { recursive: true, dereference: true });
  await rm(path.join(docroot, 'wp-config.php'), { force: true });
  await rm(path.join(docroot, '.htaccess'), { force: true });
  await mkdir(path.join(docroot, 'wp-content/uploads'), { recursive: true });

  const name = `strangler_wp_${randomBytes(4).toString('hex')}`;
  const admin = new URL(ADMIN_URL);
  const database = {
    host: admin.hostname,
    port: Number(admin.port || 3306),
    user: decodeURIComponent(admin.username || 'root'),
    password: decodeURIComponent(admin.password),
    database: name,
  };
  const root = knex({ client: 'mysql2', connection: ADMIN_URL });
  try {
    await root.raw(`CREATE DATABASE \`${name}\` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci`);
  } finally {
    await root.destroy();
  }

  const asRoot = process.getuid?.() === 0;
  // FastCGI on a TCP port: a unix socket's path (108 bytes at most) would not fit under tap's testdir
  const fpmPort = await freePort();
  const fpmConf = path.join(run, 'php-fpm.conf');
  await writeFile(
    fpmConf,
    `[global]
pid = ${run}/php-fpm.pid
error_log = ${run}/php-fpm.log
daemonize = no
[wordpress]
${asRoot ? 'user = root\ngroup = root\n' : ''}listen = 127.0.0.1:${fpmPort}
pm = static
pm.max_children = 4
catch_workers_output = yes
php_admin_value[error_log] = ${run}/php-errors.log
php_admin_flag[log_errors] = on
php_admin_value[upload_max_filesize] = 32M
php_admin_value[post_max_size] = 32M
php_admin_value[memory_limit] = 256M
php_admin_value[opcache.validate_timestamps] = 1
php_admin_value[opcache.revalidate_freq] = 0
`,
  );
  const port = await freePort();
  const nginxConf = path.join(run, 'nginx.conf');
  const n = path.join(run, 'nginx');
  await writeFile(
    nginxConf,
    `worker_processes 1;
daemon off;
master_process on;
${asRoot ? 'user root;\n' : ''}pid ${n}/nginx.pid;
error_log ${n}/error.log warn;
events { worker_connections 256; }
http {
  include /etc/nginx/mime.types;
  default_type application/octet-stream;
  access_log ${n}/access.log;
  client_body_temp_path ${n}/body;
  proxy_temp_path ${n}/proxy;
  fastcgi_temp_path ${n}/fastcgi;
  uwsgi_temp_path ${n}/uwsgi;
  scgi_temp_path ${n}/scgi;
  client_max_body_size 32m;
  # what a stock site serves a browser: gzip for HTML, CSS, JS and JSON
  gzip on;
  gzip_types text/css application/javascript application/json text/xml application/xml;
  server {
    listen 127.0.0.1:${port};
    server_name localhost;
    root ${docroot};
    index index.php;
    location / {
      # pretty permalinks (and /wp-json/) through WordPress's front controller
      try_files $uri $uri/ /index.php?$args;
    }
    location ~ \\.php$ {
      try_files $uri =404;
      include /etc/nginx/fastcgi.conf;
      fastcgi_pass 127.0.0.1:${fpmPort};
    }
  }
}
`,
  );

  const children: ChildProcess[] = [];
  const startChild = (command: string, args: string[]) => {
    const child = spawn(command, args, { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr!.setEncoding('utf8').on('data', (c: string) => (stderr += c));
    children.push(child);
    return { child, stderr: () => stderr };
  };
  const fpm = startChild(PHP_FPM, [...(asRoot ? ['-R'] : []), '--nodaemonize', '--fpm-config', fpmConf]);
  const nginx = startChild(NGINX, ['-p', n, '-c', nginxConf]);
  const url = `http://127.0.0.1:${port}`;
  const stop = async () => {
    await Promise.all(
      children.map(
        (child) =>
          new Promise<void>((resolve) => {
            if (child.exitCode !== null || child.signalCode !== null) return resolve();
            child.once('exit', () => resolve());
            child.kill('SIGTERM');
            setTimeout(() => child.kill('SIGKILL'), 3000).unref();
          }),
      ),
    );
    const r = knex({ client: 'mysql2', connection: ADMIN_URL });
    try {
      await r.raw(`DROP DATABASE IF EXISTS \`${name}\``);
    } finally {
      await r.destroy();
    }
  };
  try {
    await eventually(
      async () => {
        for (const c of [fpm, nginx]) if (c.child.exitCode !== null) throw new Error(`exited: ${c.stderr()}`);
        return (await request(`${url}/wp-includes/version.php`)).status === 200;
      },
      { timeoutMs: 15_000, intervalMs: 50 },
    );
  } catch (err) {
    await stop();
    throw new Error(`nginx + php-fpm did not start (${(err as Error).message}); see ${run}`);
  }

  const tablePrefix = 'wp_';
  const writeConfig = (publicUrl: string) =>
    writeFile(
      path.join(docroot, 'wp-config.php'),
      `<?php
define('DB_NAME', ${phpString(name)});
define('DB_USER', ${phpString(database.user)});
define('DB_PASSWORD', ${phpString(database.password)});
define('DB_HOST', ${phpString(`${database.host}:${database.port}`)});
define('DB_CHARSET', 'utf8mb4');
define('DB_COLLATE', '');
// what a monolith behind a proxy must be told: the public URL its clients use
define('WP_HOME', ${phpString(publicUrl)});
define('WP_SITEURL', ${phpString(publicUrl)});
${['AUTH_KEY', 'SECURE_AUTH_KEY', 'LOGGED_IN_KEY', 'NONCE_KEY', 'AUTH_SALT', 'SECURE_AUTH_SALT', 'LOGGED_IN_SALT', 'NONCE_SALT']
  .map((k) => `define('${k}', '${randomBytes(24).toString('hex')}');`)
  .join('\n')}
define('WP_AUTO_UPDATE_CORE', false);
define('AUTOMATIC_UPDATER_DISABLED', true);
define('DISABLE_WP_CRON', true);
define('WP_HTTP_BLOCK_EXTERNAL', true);
define('WP_DEBUG', false);
$table_prefix = '${tablePrefix}';
if (!defined('ABSPATH')) define('ABSPATH', __DIR__ . '/');
require_once ABSPATH . 'wp-settings.php';
`,
    );

  const php = (code: string) =>
    new Promise<string>((resolve, reject) => {
      const script = `<?php
$_SERVER['HTTP_HOST'] = 'localhost'; $_SERVER['REQUEST_URI'] = '/'; $_SERVER['SERVER_NAME'] = 'localhost';
require ${phpString(path.join(docroot, 'wp-load.php'))};
${code}
`;
      const child = execFile('php', ['-d', 'display_errors=stderr'], { timeout: 30_000 }, (err, stdout, stderr) =>
        err ? reject(new Error(`php failed: ${err.message}\n${stdout}\n${stderr}`)) : resolve(stdout),
      );
      child.stdin!.end(script);
    });

  return {
    url,
    database,
    tablePrefix,
    docroot,
    php,
    async install(publicUrl) {
      await writeConfig(publicUrl);
      const form = new URLSearchParams({
        weblog_title: 'Strangler Fig Gazette',
        user_name: ADMIN_USER,
        admin_password: ADMIN_PASSWORD,
        admin_password2: ADMIN_PASSWORD,
        pw_weak: '1',
        admin_email: 'editor@example.test',
        blog_public: '0',
        Submit: 'Install WordPress',
        language: '',
      });
      const installed = await request(`${url}/wp-admin/install.php?step=2`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded', host: new URL(publicUrl).host },
        body: form.toString(),
      });
      if (installed.status !== 200 || !/Success!|wp-login\.php/.test(installed.text)) {
        throw new Error(`WordPress install failed: ${installed.status} ${installed.text.slice(0, 500)}`);
      }
      // pretty permalinks, as nearly every real site has them (the REST API under /wp-json/)
      await php(`global $wp_rewrite; $wp_rewrite->set_permalink_structure('/%postname%/'); $wp_rewrite->flush_rules(false);`);
    },
    async logs() {
      const read = (f: string) => readFile(f, 'utf8').catch(() => '');
      return [
        `--- nginx error.log\n${await read(path.join(n, 'error.log'))}`,
        `--- php-fpm.log\n${await read(path.join(run, 'php-fpm.log'))}`,
        `--- php errors\n${await read(path.join(run, 'php-errors.log'))}`,
      ].join('\n');
    },
    stop,
  };
}
