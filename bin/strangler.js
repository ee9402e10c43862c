#!/usr/bin/env node
// The CLI runs the JavaScript compiled into dist/ by `npm run build` (npm install runs it), or,
// when a source is newer than that build or there is none, the TypeScript through tsx's loader,
// so `npx strangler` always runs the code as it is on disk (see compiled.js).
import { fileURLToPath } from 'node:url';
import { resolveEntryUrl } from './compiled.js';

const { url, compiled } = resolveEntryUrl(fileURLToPath(new URL('../proxy/cli/main.ts', import.meta.url)));
if (!compiled) {
  const { register } = await import('tsx/esm/api');
  register();
}
await import(url);
