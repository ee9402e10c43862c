<?php

declare(strict_types=1);

namespace Timing\Controller;

use Timing\Database;
use Timing\Format;
use Timing\Repository\Leaderboard;
use Timing\Request;
use Timing\Response;

final class LeaderboardController
{
    public const SIZE = 20;
    public const WINDOW_SECONDS = 7 * 86400;

    public function __construct(private readonly Database $db)
    {
    }

    /** GET /api/leaderboard: the last 7 days, counted back from now. */
    public function week(Request $request): Response
    {
        $since = self::weekStart();
        return Response::data(self::entries($this->db, self::SIZE, $since), ['week_start' => Format::iso($since)]);
    }

    public static function weekStart(): string
    {
        return Format::dbTime(time() - self::WINDOW_SECONDS);
    }

    /** Shared with the home page teaser. */
    public static function entries(Database $db, int $limit, string $since): array
    {
        $rows = (new Leaderboard($db))->since($since, $limit);
        $entries = [];
        foreach ($rows as $i => $row) {
            $entries[] = [
                'rank' => $i + 1,
                'user' => ['id' => (int) $row['user_id'], 'name' => (string) $row['name']],
                'minutes' => (int) $row['minutes'],
                'checkins' => (int) $row['checkins'],
            ];
        }
        return $entries;
    }
}
