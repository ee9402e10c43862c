<?php

declare(strict_types=1);

namespace Timing\Controller;

use Timing\Auth;
use Timing\Database;
use Timing\Format;
use Timing\HttpError;
use Timing\Repository\Diaries;
use Timing\Repository\Rooms;
use Timing\Repository\Users;
use Timing\Request;
use Timing\Response;
use Timing\View;

/** The HTML side of the monolith. */
final class PagesController
{
    private const POPULAR_ROOMS = 8;
    private const LEADERBOARD_TEASER = 5;

    public function __construct(private readonly Database $db)
    {
    }

    /** GET / */
    public function home(Request $request): Response
    {
        $rooms = array_map([Format::class, 'roomSummary'], (new Rooms($this->db))->popular(self::POPULAR_ROOMS));
        $leaders = LeaderboardController::entries($this->db, self::LEADERBOARD_TEASER, LeaderboardController::weekStart());
        return Response::html(View::home($rooms, $leaders, Auth::user($request, $this->db)));
    }

    /** GET /rooms/{id} */
    public function room(Request $request, array $params): Response
    {
        $rooms = new Rooms($this->db);
        $id = Format::positiveInt($params['id']);
        $row = $id === null ? null : $rooms->find($id);
        if ($row === null) {
            throw new HttpError(404, 'room not found');
        }
        $room = Format::roomDetail($row, $rooms->tags($id), $rooms->recentMembers($id, RoomsController::DETAIL_MEMBERS));
        $user = Auth::user($request, $this->db);
        $isMember = $user !== null && $rooms->isMember($id, (int) $user['id']);
        return Response::html(View::room($room, $user, $isMember));
    }

    /** GET /login */
    public function loginForm(Request $request): Response
    {
        if (Auth::user($request, $this->db) !== null) {
            return Response::redirect('/');
        }
        return Response::html(View::login());
    }

    /** POST /login (form) */
    public function login(Request $request): Response
    {
        $email = is_string($request->form['email'] ?? null) ? $request->form['email'] : '';
        $password = is_string($request->form['password'] ?? null) ? $request->form['password'] : '';
        $user = (new Users($this->db))->authenticate($email, $password);
        if ($user === null) {
            return Response::html(View::login('Wrong email or password.', $email), 401);
        }
        Auth::login($user);
        return Response::redirect('/');
    }

    /** POST /logout */
    public function logout(Request $request): Response
    {
        Auth::logout($request);
        return Response::redirect('/');
    }

    /** GET /diary */
    public function diary(Request $request): Response
    {
        $user = Auth::user($request, $this->db);
        if ($user === null) {
            return Response::redirect('/login', 302);
        }
        $diaries = array_map([Format::class, 'diary'], (new Diaries($this->db))->forUser((int) $user['id'], DiariesController::LIST_LIMIT));
        return Response::html(View::diary($user, $diaries));
    }
}
