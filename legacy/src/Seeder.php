<?php

declare(strict_types=1);

namespace Timing;

use PDO;

/**
 * Deterministic demo data (mt_srand(42)); timestamps are offsets from now so the weekly
 * leaderboard always has data. Runs inside the caller's transaction.
 *
 * Demo user: id 1, demo@timing.test / timing, member of rooms 1-3 only (so joining any other
 * room is a first join). Every user's password is "timing".
 */
final class Seeder
{
    public const USERS = 500;
    public const ROOMS = 300;
    public const CHECKINS = 5000;
    public const DIARIES = 1000;
    public const TOPICS = ['math', 'physics', 'languages', 'coding', 'exam-prep', 'music', 'art', 'history'];
    public const MOODS = ['happy', 'focused', 'tired', 'stressed', 'calm'];

    private const DAY = 86400;
    private const FIRST_NAMES = ['Ada', 'Alan', 'Grace', 'Linus', 'Marie', 'Niels', 'Emmy', 'Carl', 'Sofia', 'Yuki',
        'Mateo', 'Amara', 'Leila', 'Omar', 'Chen', 'Priya', 'Lukas', 'Elena', 'Kofi', 'Ines',
        'Hana', 'Jonas', 'Zara', 'Diego', 'Mira', 'Tariq', 'Freya', 'Ravi', 'Nora', 'Felix',
        'Aiko', 'Bruno', 'Lena', 'Samir', 'Olga', 'Tomás', 'Maya', 'Erik', 'Noor', 'Iris'];
    private const LAST_NAMES = ['Lovelace', 'Turing', 'Hopper', 'Curie', 'Bohr', 'Noether', 'Gauss', 'Kovalevskaya',
        'Tanaka', 'García', 'Okafor', 'Haddad', 'Wang', 'Sharma', 'Müller', 'Rossi', 'Mensah', 'Silva',
        'Kim', 'Larsen', 'Ahmed', 'Moreau', 'Novak', 'Ibrahim', 'Fischer', 'Costa', 'Nakamura', 'Petrov',
        'Andersen', 'Kaur', 'Dubois', 'Yilmaz', 'Schmidt', 'Lopez', 'Ito', 'Nowak', 'Ali', 'Berg', 'Reyes', 'Weber'];
    private const ROOM_ADJECTIVES = ['Quiet', 'Cozy', 'Focused', 'Late-Night', 'Early Bird', 'Deep Work', 'Friendly',
        'Silent', 'Sunny', 'Rainy Day', 'Marathon', 'Pomodoro'];
    private const TOPIC_LABELS = ['math' => 'Math', 'physics' => 'Physics', 'languages' => 'Languages',
        'coding' => 'Coding', 'exam-prep' => 'Exam Prep', 'music' => 'Music', 'art' => 'Art', 'history' => 'History'];
    private const ROOM_NOUNS = ['Room', 'Lounge', 'Club', 'Den', 'Library', 'Corner', 'Hall'];
    private const TAGS = ['focus', 'quiet', 'pomodoro', 'beginners', 'advanced', 'camera-on', 'silent', 'chatty',
        'exam', 'daily', 'weekend', 'night-owls', 'early-birds', 'group-study', 'mentoring', 'english'];
    private const NOTES = ['', '', '', 'finished chapter 3', 'flashcards', 'past paper', 'practice set', 'reading',
        'scales and arpeggios', 'sketching', 'debugging', 'vocabulary review', 'lecture notes', 'essay draft'];
    private const DIARY_TITLES = ['Good session today', 'Struggled with focus', 'Exam in two weeks', 'Small win',
        'New study plan', 'Long day', 'Finally understood it', 'Reviewing old notes', 'Weekend recap', 'Study group notes'];
    private const DIARY_SENTENCES = ['Worked through the practice problems without looking at the solutions.',
        'The pomodoro timer really helped me stay on track.', 'I got distracted by my phone more than I would like.',
        'Explaining the topic to someone else showed me the gaps.', 'Tomorrow I want to start earlier.',
        'The study room was calm and everyone kept their cameras on.', 'I rewrote my notes into flashcards.',
        'Need more sleep before the next long session.', 'Finished the chapter I had been postponing for a week.',
        'Took a walk between sessions and came back fresh.'];

    public function __construct(private readonly Database $db)
    {
    }

