import type { Knex } from 'knex';

/**
 * The proxy's own tables: comparisons of the parallel run and the noise learned per route.
 * Kept apart from legacy's tables by the strangler_ prefix; the proxy applies these itself on
 * start (its migrations table is strangler_proxy_migrations).
 */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('strangler_comparisons', (t) => {
    t.bigIncrements('id');
    // epoch milliseconds: compared as numbers the same way in SQLite and MySQL
    t.bigInteger('at').notNullable();
    t.string('route', 100).notNullable();
    t.string('source', 10).notNullable();
    t.string('outcome', 20).notNullable();
    // the whole ComparisonRecord as JSON, redacted, bodies cut at storedBodyLimit
    t.text('record', 'mediumtext').notNullable();
    t.index(['route', 'at'], 'strangler_comparisons_route_at');
    t.index(['at'], 'strangler_comparisons_at');
  });
  // matches and skips are counted, not kept one by one: a busy route compares thousands a second
  await knex.schema.createTable('strangler_comparison_counts', (t) => {
    t.bigIncrements('id');
    // epoch ms at the start of the second the comparisons fell in
    t.bigInteger('at').notNullable();
    t.string('route', 100).notNullable();
    t.string('source', 10).notNullable();
    t.string('outcome', 20).notNullable();
    // skipped: why (write-not-copied, concurrency, …); empty otherwise
    t.string('reason', 40).notNullable().defaultTo('');
    t.integer('n').notNullable();
    t.index(['route', 'at'], 'strangler_comparison_counts_route_at');
    t.index(['at'], 'strangler_comparison_counts_at');
  });
  await knex.schema.createTable('strangler_noise', (t) => {
    t.string('route', 100).notNullable();
    t.string('kind', 10).notNullable();
    t.string('pattern', 400).notNullable();
    t.integer('count').notNullable();
    t.text('entry').notNullable();
    t.bigInteger('updated_at').notNullable();
    t.primary(['route', 'kind', 'pattern']);
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTable('strangler_noise');
  await knex.schema.dropTable('strangler_comparison_counts');
  await knex.schema.dropTable('strangler_comparisons');
}
