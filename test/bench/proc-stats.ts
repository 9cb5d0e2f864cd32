import fs from 'node:fs';

/** Clock ticks per second of /proc's utime/stime (USER_HZ; 100 on Linux). */
const CLK_TCK = 100;
const PAGE = 4096;

export interface ProcSample {
  /** utime + stime in seconds. */
  readonly cpuSec: number;
  readonly rssBytes: number;
  readonly at: number;
}

interface StatLine {
  readonly pid: number;
  readonly ppid: number;
  readonly cpuSec: number;
  readonly rssBytes: number;
}

function readStat(pid: number): StatLine | undefined {
  let text: string;
  try {
    text = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return undefined;
  }
  // The command name (field 2) may hold spaces; the fields after its closing parenthesis do not.
  const f = text.slice(text.lastIndexOf(')') + 2).split(' ');
  // After the name: state(3) ppid(4) … utime(14) stime(15) … rss(24); f[0] is field 3.
  return { pid, ppid: Number(f[1]), cpuSec: (Number(f[11]) + Number(f[12])) / CLK_TCK, rssBytes: Number(f[21]) * PAGE };
}

/** One process. */
export function sampleProcess(pid: number): ProcSample | undefined {
  const s = readStat(pid);
  return s && { cpuSec: s.cpuSec, rssBytes: s.rssBytes, at: performance.now() };
}

/** The descendants of `pid` (not itself), e.g. the embedded PostgreSQL's processes. */
export function sampleDescendants(pid: number): ProcSample & { readonly pids: number[] } {
  const all = fs
    .readdirSync('/proc')
    .filter((d) => /^\d+$/.test(d))
    .flatMap((d) => {
      const s = readStat(Number(d));
      return s ? [s] : [];
    });
  const children = new Map<number, StatLine[]>();
  for (const s of all) children.set(s.ppid, [...(children.get(s.ppid) ?? []), s]);
  let cpuSec = 0;
  let rssBytes = 0;
  const pids: number[] = [];
  const stack = [...(children.get(pid) ?? [])];
  for (let s = stack.pop(); s; s = stack.pop()) {
    pids.push(s.pid);
    cpuSec += s.cpuSec;
    rssBytes += s.rssBytes;
    stack.push(...(children.get(s.pid) ?? []));
  }
  return { cpuSec, rssBytes, at: performance.now(), pids };
}

/** Several processes summed (the fleet workers). */
function sampleMany(pids: readonly number[]): ProcSample {
  let cpuSec = 0;
  let rssBytes = 0;
  for (const pid of pids) {
    const s = readStat(pid);
    if (s) {
      cpuSec += s.cpuSec;
      rssBytes += s.rssBytes;
    }
  }
  return { cpuSec, rssBytes, at: performance.now() };
}

/** Cores used between two samples (1.0 = one core fully busy). */
export function coresBetween(a: ProcSample, b: ProcSample): number {
  const dt = (b.at - a.at) / 1000;
  return dt > 0 ? (b.cpuSec - a.cpuSec) / dt : 0;
}

/** CPU of the controller, its PostgreSQL (descendants) and the fleet workers at one instant. */
export interface CpuSnapshot {
  /** Busy seconds of the whole machine (all processes, every tenant). */
  readonly machine: ProcSample;
  readonly controller: ProcSample | undefined;
  readonly postgres: ProcSample;
  readonly fleet: ProcSample;
}

export interface CoresUsed {
  /** Everything on the machine, including other users' work. */
  readonly machine: number;
  readonly controller: number;
  readonly postgres: number;
  readonly fleet: number;
}

export function cpuSnapshot(controllerPid: number, workerPids: readonly number[]): CpuSnapshot {
  return { machine: sampleMachine(), controller: sampleProcess(controllerPid), postgres: sampleDescendants(controllerPid), fleet: sampleMany(workerPids) };
}

export function coresSince(a: CpuSnapshot, b: CpuSnapshot): CoresUsed {
  return {
    machine: coresBetween(a.machine, b.machine),
    controller: a.controller && b.controller ? coresBetween(a.controller, b.controller) : NaN,
    postgres: coresBetween(a.postgres, b.postgres),
    fleet: coresBetween(a.fleet, b.fleet),
  };
}

/** Busy time of all CPUs from /proc/stat (user, nice, system, irq, softirq, steal). */
function sampleMachine(): ProcSample {
  const first = fs.readFileSync('/proc/stat', 'utf8').split('\n')[0] ?? '';
  const v = first.trim().split(/\s+/).slice(1).map(Number);
  const busy = (v[0] ?? 0) + (v[1] ?? 0) + (v[2] ?? 0) + (v[5] ?? 0) + (v[6] ?? 0) + (v[7] ?? 0);
  return { cpuSec: busy / CLK_TCK, rssBytes: 0, at: performance.now() };
}
