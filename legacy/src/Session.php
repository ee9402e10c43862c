<?php

declare(strict_types=1);

namespace Timing;

/**
 * PHP file sessions stored next to the database. A session is only opened when the client
 * sent a session cookie or logs in, so anonymous traffic gets no Set-Cookie and no session file.
 */
final class Session
{
    public const COOKIE = 'PHPSESSID';

    public static function configure(Database $db): void
    {
        $dir = $db->stateDir() . '/sessions';
        if (!is_dir($dir) && !@mkdir($dir, 0700, true) && !is_dir($dir)) {
            throw new \RuntimeException("cannot create the session directory {$dir}");
        }
        session_save_path($dir);
        session_name(self::COOKIE);
        ini_set('session.use_strict_mode', '1');
        ini_set('session.use_only_cookies', '1');
        // Debian disables PHP's own session GC in favour of a cron job that never sees this directory.
        ini_set('session.gc_probability', '1');
        ini_set('session.gc_divisor', '1000');
        session_set_cookie_params(['lifetime' => 0, 'path' => '/', 'httponly' => true, 'samesite' => 'Lax']);
    }

    public static function userId(Request $request): ?int
    {
        if (!self::hasStoredSession($request)) {
            return null;
        }
        // read_and_close: do not hold the session file lock while the request runs.
        session_start(['read_and_close' => true]);
        $id = $_SESSION['user_id'] ?? null;
        return is_int($id) ? $id : null;
    }

    public static function login(int $userId): void
    {
        session_start();
        session_regenerate_id(true);
        $_SESSION['user_id'] = $userId;
        session_write_close();
    }

    public static function logout(Request $request): void
    {
        if (!self::hasStoredSession($request)) {
            return;
        }
        session_start();
        $_SESSION = [];
        session_destroy();
        setcookie(self::COOKIE, '', ['expires' => 1, 'path' => '/', 'httponly' => true, 'samesite' => 'Lax']);
    }

    /**
     * Unknown or expired ids are treated as "no session" without session_start(), which
     * would create an empty session file and send a fresh cookie for every such request.
     */
    private static function hasStoredSession(Request $request): bool
    {
        $id = $request->cookies[self::COOKIE] ?? null;
        return is_string($id)
            && preg_match('/^[A-Za-z0-9,-]{22,128}$/', $id) === 1
            && is_file(session_save_path() . '/sess_' . $id);
    }
}
