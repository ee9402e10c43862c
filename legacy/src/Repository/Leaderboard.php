<?php

declare(strict_types=1);

namespace Timing\Repository;

use PDO;
use Timing\Database;

final class Leaderboard
{
    public function __construct(private readonly Database $db)
    {
    }

    /** Users by total minutes since $since (stored format), most minutes first, ties by user id. */
    public function since(string $since, int $limit): array
    {
        $stmt = $this->db->pdo()->prepare('SELECT c.user_id, u.name, SUM(c.minutes) AS minutes, COUNT(*) AS checkins
            FROM checkins c JOIN users u ON u.id = c.user_id
            WHERE c.created_at >= ?
            GROUP BY c.user_id, u.name
            ORDER BY SUM(c.minutes) DESC, c.user_id ASC
            LIMIT ?');
        $stmt->bindValue(1, $since);
        $stmt->bindValue(2, $limit, PDO::PARAM_INT);
        $stmt->execute();
        return $stmt->fetchAll();
    }
}
