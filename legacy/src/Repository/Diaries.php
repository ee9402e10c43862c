<?php

declare(strict_types=1);

namespace Timing\Repository;

use PDO;
use Timing\Database;

final class Diaries
{
    public function __construct(private readonly Database $db)
    {
    }

    public function create(int $userId, string $title, string $body, string $mood, string $now): array
    {
        $pdo = $this->db->pdo();
        $pdo->prepare('INSERT INTO diaries (user_id, title, body, mood, created_at) VALUES (?, ?, ?, ?, ?)')
            ->execute([$userId, $title, $body, $mood, $now]);
        return [
            'id' => (int) $pdo->lastInsertId(),
            'user_id' => $userId,
            'title' => $title,
            'body' => $body,
            'mood' => $mood,
            'created_at' => $now,
        ];
    }

    /** Newest first. */
    public function forUser(int $userId, int $limit): array
    {
        $stmt = $this->db->pdo()->prepare('SELECT id, user_id, title, body, mood, created_at FROM diaries
            WHERE user_id = ? ORDER BY created_at DESC, id DESC LIMIT ?');
        $stmt->bindValue(1, $userId, PDO::PARAM_INT);
        $stmt->bindValue(2, $limit, PDO::PARAM_INT);
        $stmt->execute();
        return $stmt->fetchAll();
    }
}
