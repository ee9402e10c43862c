<?php

declare(strict_types=1);

// Front controller: every request that is not a static asset ends up here.
require dirname(__DIR__) . '/src/bootstrap.php';

Timing\App::run();
