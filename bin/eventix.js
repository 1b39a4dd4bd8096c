#!/usr/bin/env node
// In a source checkout, always run the TypeScript sources through tsx, so a stale dist/ left by an
// earlier build can never run instead of the code you are looking at. An installed package ships
// only dist/, and runs that.
import { existsSync } from 'node:fs';

const source = new URL('../src/cli/main.ts', import.meta.url);
if (existsSync(source)) {
  const { register } = await import('tsx/esm/api');
  register();
  await import(source.href);
} else {
  await import(new URL('../dist/cli/main.js', import.meta.url).href);
}
