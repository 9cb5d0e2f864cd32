#!/usr/bin/env node
// The `floatlease` executable for package.json "bin": registers tsx, then runs the TypeScript CLI.
import { register } from 'tsx/esm/api';

register();
await import('./main.ts');
