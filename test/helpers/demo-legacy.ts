import path from 'node:path';
import type { Knex } from 'knex';
import type { Test } from 'tap';
import { startLegacy } from '../../legacy/start-legacy.ts';
import { createDb } from '../../services/shared/database.ts';
import { hasMigrations, migrate, type StartLiveLegacy } from './contract.ts';
import { createTestDatabase } from './mysql.ts';

/**
 * Live legacy for the demo monolith's own contract tests (a generated test compares with the
 * recorded answers, or with the legacy: of routes.yaml). The demo's samples were recorded against
 * a freshly seeded Timing, so the demo (PHP) is started on a freshly seeded database (an SQLite
 * file, or a MySQL/MariaDB database with engine: 'mysql'), a second one on a copy to learn noise,
 * and the service gets a third copy (copies, not one shared database, so a write sample changes
 * each side's data once, the same way).
 */
export function demoLegacy(options: { engine?: 'sqlite' | 'mysql' } = {}): StartLiveLegacy {
  return async (t, { migrations }) => {
    const databases = await createDatabases(t, options.engine ?? 'sqlite');
    // legacy seeds its database on start; the seed's timestamps are relative to now, so the
    // other two databases are copies of this one, never seeded separately
    const legacy = await startLegacy({ databaseUrl: databases.legacy, port: 0, workers: 2 });
    t.teardown(() => legacy.stop());
    if (migrations && hasMigrations(migrations)) await migrate(databases.legacy, migrations);
    const seeded = createDb(databases.legacy);
    try {
      await databases.copy(seeded, databases.noise);
      await databases.copy(seeded, databases.service);
    } finally {
      await seeded.destroy();
    }
    const legacyAgain = await startLegacy({ databaseUrl: databases.noise, port: 0, workers: 2 });
    t.teardown(() => legacyAgain.stop());
    return { url: legacy.url, noiseUrl: legacyAgain.url, databaseUrl: databases.service };
  };
}

interface DemoDatabases {
  /** DATABASE_URLs: legacy's (seeded by legacy), the noise legacy's and the service's (copies) */
  legacy: string;
  noise: string;
  service: string;
  /** makes the database at `to` a copy of `from`'s tables and rows */
  copy(from: Knex, to: string): Promise<void>;
}

async function createDatabases(t: Test, engine: 'sqlite' | 'mysql'): Promise<DemoDatabases> {
  if (engine === 'sqlite') {
    const dir = t.testdir();
    const file = (name: string) => path.join(dir, `${name}.sqlite`);
    return {
      legacy: `sqlite:${file('legacy')}`,
      noise: `sqlite:${file('legacy-noise')}`,
      service: `sqlite:${file('service')}`,
      copy: async (from, to) => void (await from.raw('VACUUM INTO ?', [to.slice('sqlite:'.length)])),
    };
  }
  const [legacy, noise, service] = await Promise.all(['contract_legacy', 'contract_noise', 'contract_service'].map(createTestDatabase));
  t.teardown(() => Promise.all([legacy, noise, service].map((d) => d.drop())));
  return {
    legacy: legacy.url,
    noise: noise.url,
    service: service.url,
    async copy(from, to) {
      // one server: CREATE TABLE … LIKE keeps columns, types and indexes (foreign keys are
      // not copied, and a copy needs none)
      const target = decodeURIComponent(new URL(to).pathname.slice(1));
      const [rows] = (await from.raw('SHOW FULL TABLES WHERE Table_type = ?', ['BASE TABLE'])) as [Array<Record<string, string>>];
      for (const row of rows) {
        const table = Object.values(row)[0];
        await from.raw('CREATE TABLE ??.?? LIKE ??', [target, table, table]);
        await from.raw('INSERT INTO ??.?? SELECT * FROM ??', [target, table, table]);
      }
    },
  };
}
