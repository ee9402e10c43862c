<?php

declare(strict_types=1);

namespace Timing;

use PDO;
use RuntimeException;

/**
 * The database named by DATABASE_URL (shared with the Node services):
 *   sqlite:<path>                      absolute, or relative to the repo root
 *   mysql://user:pass@host:port/dbname
 * The PDO connection is opened on first use, so requests that never query stay cheap.
 */
final class Database
{
    public const DEFAULT_URL = 'sqlite:var/timing.sqlite';
    private const SQLITE_BUSY_TIMEOUT_MS = 5000;

    private ?PDO $pdo = null;

    /** @param array{host:string,port:int,user:string,pass:string,name:string}|null $mysql */
    private function __construct(
        public readonly string $driver,
        public readonly ?string $sqlitePath,
        private readonly ?array $mysql,
    ) {
    }

    public static function fromEnv(): self
    {
        $url = getenv('DATABASE_URL');
        return self::fromUrl($url === false || $url === '' ? self::DEFAULT_URL : $url);
    }

    public static function fromUrl(string $url): self
    {
        if (str_starts_with($url, 'sqlite:')) {
            $path = substr($url, strlen('sqlite:'));
            if (str_starts_with($path, '//')) {
                $path = substr($path, 2);
            }
            if ($path === '') {
                throw new RuntimeException('DATABASE_URL sqlite: needs a file path, e.g. sqlite:var/timing.sqlite');
            }
            if ($path[0] !== '/') {
                $path = TIMING_REPO_ROOT . '/' . $path;
            }
            return new self('sqlite', $path, null);
        }
        if (str_starts_with($url, 'mysql://')) {
            $parts = parse_url($url);
            $name = isset($parts['path']) ? ltrim($parts['path'], '/') : '';
            if ($parts === false || !isset($parts['host']) || $name === '') {
                throw new RuntimeException('DATABASE_URL must look like mysql://user:pass@host:port/dbname');
            }
            return new self('mysql', null, [
                'host' => $parts['host'],
                'port' => $parts['port'] ?? 3306,
                'user' => urldecode($parts['user'] ?? 'root'),
                'pass' => urldecode($parts['pass'] ?? ''),
                'name' => urldecode($name),
            ]);
        }
        throw new RuntimeException('DATABASE_URL must start with sqlite: or mysql://');
    }

    public function pdo(): PDO
    {
        return $this->pdo ??= $this->connect();
    }

    /** Human-readable target for logs; never includes the password. */
    public function describe(): string
    {
        return $this->driver === 'sqlite'
            ? "sqlite {$this->sqlitePath}"
            : "mysql {$this->mysql['user']}@{$this->mysql['host']}:{$this->mysql['port']}/{$this->mysql['name']}";
    }

    /** A directory for files that belong with this database (sessions, schema marker). */
    public function stateDir(): string
    {
        return $this->driver === 'sqlite' ? dirname($this->sqlitePath) : TIMING_REPO_ROOT . '/var';
    }

    /** A stable key for this database, used to name files in stateDir(). */
    public function key(): string
    {
        return $this->driver === 'sqlite'
            ? basename($this->sqlitePath)
            : 'mysql-' . substr(sha1(implode('|', [$this->mysql['host'], $this->mysql['port'], $this->mysql['name']])), 0, 16);
    }

    public function isDuplicateKey(\PDOException $e): bool
    {
        return $e->getCode() === '23000' || $e->getCode() === 23000;
    }

    public function isMissingTable(\PDOException $e): bool
    {
        return $e->getCode() === '42S02' || str_contains($e->getMessage(), 'no such table');
    }

    private function connect(): PDO
    {
        $options = [
            PDO::ATTR_ERRMODE => PDO::ERRMODE_EXCEPTION,
            PDO::ATTR_DEFAULT_FETCH_MODE => PDO::FETCH_ASSOC,
        ];
        if ($this->driver === 'sqlite') {
            $dir = dirname($this->sqlitePath);
            if (!is_dir($dir) && !@mkdir($dir, 0775, true) && !is_dir($dir)) {
                throw new RuntimeException("cannot create the database directory {$dir}");
            }
            $pdo = new PDO('sqlite:' . $this->sqlitePath, null, null, $options);
            // Several php -S workers and the Node services share this file.
            $pdo->exec('PRAGMA busy_timeout = ' . self::SQLITE_BUSY_TIMEOUT_MS);
            $pdo->exec('PRAGMA synchronous = NORMAL');
            return $pdo;
        }
        $m = $this->mysql;
        $options[PDO::ATTR_EMULATE_PREPARES] = false;
        $dsn = "mysql:host={$m['host']};port={$m['port']};dbname={$m['name']};charset=utf8mb4";
        $pdo = new PDO($dsn, $m['user'], $m['pass'], $options);
        $pdo->exec("SET time_zone = '+00:00'");
        return $pdo;
    }
}
