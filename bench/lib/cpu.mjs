// CPU used by each process group over a run's window, from /proc (Linux): the time on a CPU of
// every thread (/proc/<pid>/task/<tid>/schedstat, in ns). utime + stime are sampled in 10 ms ticks
// and charged to whatever runs at the tick, which undercounts processes that run in short bursts
// (PostgreSQL backends, most of all on a loaded machine). Groups are lists of pids read at the start
// and end of the window, except PostgreSQL: its backends are the processes titled
// "postgres: … <user> <database> …" for the bench's scratch database (the server is shared with other
// work, so the whole server's CPU would count theirs; its WAL writer, checkpointer and other
// auxiliary processes are left out for the same reason). Backends come and go (pgbench opens its
// connections at the start and closes them at the end), so they are sampled every SAMPLE_MS: a
// backend born during the window counts from zero, and one that exits loses at most its last
// SAMPLE_MS of CPU. A thread that ends inside the window loses its time in the same way.
import { readdirSync, readFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';

const TICK_MS = 10;
const SAMPLE_MS = 100;

/** Time on a CPU of all of a pid's threads in ms, or null once it is gone. */
export function pidCpuMs(pid) {
  let tasks;
  try {
    tasks = readdirSync(`/proc/${pid}/task`);
  } catch {
    return null;
  }
  let ns = 0;
  for (const task of tasks) {
    try {
      ns += Number(readFileSync(`/proc/${pid}/task/${task}/schedstat`, 'utf8').split(' ')[0]);
    } catch {
      // The thread ended between the listing and the read.
    }
  }
  return ns / 1e6;
}

/**
 * This process's own CPU, and that of the children it has reaped (cutime + cstime, in ticks: the
 * only count left of a process that has ended), in ms.
 */
function selfCpuMs() {
  const stat = readFileSync('/proc/self/stat', 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return { own: pidCpuMs(process.pid), reapedChildren: (Number(fields[13]) + Number(fields[14])) * TICK_MS };
}

/** Finds the backends of one database among the machine's processes; remembers what it has looked at. */
class BackendFinder {
  constructor(databaseName) {
    this.marker = ` ${databaseName} `;
    this.seen = new Map();
  }

  /** true: a backend of the database; false: anything else; null: a postgres process not titled yet. */
  classify(pid) {
    try {
      if (readFileSync(`/proc/${pid}/comm`, 'utf8') !== 'postgres\n') return false;
      const title = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
      if (!title.startsWith('postgres: ')) return null;
      return title.includes(this.marker);
    } catch {
      return false;
    }
  }

  pids() {
    const found = [];
    for (const name of readdirSync('/proc')) {
      if (name.charCodeAt(0) > 57) continue;
      let backend = this.seen.get(name);
      if (backend === undefined) {
        backend = this.classify(name);
        // A backend just forked still carries the postmaster's command line until it sets its title.
        if (backend !== null) this.seen.set(name, backend);
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
        const cpu = pidCpuMs(pid) ?? 0;
        this.backends.set(pid, { first: cpu, last: cpu });
      }
      this.timer = setInterval(() => this.sampleBackends(), SAMPLE_MS);
      this.timer.unref();
    }
  }

  sampleBackends() {
    for (const pid of this.finder.pids()) {
      const cpu = pidCpuMs(pid);
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
    const cpuMs = Object.fromEntries(
      Object.entries(this.groups).map(([name, pids]) => [name, sum(pids().map(pidCpuMs)) - this.groupStart[name]]),
    );
    cpuMs.loadClient = self.own - this.self.own;
    cpuMs.childTool = self.reapedChildren - this.self.reapedChildren;
    if (this.finder) cpuMs.postgres = sum([...this.backends.values()].map((backend) => backend.last - backend.first));
    return { wallMs, cpuMs, backends: this.backends.size };
  }
}

function sum(values) {
  return values.reduce((total, value) => total + (value ?? 0), 0);
}
