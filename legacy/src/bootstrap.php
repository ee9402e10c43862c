<?php

declare(strict_types=1);

// No composer on purpose: the monolith must run on a bare `php-cli` install.

date_default_timezone_set('UTC');
ini_set('display_errors', '0');
ini_set('log_errors', '1');

const TIMING_LEGACY_DIR = __DIR__ . '/..';
define('TIMING_REPO_ROOT', dirname(__DIR__, 2));

require_once __DIR__ . '/Database.php';
require_once __DIR__ . '/Schema.php';
require_once __DIR__ . '/Seeder.php';
require_once __DIR__ . '/Http.php';
require_once __DIR__ . '/Router.php';
require_once __DIR__ . '/Session.php';
require_once __DIR__ . '/Auth.php';
require_once __DIR__ . '/Format.php';
require_once __DIR__ . '/View.php';
require_once __DIR__ . '/Repository/Users.php';
require_once __DIR__ . '/Repository/Rooms.php';
require_once __DIR__ . '/Repository/Checkins.php';
require_once __DIR__ . '/Repository/Diaries.php';
require_once __DIR__ . '/Repository/Leaderboard.php';
require_once __DIR__ . '/Controller/AuthController.php';
require_once __DIR__ . '/Controller/RoomsController.php';
require_once __DIR__ . '/Controller/CheckinsController.php';
require_once __DIR__ . '/Controller/DiariesController.php';
require_once __DIR__ . '/Controller/LeaderboardController.php';
require_once __DIR__ . '/Controller/PagesController.php';
require_once __DIR__ . '/App.php';