    /** @return array<string,int> rows inserted per table */
    public function run(): array
    {
        mt_srand(42);
        $now = time();
        // One bcrypt for everyone: hashing 500 times would take far longer than the whole seed.
        $hash = password_hash('timing', PASSWORD_DEFAULT);

        $users = [[1, 'Demo Student', 'demo@timing.test', $hash, self::ts($now - 400 * self::DAY)]];
        for ($id = 2; $id <= self::USERS; $id++) {
            $first = self::pick(self::FIRST_NAMES);
            $last = self::pick(self::LAST_NAMES);
            $email = strtolower(self::ascii($first) . '.' . self::ascii($last)) . ".{$id}@timing.test";
            $users[] = [$id, "{$first} {$last}", $email, $hash, self::ts($now - mt_rand(61, 400) * self::DAY - mt_rand(0, self::DAY))];
        }

        $rooms = [];
        $tags = [];
        $members = [];
        $roomCreated = [];
        for ($id = 1; $id <= self::ROOMS; $id++) {
            $topic = self::pick(self::TOPICS);
            $label = self::TOPIC_LABELS[$topic];
            $name = self::pick(self::ROOM_ADJECTIVES) . " {$label} " . self::pick(self::ROOM_NOUNS);
            $capacity = self::pick([10, 15, 20, 25, 30, 40, 50]);
            $roomCreated[$id] = $now - mt_rand(61, 365) * self::DAY - mt_rand(0, self::DAY);
            $rooms[] = [$id, $name, $topic, self::description($label), $capacity, mt_rand(2, self::USERS),
                mt_rand(1, 100) <= 85 ? 1 : 0, self::ts($roomCreated[$id])];
            foreach (self::pickDistinct(self::TAGS, mt_rand(1, 4)) as $tag) {
                $tags[] = [$id, $tag];
            }
            $joined = $id <= 3 ? [1 => true] : [];
            $target = min(mt_rand(0, 30), $capacity);
            while (count($joined) < $target) {
                $joined[mt_rand(2, self::USERS)] = true;
            }
            foreach (array_keys($joined) as $userId) {
                $members[] = [$id, $userId, self::ts($now - mt_rand(60, 60 * self::DAY))];
            }
        }

        // 150 "regulars" produce most check-ins, so the leaderboard has a visible head and tail.
        $regulars = self::pickDistinct(range(2, self::USERS), 150);
        $activeUser = static fn () => mt_rand(1, 100) <= 70 ? self::pick($regulars) : mt_rand(1, self::USERS);
        $checkins = [];
        for ($i = 0; $i < self::CHECKINS; $i++) {
            $ago = mt_rand(1, 100) <= 45 ? mt_rand(60, 7 * self::DAY - 3600) : mt_rand(7 * self::DAY, 60 * self::DAY);
            $checkins[] = [
                $i < 20 ? 1 : $activeUser(),
                mt_rand(1, 100) <= 75 ? mt_rand(1, self::ROOMS) : null,
                self::pick([15, 20, 25, 30, 45, 50, 60, 90, 120, 180]),
                self::pick(self::NOTES),
                $now - $ago,
            ];
        }

        $diaries = [];
        for ($i = 0; $i < self::DIARIES; $i++) {
            $sentences = self::pickDistinct(self::DIARY_SENTENCES, mt_rand(2, 3));
            $diaries[] = [
                $i < 8 ? 1 : $activeUser(),
                self::pick(self::DIARY_TITLES),
                implode(' ', $sentences),
                self::pick(self::MOODS),
                $now - mt_rand(60, 90 * self::DAY),
            ];
        }
        // Ids grow with time, as they would have in production.
        $byTime = static fn (array $a, array $b) => $a[4] <=> $b[4];
        usort($checkins, $byTime);
        usort($diaries, $byTime);
        $checkins = array_map(static fn (array $r) => [$r[0], $r[1], $r[2], $r[3], self::ts($r[4])], $checkins);
        $diaries = array_map(static fn (array $r) => [$r[0], $r[1], $r[2], $r[3], self::ts($r[4])], $diaries);

        // Leave the request-time shuffles (room tags) unpredictable again.
        mt_srand();

        return [
            'users' => $this->insert('users', ['id', 'name', 'email', 'password_hash', 'created_at'], $users),
            'rooms' => $this->insert('rooms', ['id', 'name', 'topic', 'description', 'capacity', 'owner_id', 'is_public', 'created_at'], $rooms),
            'room_tags' => $this->insert('room_tags', ['room_id', 'tag'], $tags),
            'room_members' => $this->insert('room_members', ['room_id', 'user_id', 'joined_at'], $members),
            'checkins' => $this->insert('checkins', ['user_id', 'room_id', 'minutes', 'note', 'created_at'], $checkins),
            'diaries' => $this->insert('diaries', ['user_id', 'title', 'body', 'mood', 'created_at'], $diaries),
        ];
    }

    /** Multi-row INSERTs with at most ~900 placeholders each (SQLite's old default limit is 999). */
    private function insert(string $table, array $columns, array $rows): int
    {
        $pdo = $this->db->pdo();
        $perChunk = max(1, intdiv(900, count($columns)));
        $tuple = '(' . implode(', ', array_fill(0, count($columns), '?')) . ')';
        $prefix = "INSERT INTO {$table} (" . implode(', ', $columns) . ') VALUES ';
        $statements = [];
        foreach (array_chunk($rows, $perChunk) as $chunk) {
            $n = count($chunk);
            $statements[$n] ??= $pdo->prepare($prefix . implode(', ', array_fill(0, $n, $tuple)));
            $statements[$n]->execute(array_merge(...$chunk));
        }
        return count($rows);
    }

    private static function ts(int $unix): string
    {
        return gmdate('Y-m-d H:i:s', $unix);
    }

    /** @template T @param list<T> $list @return T */
    private static function pick(array $list): mixed
    {
        return $list[mt_rand(0, count($list) - 1)];
    }

    /** Partial Fisher-Yates driven by mt_rand, so the result depends only on the seed. */
    private static function pickDistinct(array $list, int $n): array
    {
        $list = array_values($list);
        $count = count($list);
        for ($i = 0; $i < $n && $i < $count; $i++) {
            $j = mt_rand($i, $count - 1);
            [$list[$i], $list[$j]] = [$list[$j], $list[$i]];
        }
        return array_slice($list, 0, min($n, $count));
    }

    private static function ascii(string $s): string
    {
        return strtr($s, ['á' => 'a', 'í' => 'i', 'ü' => 'u', 'ç' => 'c', 'ó' => 'o']);
    }

    private static function description(string $label): string
    {
        $opening = self::pick([
            "A place to study {$label} together.",
            "Join fellow {$label} learners for focused sessions.",
            "Shared {$label} study time with short breaks.",
        ]);
        $rule = self::pick([
            'Cameras optional, chat only during breaks.',
            'We run 50/10 pomodoros all day.',
            'Say hi, set a goal, and check in when you are done.',
            'Beginners welcome; ask questions in the break.',
        ]);
        return "{$opening} {$rule}";
    }
}
