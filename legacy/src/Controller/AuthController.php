<?php

declare(strict_types=1);

namespace Timing\Controller;

use Timing\Auth;
use Timing\Database;
use Timing\Format;
use Timing\HttpError;
use Timing\Repository\Users;
use Timing\Request;
use Timing\Response;

final class AuthController
{
    public function __construct(private readonly Database $db)
    {
    }

    /** POST /api/login {email, password} */
    public function login(Request $request): Response
    {
        $body = $request->jsonObject();
        $email = $body['email'] ?? null;
        $password = $body['password'] ?? null;
        $user = is_string($email) && is_string($password)
            ? (new Users($this->db))->authenticate($email, $password)
            : null;
        if ($user === null) {
            throw new HttpError(401, 'invalid credentials');
        }
        Auth::login($user);
        return Response::data(Format::user($user));
    }

    /** GET /api/me */
    public function me(Request $request): Response
    {
        return Response::data(Format::user(Auth::requireUser($request, $this->db)));
    }
}
