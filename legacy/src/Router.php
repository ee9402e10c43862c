<?php

declare(strict_types=1);

namespace Timing;

/** Method + path patterns like /api/rooms/{id}; a parameter matches one path segment. */
final class Router
{
    /** @var array<string, array{regex:string, handlers:array<string,callable>}> */
    private array $routes = [];

    public function add(string $method, string $pattern, callable $handler): void
    {
        $this->routes[$pattern] ??= [
            'regex' => '#^' . preg_replace('#\\\\\{(\w+)\\\\\}#', '(?<$1>[^/]+)', preg_quote($pattern, '#')) . '$#',
            'handlers' => [],
        ];
        $this->routes[$pattern]['handlers'][$method] = $handler;
    }

    /**
     * @return array{0:'found',1:callable,2:array<string,string>}|array{0:'method_not_allowed',1:list<string>}|array{0:'not_found'}
     */
    public function match(string $method, string $path): array
    {
        $lookup = $method === 'HEAD' ? 'GET' : $method;
        foreach ($this->routes as $route) {
            if (!preg_match($route['regex'], $path, $m)) {
                continue;
            }
            if (isset($route['handlers'][$lookup])) {
                $params = array_filter($m, 'is_string', ARRAY_FILTER_USE_KEY);
                return ['found', $route['handlers'][$lookup], $params];
            }
            $allowed = array_keys($route['handlers']);
            if (in_array('GET', $allowed, true)) {
                $allowed[] = 'HEAD';
            }
            return ['method_not_allowed', $allowed];
        }
        return ['not_found'];
    }
}
