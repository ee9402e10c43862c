import type { Knex } from 'knex';

/**
 * Rollout plans in progress (so a restarted proxy resumes them) and the lease that lets one
 * proxy replica drive them while all obey the flag.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('strangler_rollouts', (t) => {
    t.string('route', 100).primary();
    t.text('state').notNullable();
    t.bigInteger('updated_at').notNullable();
  });
  await knex.schema.createTable('strangler_leases', (t) => {
    t.string('name', 100).primary();
    t.string('holder', 200).notNullable();
    t.bigInteger('expires_at').notNullable();
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTable('strangler_leases');
  await knex.schema.dropTable('strangler_rollouts');
}
