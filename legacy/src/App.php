<?php

declare(strict_types=1);

namespace Timing;

use Timing\Controller\AuthController;
use Timing\Controller\CheckinsController;
use Timing\Controller\DiariesController;
use Timing\Controller\LeaderboardController;
use Timing\Controller\PagesController;
use Timing\Controller\RoomsController;

final class App
{
    /** [method, path pattern, controller class, action] — the whole surface of the monolith. */
    private const ROUTES = [
        ['GET', '/', PagesController::class, 'home'],
        ['GET', '/rooms/{id}', PagesController::class, 'room'],
        ['GET', '/login', PagesController::class, 'loginForm'],
        ['POST', '/login', PagesController::class, 'login'],
        ['POST', '/logout', PagesController::class, 'logout'],
        ['GET', '/diary', PagesController::class, 'diary'],

        ['GET', '/api/rooms', RoomsController::class, 'list'],
        ['GET', '/api/rooms/{id}', RoomsController::class, 'show'],
        ['POST', '/api/rooms/{id}/join', RoomsController::class, 'join'],
        ['POST', '/api/login', AuthController::class, 'login'],
        ['GET', '/api/me', AuthController::class, 'me'],
        ['POST', '/api/checkins', CheckinsController::class, 'create'],
        ['GET', '/api/users/{id}/checkins', CheckinsController::class, 'listForUser'],
        ['GET', '/api/leaderboard', LeaderboardController::class, 'week'],
        ['GET', '/api/diaries', DiariesController::class, 'list'],
        ['POST', '/api/diaries', DiariesController::class, 'create'],
    ];

    public static function run(): void
    {
        $request = Request::fromGlobals();
        self::handle($request)->send($request);
    }

    public static function handle(Request $request): Response
    {
        $db = null;
        try {
            $db = Database::fromEnv();
            Schema::ensureReady($db);
            Session::configure($db);
            return self::dispatch($request, $db);
        } catch (HttpError $e) {
            return self::errorResponse($request, $e->status, $e->getMessage(), $e->headers);
        } catch (\PDOException $e) {
            if ($db !== null && $db->isMissingTable($e)) {
                Schema::forget($db);
            }
            error_log("timing: request {$request->id} {$request->method} {$request->path} failed: database error: {$e->getMessage()}");
            return self::errorResponse($request, 500, 'internal error');
        } catch (\Throwable $e) {
            error_log("timing: request {$request->id} {$request->method} {$request->path} failed: " . $e::class . ": {$e->getMessage()} at {$e->getFile()}:{$e->getLine()}");
            return self::errorResponse($request, 500, 'internal error');
        }
    }

    private static function dispatch(Request $request, Database $db): Response
    {
        $router = new Router();
        foreach (self::ROUTES as [$method, $pattern, $class, $action]) {
            $router->add($method, $pattern, static fn (Request $r, array $params) => (new $class($db))->{$action}($r, $params));
        }
        $match = $router->match($request->method, $request->path);
        return match ($match[0]) {
            'found' => ($match[1])($request, $match[2]),
            'method_not_allowed' => self::errorResponse($request, 405, 'method not allowed', ['Allow' => implode(', ', $match[1])]),
            'not_found' => self::errorResponse($request, 404, 'not found'),
        };
    }

    /** JSON {"error": ...} under /api, an HTML page elsewhere. */
    private static function errorResponse(Request $request, int $status, string $message, array $headers = []): Response
    {
        if ($request->isApi()) {
            return Response::error($status, $message, $headers);
        }
        return Response::html(View::error($status, ucfirst($message) . '.'), $status, $headers);
    }
}
