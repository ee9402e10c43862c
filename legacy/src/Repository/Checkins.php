<?php

declare(strict_types=1);

namespace Timing\Repository;

use PDO;
use Timing\Database;

final class Checkins
{
    public function __construct(private readonly Database $db)
    {
    }

    public function create(int $userId, ?int $roomId, int $minutes, string $note, string $now): array
    {
        $pdo = $this->db->pdo();
        $pdo->prepare('INSERT INTO checkins (user_id, room_id, minutes, note, created_at) VALUES (?, ?, ?, ?, ?)')
            ->execute([$userId, $roomId, $minutes, $note, $now]);
        return [
            'id' => (int) $pdo->lastInsertId(),
            'user_id' => $userId,
            'room_id' => $roomId,
            'minutes' => $minutes,
            'note' => $note,
            'created_at' => $now,
        ];
    }

    /** Newest first. */
    public function forUser(int $userId, int $limit): array
    {
        $stmt = $this->db->pdo()->prepare('SELECT id, user_id, room_id, minutes, note, created_at FROM checkins
            WHERE user_id = ? ORDER BY created_at DESC, id DESC LIMIT ?');
        $stmt->bindValue(1, $userId, PDO::PARAM_INT);
        $stmt->bindValue(2, $limit, PDO::PARAM_INT);
        $stmt->execute();
        return $stmt->fetchAll();
    }
}
