<?php

declare(strict_types=1);

namespace Timing;

use Timing\Repository\Users;

/** Who is logged in for this request (session cookie → user row). */
final class Auth
{
    private static ?array $user = null;
    private static bool $resolved = false;

    public static function user(Request $request, Database $db): ?array
    {
        if (!self::$resolved) {
            $id = Session::userId($request);
            self::$user = $id === null ? null : (new Users($db))->find($id);
            self::$resolved = true;
        }
        return self::$user;
    }

    /** @throws HttpError 401 */
    public static function requireUser(Request $request, Database $db): array
    {
        return self::user($request, $db) ?? throw new HttpError(401, 'login required');
    }

    public static function login(array $user): void
    {
        Session::login((int) $user['id']);
        self::$user = $user;
        self::$resolved = true;
    }

    public static function logout(Request $request): void
    {
        Session::logout($request);
        self::$user = null;
        self::$resolved = true;
    }
}
