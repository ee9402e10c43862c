<?php

declare(strict_types=1);

namespace Timing\Controller;

use Timing\Auth;
use Timing\Database;
use Timing\Format;
use Timing\HttpError;
use Timing\Repository\Checkins;
use Timing\Repository\Rooms;
use Timing\Repository\Users;
use Timing\Request;
use Timing\Response;

final class CheckinsController
{
    public const MIN_MINUTES = 1;
    public const MAX_MINUTES = 600;
    public const MAX_NOTE = 255;
    public const LIST_LIMIT = 50;

    public function __construct(private readonly Database $db)
    {
    }

    /** POST /api/checkins {room_id?, minutes, note?} */
    public function create(Request $request): Response
    {
        $user = Auth::requireUser($request, $this->db);
        $body = $request->jsonObject();

        $problems = [];
        $minutes = $body['minutes'] ?? null;
        if (!is_int($minutes) || $minutes < self::MIN_MINUTES || $minutes > self::MAX_MINUTES) {
            $problems[] = 'minutes must be an integer from ' . self::MIN_MINUTES . ' to ' . self::MAX_MINUTES;
        }
        $roomId = $body['room_id'] ?? null;
        if ($roomId !== null && (!is_int($roomId) || $roomId < 1)) {
            $problems[] = 'room_id must be a positive integer or null';
        } elseif ($roomId !== null && !(new Rooms($this->db))->exists($roomId)) {
            $problems[] = 'room_id does not match a room';
        }
        $note = $body['note'] ?? '';
        if (!is_string($note) || Format::length($note) > self::MAX_NOTE) {
            $problems[] = 'note must be a string of at most ' . self::MAX_NOTE . ' characters';
        }
        if ($problems !== []) {
            throw new HttpError(422, implode('; ', $problems));
        }

        $row = (new Checkins($this->db))->create((int) $user['id'], $roomId, $minutes, $note, Format::dbTime(time()));
        return Response::data(Format::checkin($row), [], 201);
    }

    /** GET /api/users/{id}/checkins */
    public function listForUser(Request $request, array $params): Response
    {
        $userId = Format::positiveInt($params['id']);
        if ($userId === null || !(new Users($this->db))->exists($userId)) {
            throw new HttpError(404, 'user not found');
        }
        $rows = (new Checkins($this->db))->forUser($userId, self::LIST_LIMIT);
        return Response::data(array_map([Format::class, 'checkin'], $rows));
    }
}
