#!/usr/bin/env node
// The CLI is TypeScript run through tsx's loader, so `npx strangler` works right after
// `npm ci` with no build step.
import { register } from 'tsx/esm/api';
register();
await import('../proxy/cli/main.ts');
