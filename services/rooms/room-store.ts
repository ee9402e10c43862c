import type { Knex } from 'knex';
import { createStoredDatetimeError } from './errors.ts';

/** Contract "GET /api/rooms": exact key order matters, the object literals below fix it. */
export interface RoomSummary {
  id: number;
  name: string;
  topic: string;
  capacity: number;
  member_count: number;
  is_public: boolean;
  /** name is null when the owner's user row is gone (legacy LEFT JOINs users too). */
  owner: { id: number; name: string | null };
  created_at: string;
}

export interface RoomDetail extends RoomSummary {
  description: string;
  tags: string[];
  members: Array<{ id: number; name: string }>;
}

export interface RoomsPage {
  rooms: RoomSummary[];
  total: number;
}

export interface RoomStore {
  listRooms(query: { topic?: string; page: number; perPage: number }): Promise<RoomsPage>;
  findRoom(id: number): Promise<RoomDetail | undefined>;
  /** Resolves when the database answers a trivial query. */
  ping(): Promise<void>;
}

/** Contract: the detail lists the 10 most recent members. */
export const DETAIL_MEMBER_LIMIT = 10;

interface RoomRow {
  id: number | string;
  name: string;
  topic: string;
  description?: string;
  capacity: number | string;
  is_public: number | string | boolean;
  created_at: string | Date;
  owner_id: number | string;
  owner_name: string | null;
  member_count: number | string;
}

const STORED_DATETIME = /^(\d{4}-\d{2}-\d{2})[ T](\d{2}:\d{2}:\d{2})/;

/** Stored 'YYYY-MM-DD HH:MM:SS' (UTC) → contract 'YYYY-MM-DDTHH:MM:SSZ'. */
export function toIsoUtc(value: string | Date): string {
  if (value instanceof Date) return `${value.toISOString().slice(0, 19)}Z`;
  const match = STORED_DATETIME.exec(value);
  if (!match) throw createStoredDatetimeError(value);
  return `${match[1]}T${match[2]}Z`;
}

function toRoomSummary(row: RoomRow): RoomSummary {
  return {
    id: Number(row.id),
    name: row.name,
    topic: row.topic,
    capacity: Number(row.capacity),
    member_count: Number(row.member_count),
    // Through Number(): a driver handing back '0' as a string must not read as true.
    is_public: Number(row.is_public) !== 0,
    owner: { id: Number(row.owner_id), name: row.owner_name },
    created_at: toIsoUtc(row.created_at),
  };
}

export function createRoomStore(db: Knex): RoomStore {
  // One query for rooms + owner + member_count: the count is a correlated subquery served by
  // the room_members primary key, so a page costs one round trip, not one per room.
  // LEFT JOIN as legacy: a room whose owner row is gone is still listed (and counted).
  function selectRooms(columns: string[]): Knex.QueryBuilder {
    return db('rooms as r')
      .leftJoin('users as u', 'u.id', 'r.owner_id')
      .select(columns)
      .select(
        db('room_members as m').count('*').where('m.room_id', db.ref('r.id')).as('member_count'),
      );
  }

  const summaryColumns = [
    'r.id',
    'r.name',
    'r.topic',
    'r.capacity',
    'r.is_public',
    'r.created_at',
    'r.owner_id',
    'u.name as owner_name',
  ];

  return {
    async listRooms({ topic, page, perPage }) {
      const filter = (qb: Knex.QueryBuilder) => {
        if (topic !== undefined) qb.where('r.topic', topic);
      };
      const [{ total: counted }] = await db('rooms as r').modify(filter).count({ total: '*' });
      const total = Number(counted);
      const offset = (page - 1) * perPage;
      // Past the last page: answer without a query whose OFFSET may not even fit the engine.
      if (offset >= total) return { rooms: [], total };
      const rows: RoomRow[] = await selectRooms(summaryColumns)
        .modify(filter)
        .orderBy('r.id', 'asc')
        .limit(perPage)
        .offset(offset);
      return { rooms: rows.map(toRoomSummary), total };
    },

    async findRoom(id) {
      const row: RoomRow | undefined = await selectRooms([...summaryColumns, 'r.description'])
        .where('r.id', id)
        .first();
      if (!row) return undefined;
      const tags: Array<{ tag: string }> = await db('room_tags')
        .select('tag')
        .where('room_id', id)
        .orderBy('tag', 'asc');
      const members: Array<{ id: number | string; name: string }> = await db('room_members as m')
        .join('users as u', 'u.id', 'm.user_id')
        .select('u.id', 'u.name')
        .where('m.room_id', id)
        .orderBy([
          { column: 'm.joined_at', order: 'desc' },
          { column: 'm.user_id', order: 'asc' },
        ])
        .limit(DETAIL_MEMBER_LIMIT);
      return {
        ...toRoomSummary(row),
        description: row.description ?? '',
        tags: tags.map((t) => t.tag),
        members: members.map((m) => ({ id: Number(m.id), name: m.name })),
      };
    },

    async ping() {
      await db.raw('select 1');
    },
  };
}
