import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';

export const PROJECT_ROOT = path.resolve(import.meta.dirname, '..', '..');
/** The built entry point (`npm test` builds it first, as `npm run build` does). */
export const BUILT_MAIN = path.join(PROJECT_ROOT, 'dist', 'apps', 'api', 'src', 'main.js');

export interface Exited {
  code: number | null;
  signal: NodeJS.Signals | null;
  output: string;
}

/** Only PATH from this process: the service sees exactly the variables a test gives it. */
export function spawnBuilt(args: string[], env: Record<string, string>): ChildProcess & { output: () => string } {
  if (!existsSync(BUILT_MAIN)) throw new Error(`${BUILT_MAIN} is missing: run npm run build (npm test does)`);
  const child = spawn(process.execPath, args, {
    cwd: PROJECT_ROOT,
    env: { PATH: process.env.PATH ?? '', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  return Object.assign(child, { output: () => output });
}

export function exitOf(child: ChildProcess & { output: () => string }, withinMs: number): Promise<Exited> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`still running after ${withinMs} ms:\n${child.output()}`));
    }, withinMs);
    const done = (code: number | null, signal: NodeJS.Signals | null): void => {
      clearTimeout(timer);
      resolve({ code, signal, output: child.output() });
    };
    if (child.exitCode !== null || child.signalCode !== null) done(child.exitCode, child.signalCode);
    else child.once('exit', done);
  });
}
