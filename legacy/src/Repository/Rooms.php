<?php

declare(strict_types=1);

namespace Timing\Repository;

use PDO;
use Timing\Database;

final class Rooms
{
    private const SUMMARY_SELECT = 'SELECT r.id, r.name, r.topic, r.description, r.capacity, r.is_public, r.created_at,
            r.owner_id, u.name AS owner_name,
            (SELECT COUNT(*) FROM room_members m WHERE m.room_id = r.id) AS member_count
        FROM rooms r LEFT JOIN users u ON u.id = r.owner_id';

    public function __construct(private readonly Database $db)
    {
    }

    /** @return list<array> */
    public function page(?string $topic, int $limit, int $offset): array
    {
        [$where, $params] = self::topicFilter($topic);
        $stmt = $this->db->pdo()->prepare(self::SUMMARY_SELECT . "{$where} ORDER BY r.id ASC LIMIT ? OFFSET ?");
        foreach ($params as $i => $value) {
            $stmt->bindValue($i + 1, $value);
        }
        $stmt->bindValue(count($params) + 1, $limit, PDO::PARAM_INT);
        $stmt->bindValue(count($params) + 2, $offset, PDO::PARAM_INT);
        $stmt->execute();
        return $stmt->fetchAll();
    }

    public function count(?string $topic): int
    {
        [$where, $params] = self::topicFilter($topic);
        $stmt = $this->db->pdo()->prepare("SELECT COUNT(*) FROM rooms r{$where}");
        $stmt->execute($params);
        return (int) $stmt->fetchColumn();
    }

    /** Public rooms with the most members, for the home page. */
    public function popular(int $limit): array
    {
        $stmt = $this->db->pdo()->prepare(self::SUMMARY_SELECT . ' WHERE r.is_public = 1 ORDER BY member_count DESC, r.id ASC LIMIT ?');
        $stmt->bindValue(1, $limit, PDO::PARAM_INT);
        $stmt->execute();
        return $stmt->fetchAll();
    }

    public function find(int $id): ?array
    {
        $stmt = $this->db->pdo()->prepare(self::SUMMARY_SELECT . ' WHERE r.id = ?');
        $stmt->execute([$id]);
        return $stmt->fetch() ?: null;
    }

    public function exists(int $id): bool
    {
        $stmt = $this->db->pdo()->prepare('SELECT 1 FROM rooms WHERE id = ?');
        $stmt->execute([$id]);
        return $stmt->fetchColumn() !== false;
    }

    /** @return list<string> */
    public function tags(int $roomId): array
    {
        $stmt = $this->db->pdo()->prepare('SELECT tag FROM room_tags WHERE room_id = ? ORDER BY tag');
        $stmt->execute([$roomId]);
        return array_map('strval', $stmt->fetchAll(PDO::FETCH_COLUMN));
    }

    /** The most recent members: joined_at DESC, then user id ASC. */
    public function recentMembers(int $roomId, int $limit): array
    {
        $stmt = $this->db->pdo()->prepare('SELECT u.id, u.name FROM room_members m JOIN users u ON u.id = m.user_id
            WHERE m.room_id = ? ORDER BY m.joined_at DESC, u.id ASC LIMIT ?');
        $stmt->bindValue(1, $roomId, PDO::PARAM_INT);
        $stmt->bindValue(2, $limit, PDO::PARAM_INT);
        $stmt->execute();
        return $stmt->fetchAll();
    }

    public function isMember(int $roomId, int $userId): bool
    {
        $stmt = $this->db->pdo()->prepare('SELECT 1 FROM room_members WHERE room_id = ? AND user_id = ?');
        $stmt->execute([$roomId, $userId]);
        return $stmt->fetchColumn() !== false;
    }

    /**
     * Idempotent: the primary key (room_id, user_id) turns a second join, even a concurrent
     * one, into a duplicate-key error that we answer with the existing membership.
     * @return array{joined_at:string, already_member:bool}
     */
    public function join(int $roomId, int $userId, string $now): array
    {
        $pdo = $this->db->pdo();
        try {
            $pdo->prepare('INSERT INTO room_members (room_id, user_id, joined_at) VALUES (?, ?, ?)')
                ->execute([$roomId, $userId, $now]);
            return ['joined_at' => $now, 'already_member' => false];
        } catch (\PDOException $e) {
            if (!$this->db->isDuplicateKey($e)) {
                throw $e;
            }
        }
        $stmt = $pdo->prepare('SELECT joined_at FROM room_members WHERE room_id = ? AND user_id = ?');
        $stmt->execute([$roomId, $userId]);
        return ['joined_at' => (string) $stmt->fetchColumn(), 'already_member' => true];
    }

    /** @return array{0:string,1:list<string>} */
    private static function topicFilter(?string $topic): array
    {
        return $topic === null ? ['', []] : [' WHERE r.topic = ?', [$topic]];
    }
}
