<?php

declare(strict_types=1);

namespace Timing\Controller;

use Timing\Auth;
use Timing\Database;
use Timing\Format;
use Timing\HttpError;
use Timing\Repository\Diaries;
use Timing\Repository\Users;
use Timing\Request;
use Timing\Response;
use Timing\Seeder;

final class DiariesController
{
    public const MAX_TITLE = 200;
    public const MAX_BODY = 10000;
    public const LIST_LIMIT = 50;

    public function __construct(private readonly Database $db)
    {
    }

    /** GET /api/diaries?user=ID */
    public function list(Request $request): Response
    {
        $userId = Format::positiveInt($request->queryString('user'));
        if ($userId === null) {
            throw new HttpError(400, 'user must be a positive integer');
        }
        if (!(new Users($this->db))->exists($userId)) {
            throw new HttpError(404, 'user not found');
        }
        $rows = (new Diaries($this->db))->forUser($userId, self::LIST_LIMIT);
        return Response::data(array_map([Format::class, 'diary'], $rows));
    }

    /** POST /api/diaries {title, body, mood} */
    public function create(Request $request): Response
    {
        $user = Auth::requireUser($request, $this->db);
        $input = $request->jsonObject();

        $problems = [];
        $title = $input['title'] ?? null;
        $title = is_string($title) ? trim($title) : null;
        if ($title === null || $title === '' || Format::length($title) > self::MAX_TITLE) {
            $problems[] = 'title must be a non-empty string of at most ' . self::MAX_TITLE . ' characters';
        }
        $body = $input['body'] ?? null;
        if (!is_string($body) || trim($body) === '' || Format::length($body) > self::MAX_BODY) {
            $problems[] = 'body must be a non-empty string of at most ' . self::MAX_BODY . ' characters';
        }
        $mood = $input['mood'] ?? null;
        if (!in_array($mood, Seeder::MOODS, true)) {
            $problems[] = 'mood must be one of ' . implode(', ', Seeder::MOODS);
        }
        if ($problems !== []) {
            throw new HttpError(422, implode('; ', $problems));
        }

        $row = (new Diaries($this->db))->create((int) $user['id'], $title, $body, $mood, Format::dbTime(time()));
        return Response::data(Format::diary($row), [], 201);
    }
}
