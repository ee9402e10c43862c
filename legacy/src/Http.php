<?php

declare(strict_types=1);

namespace Timing;

/** Thrown by controllers to answer with a plain error; the body shape depends on API vs page. */
final class HttpError extends \Exception
{
    /** @param array<string,string> $headers */
    public function __construct(public readonly int $status, string $message, public readonly array $headers = [])
    {
        parent::__construct($message);
    }
}

final class Request
{
    private mixed $json = null;
    private bool $jsonParsed = false;

    /**
     * @param array<string,string|array> $query
     * @param array<string,string|array> $form
     * @param array<string,string> $cookies
     */
    public function __construct(
        public readonly string $id,
        public readonly string $method,
        public readonly string $path,
        public readonly array $query,
        public readonly array $form,
        public readonly array $cookies,
        private readonly string $rawBody,
    ) {
    }

    public static function fromGlobals(): self
    {
        $path = parse_url($_SERVER['REQUEST_URI'] ?? '/', PHP_URL_PATH);
        return new self(
            self::idFromGlobals(),
            strtoupper($_SERVER['REQUEST_METHOD'] ?? 'GET'),
            is_string($path) && $path !== '' ? rawurldecode($path) : '/',
            $_GET,
            $_POST,
            $_COOKIE,
            (string) file_get_contents('php://input'),
        );
    }

    /**
     * The id the proxy sent in X-Request-Id (token characters, at most 128), else a new one: the
     * same id then names the request in the proxy's log, the services' logs and error_log here.
     */
    private static function idFromGlobals(): string
    {
        $incoming = $_SERVER['HTTP_X_REQUEST_ID'] ?? null;
        if (is_string($incoming) && preg_match('/^[A-Za-z0-9._:@-]{1,128}$/D', $incoming) === 1) {
            return $incoming;
        }
        return bin2hex(random_bytes(8));
    }

    public function isApi(): bool
    {
        return $this->path === '/api' || str_starts_with($this->path, '/api/');
    }

    public function queryString(string $name): ?string
    {
        $value = $this->query[$name] ?? null;
        return is_string($value) ? $value : null;
    }

    /**
     * The JSON body as an associative array.
     * @throws HttpError 400 when it is not JSON, 422 when it is JSON but not an object
     */
    public function jsonObject(): array
    {
        if (!$this->jsonParsed) {
            try {
                $this->json = json_decode($this->rawBody, true, 32, JSON_THROW_ON_ERROR);
            } catch (\JsonException) {
                throw new HttpError(400, 'invalid JSON body');
            }
            $this->jsonParsed = true;
        }
        if (!is_array($this->json) || (array_is_list($this->json) && $this->json !== [])) {
            throw new HttpError(422, 'request body must be a JSON object');
        }
        return $this->json;
    }
}

final class Response
{
    private const JSON_FLAGS = JSON_UNESCAPED_SLASHES | JSON_UNESCAPED_UNICODE | JSON_INVALID_UTF8_SUBSTITUTE | JSON_THROW_ON_ERROR;

    /** @param array<string,string> $headers */
    private function __construct(
        public readonly int $status,
        private readonly ?array $json,
        private readonly bool $envelope,
        private readonly string $html,
        public readonly array $headers = [],
    ) {
    }

    /**
     * A successful API answer: {"data": ..., ...$extra, "generated_at", "request_id"}.
     * The two noise fields are added at send time.
     */
    public static function data(mixed $data, array $extra = [], int $status = 200): self
    {
        return new self($status, ['data' => $data] + $extra, true, '');
    }

    public static function error(int $status, string $message, array $headers = []): self
    {
        return new self($status, ['error' => $message], false, '', $headers);
    }

    public static function html(string $html, int $status = 200, array $headers = []): self
    {
        return new self($status, null, false, $html, $headers);
    }

    public static function redirect(string $location, int $status = 303): self
    {
        return new self($status, null, false, '', ['Location' => $location]);
    }

    public function send(Request $request): void
    {
        http_response_code($this->status);
        header('X-Request-Id: ' . $request->id);
        foreach ($this->headers as $name => $value) {
            header("{$name}: {$value}");
        }
        if ($this->json !== null) {
            $payload = $this->json;
            if ($this->envelope) {
                $payload['generated_at'] = Format::now();
                $payload['request_id'] = $request->id;
            }
            header('Content-Type: application/json; charset=utf-8');
            header('Cache-Control: no-store');
            $body = json_encode($payload, self::JSON_FLAGS);
        } else {
            if ($this->html !== '') {
                header('Content-Type: text/html; charset=utf-8');
            }
            $body = $this->html;
        }
        if ($request->method !== 'HEAD') {
            echo $body;
        }
    }
}
