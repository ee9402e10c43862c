<?php

declare(strict_types=1);

// Router script for PHP's built-in server: php -S 127.0.0.1:8000 legacy/router.php
// Files under public/assets are served from here (whatever the server's document root is);
// everything else goes through the front controller.

const ASSET_TYPES = [
    'css' => 'text/css; charset=utf-8',
    'js' => 'text/javascript; charset=utf-8',
    'svg' => 'image/svg+xml',
    'png' => 'image/png',
    'ico' => 'image/x-icon',
];

$path = rawurldecode((string) parse_url($_SERVER['REQUEST_URI'] ?? '/', PHP_URL_PATH));
if (str_starts_with($path, '/assets/')) {
    $root = __DIR__ . '/public/assets';
    $file = realpath($root . substr($path, strlen('/assets')));
    $type = ASSET_TYPES[pathinfo((string) $file, PATHINFO_EXTENSION)] ?? null;
    if ($file !== false && $type !== null && str_starts_with($file, $root . '/') && is_file($file)) {
        $etag = '"' . dechex(filemtime($file)) . '-' . dechex(filesize($file)) . '"';
        header("Content-Type: {$type}");
        header("ETag: {$etag}");
        header('Cache-Control: public, max-age=300');
        if (($_SERVER['HTTP_IF_NONE_MATCH'] ?? '') === $etag) {
            http_response_code(304);
            return true;
        }
        header('Content-Length: ' . filesize($file));
        if (($_SERVER['REQUEST_METHOD'] ?? 'GET') !== 'HEAD') {
            readfile($file);
        }
        return true;
    }
}

require __DIR__ . '/public/index.php';
return true;
