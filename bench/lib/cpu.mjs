// CPU used by each process group over a run's window, from /proc (Linux): utime + stime (clock ticks
// of 10 ms, all threads) for Node.js processes, schedstat (ns) for PostgreSQL backends. Groups are
// lists of pids read at the start and end of the window, except PostgreSQL: its backends are the
// processes titled "postgres: … <user> <database> …" for the bench's scratch database (the server is
// shared with other work, so the whole server's CPU would count theirs; its WAL writer, checkpointer
// and other auxiliary processes are left out for the same reason). Backends come and go (pgbench
// opens its connections at the start and closes them at the end), so they are sampled every
// SAMPLE_MS: a backend born during the window counts from zero, and one that exits loses at most its
// last SAMPLE_MS of CPU.
import { readdirSync, readFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';

const TICK_MS = 10;
const SAMPLE_MS = 100;

/** utime + stime of a pid in ms, or null once it is gone. */
export function pidCpuMs(pid) {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) * TICK_MS;
  } catch {
    return null;
  }
}

/**
 * CPU time of a single-threaded process in ms from /proc/<pid>/schedstat (nanoseconds on the CPU):
 * exact, where utime + stime move in 10 ms ticks, which at a few cycles per second is several ms
 * per cycle summed over 20 backends.
 */
function singleThreadCpuMs(pid) {
  try {
    return Number(readFileSync(`/proc/${pid}/schedstat`, 'utf8').split(' ')[0]) / 1e6;
  } catch {
    return pidCpuMs(pid);
  }
}

/** This process's own CPU and that of its children it has reaped (cutime + cstime), in ms. */
function selfCpuMs() {
  const stat = readFileSync('/proc/self/stat', 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return { own: (Number(fields[11]) + Number(fields[12])) * TICK_MS, reapedChildren: (Number(fields[13]) + Number(fields[14])) * TICK_MS };
}

/** Finds the backends of one database among the machine's processes; remembers what it has looked at. */
class BackendFinder {
  constructor(databaseName) {
    this.marker = ` ${databaseName} `;
    this.seen = new Map();
  }

  pids() {
    const found = [];
    for (const name of readdirSync('/proc')) {
      if (name.charCodeAt(0) > 57) continue;
      let backend = this.seen.get(name);
      if (backend === undefined) {
        backend = false;
        try {
          if (readFileSync(`/proc/${name}/comm`, 'utf8') === 'postgres\n') {
            const title = readFileSync(`/proc/${name}/cmdline`, 'utf8');
            backend = title.startsWith('postgres: ') && title.includes(this.marker);
          }
        } catch {
          backend = false;
        }
        this.seen.set(name, backend);
      }
      if (backend) found.push(Number(name));
    }
    return found;
  }
}

/**
 * Measures one window. `groups` maps a group name to a function returning its pids (replicas, lean
 * processes); `postgres` is the scratch database's name; the load client is this process (its own
 * CPU), and a child tool run to completion inside the window (pgbench) is measured through this
 * process's reaped-children CPU, which is exact.
 */
export class CpuWindow {
  constructor({ groups = {}, database }) {
    this.groups = groups;
    this.finder = database ? new BackendFinder(database) : null;
    this.backends = new Map();
    this.startedAt = performance.now();
    this.self = selfCpuMs();
    this.groupStart = Object.fromEntries(Object.entries(groups).map(([name, pids]) => [name, sum(pids().map(pidCpuMs))]));
    if (this.finder) {
      for (const pid of this.finder.pids()) {
        const cpu = singleThreadCpuMs(pid) ?? 0;
        this.backends.set(pid, { first: cpu, last: cpu });
      }
      this.timer = setInterval(() => this.sampleBackends(), SAMPLE_MS);
      this.timer.unref();
    }
  }

  sampleBackends() {
    for (const pid of this.finder.pids()) {
      const cpu = singleThreadCpuMs(pid);
      if (cpu === null) continue;
      const known = this.backends.get(pid);
      if (known) known.last = cpu;
      else this.backends.set(pid, { first: 0, last: cpu });
    }
  }

  /** CPU ms per group over the window, the window's length and how many backends served it. */
  stop() {
    if (this.finder) {
      this.sampleBackends();
      clearInterval(this.timer);
    }
    const wallMs = performance.now() - this.startedAt;
    const self = selfCpuMs();
    const cpuMs = Object.fromEntries(Object.entries(this.groups).map(([name, pids]) => [name, sum(pids().map(pidCpuMs)) - this.groupStart[name]]));
    cpuMs.loadClient = self.own - this.self.own;
    cpuMs.childTool = self.reapedChildren - this.self.reapedChildren;
    if (this.finder) cpuMs.postgres = sum([...this.backends.values()].map((backend) => backend.last - backend.first));
    return { wallMs, cpuMs, backends: this.backends.size };
  }
}

function sum(values) {
  return values.reduce((total, value) => total + (value ?? 0), 0);
}
