<?php

declare(strict_types=1);

// Creates the tables if missing and seeds an empty database. Safe to run again.
//   DATABASE_URL=sqlite:var/timing.sqlite php legacy/bin/setup.php

require dirname(__DIR__) . '/src/bootstrap.php';

ini_set('display_errors', 'stderr');

try {
    $db = Timing\Database::fromEnv();
    echo "database: {$db->describe()}\n";
    $started = microtime(true);
    Timing\Schema::ensure($db, static function (string $line): void {
        echo $line, "\n";
    });
    printf("done in %.2f s\n", microtime(true) - $started);
} catch (Throwable $e) {
    fwrite(STDERR, 'setup failed: ' . $e->getMessage() . "\n");
    exit(1);
}
