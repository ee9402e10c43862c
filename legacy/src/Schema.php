<?php

declare(strict_types=1);

namespace Timing;

use PDO;

/**
 * Creates the tables from legacy/schema/<driver>.sql when missing and seeds an empty database.
 * bin/setup.php runs it explicitly; the front controller runs it lazily, guarded by a marker
 * file so a ready database costs one stat and one small read per request.
 */
final class Schema
{
    public const TABLES = ['users', 'rooms', 'room_tags', 'room_members', 'checkins', 'diaries'];
    private const MARKER_VERSION = 'timing-schema-v1';

    /**
     * @param callable(string):void|null $say
     * @return array{created: list<string>, seeded: array<string,int>|null}
     */
    public static function ensure(Database $db, ?callable $say = null): array
    {
        $say ??= static function (string $line): void {
        };
        $pdo = $db->pdo();
        $before = self::existingTables($db);
        foreach (self::statements($db->driver) as $sql) {
            $pdo->exec($sql);
        }
        if ($db->driver === 'sqlite') {
            $pdo->query('PRAGMA journal_mode = WAL')->fetchAll();
        }
        $created = array_values(array_diff(self::TABLES, $before));
        $say($created === []
            ? 'schema: all ' . count(self::TABLES) . ' tables already present'
            : 'schema: created ' . implode(', ', $created));

        $seeded = self::seedIfEmpty($db);
        if ($seeded === null) {
            $users = (int) $pdo->query('SELECT COUNT(*) FROM users')->fetchColumn();
            $say("seed: skipped, users table already has {$users} rows");
        } else {
            $counts = [];
            foreach ($seeded as $table => $n) {
                $counts[] = "{$n} {$table}";
            }
            $say('seed: inserted ' . implode(', ', $counts));
        }
        self::writeMarker($db);
        return ['created' => $created, 'seeded' => $seeded];
    }

    /** Called on every request: cheap when the marker is there, ensure() under a file lock otherwise. */
    public static function ensureReady(Database $db): void
    {
        if (self::markerIsCurrent($db)) {
            return;
        }
        self::makeStateDir($db);
        $lock = fopen(self::markerPath($db) . '.lock', 'c');
        if ($lock === false) {
            throw new \RuntimeException('cannot open the schema lock file in ' . $db->stateDir());
        }
        try {
            flock($lock, LOCK_EX);
            clearstatcache();
            if (!self::markerIsCurrent($db)) {
                self::ensure($db, static fn (string $line) => error_log("timing: {$line}"));
            }
        } finally {
            flock($lock, LOCK_UN);
            fclose($lock);
        }
    }

    /** The database lost its tables under us (recreated, dropped): check again on the next request. */
    public static function forget(Database $db): void
    {
        @unlink(self::markerPath($db));
    }

    /** @return list<string> */
    private static function existingTables(Database $db): array
    {
        $sql = $db->driver === 'sqlite'
            ? "SELECT name FROM sqlite_master WHERE type = 'table'"
            : 'SHOW TABLES';
        return $db->pdo()->query($sql)->fetchAll(PDO::FETCH_COLUMN);
    }

    /** @return list<string> */
    private static function statements(string $driver): array
    {
        $file = TIMING_LEGACY_DIR . "/schema/{$driver}.sql";
        $sql = file_get_contents($file);
        if ($sql === false) {
            throw new \RuntimeException("cannot read {$file}");
        }
        $sql = preg_replace('/^\s*--.*$/m', '', $sql);
        return array_values(array_filter(array_map('trim', explode(';', $sql)), static fn ($s) => $s !== ''));
    }

    /** @return array<string,int>|null row counts per table, or null when users already had rows */
    private static function seedIfEmpty(Database $db): ?array
    {
        $pdo = $db->pdo();
        // The emptiness check and the seed share one write transaction/lock, so two processes
        // starting at once cannot both seed.
        if ($db->driver === 'sqlite') {
            $pdo->exec('BEGIN IMMEDIATE');
        } else {
            $pdo->query("SELECT GET_LOCK('timing_seed', 60)")->fetchAll();
            $pdo->beginTransaction();
        }
        try {
            $counts = null;
            if ((int) $pdo->query('SELECT COUNT(*) FROM users')->fetchColumn() === 0) {
                $counts = (new Seeder($db))->run();
            }
            if ($db->driver === 'sqlite') {
                $pdo->exec('COMMIT');
            } else {
                $pdo->commit();
            }
            return $counts;
        } catch (\Throwable $e) {
            if ($db->driver === 'sqlite') {
                $pdo->exec('ROLLBACK');
            } elseif ($pdo->inTransaction()) {
                $pdo->rollBack();
            }
            throw $e;
        } finally {
            if ($db->driver === 'mysql') {
                $pdo->query("SELECT RELEASE_LOCK('timing_seed')")->fetchAll();
            }
        }
    }

    private static function markerPath(Database $db): string
    {
        return $db->stateDir() . '/' . $db->key() . '.schema-ready';
    }

    /** For SQLite the marker records the file's inode, so a deleted and recreated file is noticed. */
    private static function markerContent(Database $db): ?string
    {
        if ($db->driver === 'sqlite') {
            $inode = @fileinode($db->sqlitePath);
            return $inode === false ? null : self::MARKER_VERSION . " inode={$inode}";
        }
        return self::MARKER_VERSION;
    }

    private static function markerIsCurrent(Database $db): bool
    {
        $expected = self::markerContent($db);
        return $expected !== null && @file_get_contents(self::markerPath($db)) === $expected;
    }

    private static function makeStateDir(Database $db): void
    {
        $dir = $db->stateDir();
        if (!is_dir($dir) && !@mkdir($dir, 0775, true) && !is_dir($dir)) {
            throw new \RuntimeException("cannot create {$dir}");
        }
    }

    private static function writeMarker(Database $db): void
    {
        self::makeStateDir($db);
        $content = self::markerContent($db);
        if ($content !== null) {
            file_put_contents(self::markerPath($db), $content, LOCK_EX);
        }
    }
}
