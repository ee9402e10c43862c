<?php

declare(strict_types=1);

namespace Timing\Controller;

use Timing\Auth;
use Timing\Database;
use Timing\Format;
use Timing\HttpError;
use Timing\Repository\Rooms;
use Timing\Request;
use Timing\Response;

final class RoomsController
{
    public const DEFAULT_PER_PAGE = 20;
    public const MAX_PER_PAGE = 100;
    public const DETAIL_MEMBERS = 10;

    private readonly Rooms $rooms;

    public function __construct(private readonly Database $db)
    {
        $this->rooms = new Rooms($db);
    }

    /** GET /api/rooms?topic=&page=&per_page= */
    public function list(Request $request): Response
    {
        $page = self::positiveQueryInt($request, 'page', 1);
        $perPage = min(self::positiveQueryInt($request, 'per_page', self::DEFAULT_PER_PAGE), self::MAX_PER_PAGE);
        $topic = $request->queryString('topic');
        $topic = $topic === '' ? null : $topic;

        $offset = ($page - 1) * $perPage;
        // A page so far out that the offset overflows is simply past the end.
        $rows = is_int($offset) ? $this->rooms->page($topic, $perPage, $offset) : [];
        return Response::data(
            array_map([Format::class, 'roomSummary'], $rows),
            ['page' => $page, 'per_page' => $perPage, 'total' => $this->rooms->count($topic)],
        );
    }

    /** GET /api/rooms/{id} */
    public function show(Request $request, array $params): Response
    {
        $room = $this->findRoom($params['id']);
        $id = (int) $room['id'];
        return Response::data(Format::roomDetail($room, $this->rooms->tags($id), $this->rooms->recentMembers($id, self::DETAIL_MEMBERS)));
    }

    /** POST /api/rooms/{id}/join */
    public function join(Request $request, array $params): Response
    {
        $user = Auth::requireUser($request, $this->db);
        $room = $this->findRoom($params['id']);
        $membership = $this->rooms->join((int) $room['id'], (int) $user['id'], Format::dbTime(time()));
        return Response::data([
            'room_id' => (int) $room['id'],
            'user_id' => (int) $user['id'],
            'joined_at' => Format::iso($membership['joined_at']),
            'already_member' => $membership['already_member'],
        ]);
    }

    private function findRoom(string $rawId): array
    {
        $id = Format::positiveInt($rawId);
        return ($id === null ? null : $this->rooms->find($id)) ?? throw new HttpError(404, 'room not found');
    }

    private static function positiveQueryInt(Request $request, string $name, int $default): int
    {
        if (!array_key_exists($name, $request->query)) {
            return $default;
        }
        return Format::positiveInt($request->query[$name]) ?? throw new HttpError(400, "{$name} must be a positive integer");
    }
}
