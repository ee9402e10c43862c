<?php

declare(strict_types=1);

namespace Timing;

/** Server-rendered HTML. Every value goes through e(); markup stays in this one file. */
final class View
{
    public static function e(mixed $value): string
    {
        return htmlspecialchars((string) $value, ENT_QUOTES | ENT_SUBSTITUTE, 'UTF-8');
    }

    public static function layout(string $title, string $content, ?array $user): string
    {
        $t = self::e($title);
        $account = $user === null
            ? '<a href="/login">Log in</a>'
            : '<span class="who">' . self::e($user['name']) . '</span>'
                . '<form method="post" action="/logout" class="inline"><button type="submit">Log out</button></form>';
        return <<<HTML
        <!doctype html>
        <html lang="en">
        <head>
          <meta charset="utf-8">
          <meta name="viewport" content="width=device-width, initial-scale=1">
          <title>{$t} · Timing</title>
          <link rel="stylesheet" href="/assets/app.css">
          <script src="/assets/app.js" defer></script>
        </head>
        <body>
          <header class="top">
            <a class="brand" href="/">Timing</a>
            <nav><a href="/">Rooms</a> <a href="/diary">My diary</a></nav>
            <div class="account">{$account}</div>
          </header>
          <main>
        {$content}
          </main>
          <footer>Timing — study together. <a href="/api/rooms">API</a></footer>
        </body>
        </html>
        HTML;
    }

    /** @param list<array> $rooms summaries @param list<array> $leaders leaderboard entries */
    public static function home(array $rooms, array $leaders, ?array $user): string
    {
        $cards = implode("\n", array_map(static fn (array $r) => '<li class="card"><a href="/rooms/' . $r['id'] . '">'
            . self::e($r['name']) . '</a><span class="topic">' . self::e($r['topic']) . '</span>'
            . '<span class="meta">' . $r['member_count'] . ' / ' . $r['capacity'] . ' members</span></li>', $rooms));
        $rows = implode("\n", array_map(static fn (array $l) => '<li><span class="rank">#' . $l['rank'] . '</span> '
            . self::e($l['user']['name']) . ' <span class="meta">' . $l['minutes'] . ' min</span></li>', $leaders));
        $greeting = $user === null
            ? '<p>Study with others in quiet rooms. <a href="/login">Log in</a> to join a room and check in your study time.</p>'
            : '<p>Welcome back, ' . self::e($user['name']) . '. <a href="/diary">Write in your diary</a>.</p>';
        $content = <<<HTML
            <section class="hero"><h1>Study rooms</h1>{$greeting}</section>
            <section><h2>Popular rooms</h2><ul class="cards">{$cards}</ul></section>
            <section><h2>This week's leaderboard</h2><ol class="leaders">{$rows}</ol>
              <p><a href="/api/leaderboard">Full leaderboard (JSON)</a></p></section>
        HTML;
        return self::layout('Home', $content, $user);
    }

    /** @param array $room detail shape (Format::roomDetail) */
    public static function room(array $room, ?array $user, bool $isMember): string
    {
        $tags = implode(' ', array_map(static fn ($t) => '<span class="tag">' . self::e($t) . '</span>', $room['tags']));
        $members = $room['members'] === []
            ? '<li class="meta">Nobody yet.</li>'
            : implode("\n", array_map(static fn ($m) => '<li>' . self::e($m['name']) . '</li>', $room['members']));
        $id = (int) $room['id'];
        if ($user === null) {
            $actions = '<p><a href="/login">Log in</a> to join this room and check in.</p>';
        } else {
            $join = $isMember
                ? '<p class="meta">You are a member of this room.</p>'
                : '<form data-api="/api/rooms/' . $id . '/join" class="api-form"><button type="submit">Join room</button></form>';
            $actions = $join . <<<HTML
              <form data-api="/api/checkins" class="api-form checkin">
                <input type="hidden" name="room_id" value="{$id}" data-type="int">
                <label>Minutes <input type="number" name="minutes" min="1" max="600" value="25" data-type="int" required></label>
                <label>Note <input type="text" name="note" maxlength="255"></label>
                <button type="submit">Check in</button>
              </form>
            HTML;
        }
        $content = '<article class="room"><h1>' . self::e($room['name']) . '</h1>'
            . '<p class="meta">' . self::e($room['topic']) . ' · ' . $room['member_count'] . ' / ' . $room['capacity']
            . ' members · hosted by ' . self::e($room['owner']['name'] ?? 'unknown') . '</p>'
            . '<p>' . self::e($room['description']) . '</p><p>' . $tags . '</p>' . $actions
            . '<h2>Recent members</h2><ul>' . $members . '</ul></article>'
            . '<p class="api-result" role="status"></p>';
        return self::layout($room['name'], $content, $user);
    }

    public static function login(?string $error = null, string $email = ''): string
    {
        $message = $error === null ? '' : '<p class="error" role="alert">' . self::e($error) . '</p>';
        $value = self::e($email);
        $content = <<<HTML
            <section class="narrow"><h1>Log in</h1>{$message}
              <form method="post" action="/login">
                <label>Email <input type="email" name="email" value="{$value}" required autofocus></label>
                <label>Password <input type="password" name="password" required></label>
                <button type="submit">Log in</button>
              </form>
              <p class="meta">Demo account: demo@timing.test / timing</p>
            </section>
        HTML;
        return self::layout('Log in', $content, null);
    }

    /** @param list<array> $diaries Format::diary shapes */
    public static function diary(array $user, array $diaries): string
    {
        $entries = $diaries === []
            ? '<p class="meta">No entries yet.</p>'
            : implode("\n", array_map(static fn ($d) => '<article class="entry"><h3>' . self::e($d['title'])
                . ' <span class="mood mood-' . self::e($d['mood']) . '">' . self::e($d['mood']) . '</span></h3>'
                . '<time datetime="' . self::e($d['created_at']) . '">' . self::e($d['created_at']) . '</time>'
                . '<p>' . nl2br(self::e($d['body'])) . '</p></article>', $diaries));
        $moods = implode('', array_map(static fn ($m) => '<option>' . $m . '</option>', Seeder::MOODS));
        $content = <<<HTML
            <section><h1>My diary</h1>
              <form data-api="/api/diaries" class="api-form diary-form" data-reload="1">
                <label>Title <input type="text" name="title" maxlength="200" required></label>
                <label>How did it go? <textarea name="body" rows="4" required></textarea></label>
                <label>Mood <select name="mood">{$moods}</select></label>
                <button type="submit">Save entry</button>
              </form>
              <p class="api-result" role="status"></p>
              {$entries}
            </section>
        HTML;
        return self::layout('My diary', $content, $user);
    }

    public static function error(int $status, string $message, ?array $user = null): string
    {
        $content = '<section class="narrow"><h1>' . $status . '</h1><p>' . self::e($message) . '</p><p><a href="/">Back to the rooms</a></p></section>';
        return self::layout($message, $content, $user);
    }
}
