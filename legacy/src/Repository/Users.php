<?php

declare(strict_types=1);

namespace Timing\Repository;

use Timing\Database;

final class Users
{
    public function __construct(private readonly Database $db)
    {
    }

    public function find(int $id): ?array
    {
        $stmt = $this->db->pdo()->prepare('SELECT id, name, email FROM users WHERE id = ?');
        $stmt->execute([$id]);
        return $stmt->fetch() ?: null;
    }

    public function exists(int $id): bool
    {
        $stmt = $this->db->pdo()->prepare('SELECT 1 FROM users WHERE id = ?');
        $stmt->execute([$id]);
        return $stmt->fetchColumn() !== false;
    }

    /** The user whose email and password match, or null. */
    public function authenticate(string $email, string $password): ?array
    {
        $stmt = $this->db->pdo()->prepare('SELECT id, name, email, password_hash FROM users WHERE email = ?');
        $stmt->execute([strtolower(trim($email))]);
        $row = $stmt->fetch();
        if ($row === false || !password_verify($password, (string) $row['password_hash'])) {
            return null;
        }
        unset($row['password_hash']);
        return $row;
    }
}
