// Reads a V8 .cpuprofile (node --cpu-prof) and says where the time went: self time per function, and
// self and inclusive time per "owner" (a node_modules package, one of our modules, node internals, GC).
import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';

import { round } from './stats.mjs';

const IDLE = new Set(['(idle)']);

/** The newest .cpuprofile in `dir` (node writes one when a process run with --cpu-prof exits). */
export function newestCpuProfile(dir) {
  const file = readdirSync(dir)
    .filter((name) => name.endsWith('.cpuprofile'))
    .map((name) => path.join(dir, name))
    .sort((a, b) => statSync(b).mtimeMs - statSync(a).mtimeMs)[0];
  if (!file) throw new Error(`No .cpuprofile was written in ${dir}`);
  return file;
}

/** Who owns a frame: the npm package, our module (dist/libs/<name> or libs/<name>), node, or V8. */
export function ownerOf(url, functionName) {
  if (!url)
    return functionName === '(garbage collector)' ? 'v8: garbage collector' : functionName === '(program)' ? 'v8: (program)' : 'v8/native';
  const modules = url.lastIndexOf('/node_modules/');
  if (modules >= 0) {
    const rest = url.slice(modules + '/node_modules/'.length).split('/');
    return rest[0].startsWith('@') ? `${rest[0]}/${rest[1]}` : rest[0];
  }
  if (url.startsWith('node:')) return 'node: core';
  const ours = /\/(?:dist\/)?(libs|apps)\/([^/]+)\//.exec(url);
  if (ours) return `ours: ${ours[1]}/${ours[2]}`;
  return url;
}

/**
 * Only samples between `fromMs` and `toMs` after the profile's start count (the load window: the
 * process's own start-up is not what is being measured).
 */
export function analyzeCpuProfile(file, { top = 25, fromMs = 0, toMs = Infinity } = {}) {
  const profile = JSON.parse(readFileSync(file, 'utf8'));
  const nodes = new Map(profile.nodes.map((node) => [node.id, node]));
  const parent = new Map();
  for (const node of profile.nodes) for (const child of node.children ?? []) parent.set(child, node.id);

  const selfByNode = new Map();
  let elapsedMicros = 0;
  for (let index = 0; index < profile.samples.length; index += 1) {
    const delta = profile.timeDeltas[index] ?? 0;
    elapsedMicros += delta;
    if (elapsedMicros < fromMs * 1000 || elapsedMicros > toMs * 1000) continue;
    const id = profile.samples[index];
    selfByNode.set(id, (selfByNode.get(id) ?? 0) + delta);
  }

  const functions = new Map();
  const ownersSelf = new Map();
  const ownersInclusive = new Map();
  let total = 0;
  for (const [id, micros] of selfByNode) {
    const { callFrame } = nodes.get(id);
    if (IDLE.has(callFrame.functionName)) continue;
    total += micros;
    const owner = ownerOf(callFrame.url, callFrame.functionName);
    const key = `${callFrame.functionName} ${callFrame.url}:${callFrame.lineNumber}`;
    const entry = functions.get(key) ?? {
      function: callFrame.functionName || '(anonymous)',
      location: `${shorten(callFrame.url)}:${callFrame.lineNumber + 1}`,
      owner,
      micros: 0,
    };
    entry.micros += micros;
    functions.set(key, entry);
    ownersSelf.set(owner, (ownersSelf.get(owner) ?? 0) + micros);
    // Inclusive: every owner on the sample's stack is charged the sample once.
    const onStack = new Set();
    for (let cursor = id; cursor !== undefined; cursor = parent.get(cursor)) {
      const frame = nodes.get(cursor).callFrame;
      if (frame.functionName !== '(root)') onStack.add(ownerOf(frame.url, frame.functionName));
    }
    for (const owner of onStack) ownersInclusive.set(owner, (ownersInclusive.get(owner) ?? 0) + micros);
  }
  const share = (micros) => round((100 * micros) / total, 1);
  const byDescending = (map) => [...map].sort((a, b) => b[1] - a[1]).slice(0, top);
  return {
    busyMs: round(total / 1000, 0),
    wallMs: round((Math.min(toMs * 1000, profile.endTime - profile.startTime) - fromMs * 1000) / 1000, 0),
    topFunctions: [...functions.values()]
      .sort((a, b) => b.micros - a.micros)
      .slice(0, top)
      .map(({ micros, ...entry }) => ({ ...entry, selfMs: round(micros / 1000, 0), selfPercent: share(micros) })),
    byOwnerSelf: byDescending(ownersSelf).map(([owner, micros]) => ({
      owner,
      selfMs: round(micros / 1000, 0),
      selfPercent: share(micros),
    })),
    byOwnerInclusive: byDescending(ownersInclusive).map(([owner, micros]) => ({
      owner,
      inclusiveMs: round(micros / 1000, 0),
      inclusivePercent: share(micros),
    })),
  };
}

function shorten(url) {
  if (!url) return '(native)';
  const modules = url.lastIndexOf('/node_modules/');
  if (modules >= 0) return url.slice(modules + 1);
  const ours = url.search(/\/(dist\/)?(libs|apps)\//);
  return ours >= 0 ? url.slice(ours + 1) : url.replace(/^file:\/\//, '');
}
