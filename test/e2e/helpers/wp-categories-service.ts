import type { AddressInfo } from 'node:net';
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import knex, { type Knex } from 'knex';

/**
 * One real endpoint of WordPress extracted: `GET /wp-json/wp/v2/categories`, read straight from
 * WordPress's own tables (wp_terms, wp_term_taxonomy) through knex + mysql2, answering as
 * WordPress 6.1's WP_REST_Terms_Controller does for the parameters a public client sends:
 * page, per_page, orderby, order, hide_empty, parent, slug, search, and their 400s.
 * Like the monolith, it must be told the public URL (WordPress's WP_HOME): every `link` and
 * `_links.href` in the answer is built on it.
 */

export interface WpCategoriesOptions {
  database: Knex.MySql2ConnectionConfig;
  tablePrefix: string;
  /** the site's public URL (WP_HOME), the proxy's origin */
  publicUrl: string;
}

interface TermRow {
  term_id: number;
  name: string;
  slug: string;
  description: string;
  parent: number;
  count: number;
}

/** the orderby values answered here; include and include_slugs (meaningful with include=) are not */
const ORDER_BY: Record<string, string> = { id: 't.term_id', name: 't.name', slug: 't.slug', count: 'tt.count', description: 'tt.description', term_group: 't.term_group' };

/** WordPress's own list, in its words (the error message names them all) */
const ORDERBY_ENUM = 'id, include, name, slug, include_slugs, term_group, description, and count';

class InvalidParam extends Error {
  constructor(readonly param: string, readonly code: string, readonly detail: string) {
    super(`Invalid parameter(s): ${param}`);
  }
}

function readInt(value: unknown, param: string, min: number, max: number, fallback: number): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isInteger(n)) throw new InvalidParam(param, 'rest_invalid_type', `${param} is not of type integer.`);
  if (n < min || n > max) throw new InvalidParam(param, 'rest_out_of_bounds', `${param} must be between ${min} (inclusive) and ${max} (inclusive)`);
  return n;
}

function readBool(value: unknown): boolean | undefined {
  if (value === undefined) return undefined;
  return value === 'true' || value === '1';
}

export function buildWpCategoriesApp(options: WpCategoriesOptions & { db: Knex }): FastifyInstance {
  const { db, tablePrefix: p } = options;
  const home = options.publicUrl.replace(/\/$/, '');
  const api = `${home}/wp-json/wp/v2`;
  const app = Fastify({ logger: false });

  const baseQuery = (q: Record<string, string | undefined>) => {
    const query = db(`${p}terms as t`).join(`${p}term_taxonomy as tt`, 't.term_id', 'tt.term_id').where('tt.taxonomy', 'category');
    if (readBool(q.hide_empty)) query.where('tt.count', '>', 0);
    if (q.parent !== undefined) query.where('tt.parent', readInt(q.parent, 'parent', 0, Number.MAX_SAFE_INTEGER, 0));
    if (q.slug !== undefined) query.whereIn('t.slug', q.slug.split(',').map((s) => s.trim()));
    if (q.search) query.where((w) => w.where('t.name', 'like', `%${q.search}%`).orWhere('t.slug', 'like', `%${q.search}%`));
    return query;
  };

  /** get_term_link for a hierarchical category: /category/<ancestors…>/<slug>/ */
  const linkOf = (term: TermRow, all: Map<number, TermRow>) => {
    const slugs = [term.slug];
    for (let parent = all.get(term.parent); parent; parent = all.get(parent.parent)) slugs.unshift(parent.slug);
    return `${home}/category/${slugs.join('/')}/`;
  };

  const present = (term: TermRow, all: Map<number, TermRow>) => ({
    id: term.term_id,
    count: term.count,
    description: term.description,
    link: linkOf(term, all),
    name: term.name,
    slug: term.slug,
    taxonomy: 'category',
    parent: term.parent,
    meta: [],
    _links: {
      self: [{ href: `${api}/categories/${term.term_id}` }],
      collection: [{ href: `${api}/categories` }],
      about: [{ href: `${api}/taxonomies/category` }],
      ...(term.parent ? { up: [{ embeddable: true, href: `${api}/categories/${term.parent}` }] } : {}),
      'wp:post_type': [{ href: `${api}/posts?categories=${term.term_id}` }],
      curies: [{ name: 'wp', href: 'https://api.w.org/{rel}', templated: true }],
    },
  });

  const listCategories = async (request: FastifyRequest, reply: FastifyReply) => {
    const q = request.query as Record<string, string | undefined>;
    try {
      const perPage = readInt(q.per_page, 'per_page', 1, 100, 10);
      const page = readInt(q.page, 'page', 1, Number.MAX_SAFE_INTEGER, 1);
      const orderby = q.orderby ?? 'name';
      if (!ORDER_BY[orderby]) throw new InvalidParam('orderby', 'rest_not_in_enum', `orderby is not one of ${ORDERBY_ENUM}.`);
      const order = (q.order ?? 'asc').toLowerCase();
      if (order !== 'asc' && order !== 'desc') throw new InvalidParam('order', 'rest_not_in_enum', 'order is not one of asc and desc.');
      const [{ total }] = await baseQuery(q).count({ total: '*' });
      const rows: TermRow[] = await baseQuery(q)
        .select('t.term_id', 't.name', 't.slug', 'tt.description', 'tt.parent', 'tt.count')
        .orderBy(ORDER_BY[orderby], order)
        .limit(perPage)
        .offset((page - 1) * perPage);
      const all = new Map<number, TermRow>(
        (await db(`${p}terms as t`).join(`${p}term_taxonomy as tt`, 't.term_id', 'tt.term_id').where('tt.taxonomy', 'category').select('t.term_id', 't.slug', 'tt.parent')).map((r: TermRow) => [r.term_id, r]),
      );
      const totalPages = Math.ceil(Number(total) / perPage);
      reply.header('x-wp-total', String(total)).header('x-wp-totalpages', String(totalPages));
      reply.header('content-type', 'application/json; charset=UTF-8');
      return JSON.stringify(rows.map((r) => present(r, all)));
    } catch (err) {
      if (!(err instanceof InvalidParam)) throw err;
      reply.code(400).header('content-type', 'application/json; charset=UTF-8');
      return JSON.stringify({ code: 'rest_invalid_param', message: err.message, data: { status: 400, params: { [err.param]: err.detail }, details: { [err.param]: { code: err.code, message: err.detail, data: null } } } });
    }
  };
  app.get('/wp-json/wp/v2/categories', listCategories);
  // the same endpoint as a site without pretty permalinks reaches it (a query-routed route)
  app.get('/', async (request, reply) => {
    if ((request.query as Record<string, string | undefined>).rest_route === '/wp/v2/categories') return listCategories(request, reply);
    reply.code(404).header('content-type', 'application/json; charset=UTF-8');
    return JSON.stringify({ code: 'rest_no_route', message: 'No route was found matching the URL and request method.', data: { status: 404 } });
  });
  return app;
}

export interface RunningWpCategories {
  url: string;
  stop(): Promise<void>;
}

export async function startWpCategories(options: WpCategoriesOptions): Promise<RunningWpCategories> {
  const db = knex({ client: 'mysql2', connection: { ...options.database, charset: 'utf8mb4' }, pool: { min: 0, max: 4 } });
  const app = buildWpCategoriesApp({ ...options, db });
  await app.listen({ port: 0, host: '127.0.0.1' });
  const { port } = app.server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    async stop() {
      await app.close();
      await db.destroy();
    },
  };
}
