<?php

declare(strict_types=1);

namespace Timing;

/** Turns database rows into the JSON shapes of the contract (explicit casts: PDO MySQL returns strings). */
final class Format
{
    public const DB_TIME = 'Y-m-d H:i:s';

    public static function now(): string
    {
        return gmdate('Y-m-d\TH:i:s\Z');
    }

    public static function dbTime(int $unix): string
    {
        return gmdate(self::DB_TIME, $unix);
    }

    /** Stored 'YYYY-MM-DD HH:MM:SS' (UTC) → 'YYYY-MM-DDTHH:MM:SSZ'. */
    public static function iso(?string $stored): ?string
    {
        return $stored === null ? null : str_replace(' ', 'T', substr($stored, 0, 19)) . 'Z';
    }

    /** Decimal digits only, value >= 1; anything else (0, -1, 1.5, 1e3, '') is null. */
    public static function positiveInt(mixed $value): ?int
    {
        if (is_int($value)) {
            return $value >= 1 ? $value : null;
        }
        if (!is_string($value) || !preg_match('/^[0-9]{1,18}$/', $value)) {
            return null;
        }
        $n = (int) $value;
        return $n >= 1 ? $n : null;
    }

    /** Characters, not bytes (mbstring is not guaranteed to be installed). */
    public static function length(string $s): int
    {
        return (int) preg_match_all('/./su', $s);
    }

    public static function user(array $row): array
    {
        return ['id' => (int) $row['id'], 'name' => (string) $row['name'], 'email' => (string) $row['email']];
    }

    public static function roomSummary(array $row): array
    {
        return [
            'id' => (int) $row['id'],
            'name' => (string) $row['name'],
            'topic' => (string) $row['topic'],
            'capacity' => (int) $row['capacity'],
            'member_count' => (int) $row['member_count'],
            'is_public' => (bool) (int) $row['is_public'],
            'owner' => [
                'id' => (int) $row['owner_id'],
                'name' => $row['owner_name'] === null ? null : (string) $row['owner_name'],
            ],
            'created_at' => self::iso($row['created_at']),
        ];
    }

    /** @param list<string> $tags @param list<array> $members */
    public static function roomDetail(array $row, array $tags, array $members): array
    {
        // Deliberate noise: the order of tags changes on every response (see README).
        shuffle($tags);
        return self::roomSummary($row) + [
            'description' => (string) $row['description'],
            'tags' => $tags,
            'members' => array_map(static fn (array $m) => ['id' => (int) $m['id'], 'name' => (string) $m['name']], $members),
        ];
    }

    public static function checkin(array $row): array
    {
        return [
            'id' => (int) $row['id'],
            'user_id' => (int) $row['user_id'],
            'room_id' => $row['room_id'] === null ? null : (int) $row['room_id'],
            'minutes' => (int) $row['minutes'],
            'note' => (string) $row['note'],
            'created_at' => self::iso($row['created_at']),
        ];
    }

    public static function diary(array $row): array
    {
        return [
            'id' => (int) $row['id'],
            'user_id' => (int) $row['user_id'],
            'title' => (string) $row['title'],
            'body' => (string) $row['body'],
            'mood' => (string) $row['mood'],
            'created_at' => self::iso($row['created_at']),
        ];
    }
}
