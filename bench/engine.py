#!/usr/bin/env python3
"""Client CPU and wall time to walk the same 5 IF-MIB columns (50,000 values of the olt10k
recording, served by snmpsimd) with coopnoc's engine, net-snmp's snmpbulkwalk and
prometheus-snmp-exporter. Run by engine.sh, which starts and stops the peers.

Usage: engine.py WALK_BENCH_BINARY SNMPSIM_ADDR EXPORTER_PID EXPORTER_PORT [REPS]
CPU is user+system time: wait4() rusage for the one-shot processes (coopnoc's walk_bench,
snmpbulkwalk: process start included, as for a poll run from cron), /proc/PID/stat deltas
for the long-running exporter.
"""
import json, os, statistics, subprocess, sys, time

BIN, ADDR, EXP_PID, EXP_PORT = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
REPS = int(sys.argv[5]) if len(sys.argv) > 5 else 5
TCK = os.sysconf('SC_CLK_TCK')
COLS = ['1.3.6.1.2.1.2.2.1.8', '1.3.6.1.2.1.31.1.1.1.1', '1.3.6.1.2.1.31.1.1.1.6',
        '1.3.6.1.2.1.31.1.1.1.10', '1.3.6.1.2.1.31.1.1.1.15']
ENV = dict(os.environ, MIBS='')

def proc_cpu(pid):
    f = open('/proc/%d/stat' % pid).read()
    rest = f[f.rindex(')') + 2:].split()
    return (int(rest[11]) + int(rest[12])) / TCK

def run(cmd):
    """Runs cmd; returns (stdout, wall seconds, CPU seconds of the process)."""
    t0 = time.monotonic()
    p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=ENV)
    out = p.stdout.read()
    _, status, ru = os.wait4(p.pid, 0)
    wall = time.monotonic() - t0
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit('%s failed: %s' % (cmd, p.stderr.read().decode()))
    return out.decode(errors='replace'), wall, ru.ru_utime + ru.ru_stime

def coopnoc(r, separate):
    cmd = [BIN, '--community', 'olt10k', '--max-repetitions', str(r)]
    if separate:
        cmd.append('--separate')
    out, wall, cpu = run(cmd + [ADDR] + COLS)
    j = json.loads(out.strip().splitlines()[-1])
    return dict(values=j['values'], wall=wall, cpu=cpu, requests=j['requests'],
                walk_wall=j['wall_s'], walk_cpu=j['cpu_s'])

def bulkwalk(r):
    tot = dict(values=0, wall=0.0, cpu=0.0)
    for c in COLS:
        out, wall, cpu = run(['snmpbulkwalk', '-v2c', '-c', 'olt10k', '-Cr%d' % r, '-On', ADDR, c])
        tot['values'] += sum(1 for l in out.splitlines() if ' = ' in l and 'No more variables' not in l)
        tot['wall'] += wall
        tot['cpu'] += cpu
    return tot

def exporter(r):
    c0 = proc_cpu(EXP_PID)
    t0 = time.monotonic()
    body = subprocess.run(['curl', '-sf', 'http://127.0.0.1:%d/snmp?module=olt_r%d&target=%s'
                           % (EXP_PORT, r, ADDR)], check=True, capture_output=True, text=True).stdout
    wall = time.monotonic() - t0
    time.sleep(0.3)      # let the garbage collection the scrape caused finish
    cpu = proc_cpu(EXP_PID) - c0
    values = sum(1 for l in body.splitlines() if l and not l.startswith('#') and not l.startswith('snmp_scrape_'))
    return dict(values=values, wall=wall, cpu=cpu)

def median(runs):
    return {k: statistics.median(x[k] for x in runs) for k in runs[0]}

rows = []
for r in (25, 50):
    for name, f in (('coopnoc (5 columns in one walk)', lambda: coopnoc(r, False)),
                    ('coopnoc (5 walks, like snmpbulkwalk)', lambda: coopnoc(r, True)),
                    ('snmpbulkwalk (5 processes)', lambda: bulkwalk(r)),
                    ('prometheus-snmp-exporter', lambda: exporter(r))):
        f()                                    # warm-up: agent caches, page cache
        m = median([f() for _ in range(REPS)])
        rows.append((name, r, m))
        print('.', end='', file=sys.stderr, flush=True)
print(file=sys.stderr)

print('| poller | max-rep | values | wall s | values/s | client CPU s | CPU-s per 100k values | values per CPU-s |')
print('|---|---|---|---|---|---|---|---|')
for name, r, m in rows:
    print('| %s | %d | %d | %.2f | %.0f | %.3f | %.3f | %.0f |' % (
        name, r, m['values'], m['wall'], m['values'] / m['wall'], m['cpu'],
        m['cpu'] / m['values'] * 1e5, m['values'] / max(m['cpu'], 1e-9)))
extra = [(n, r, m) for n, r, m in rows if 'walk_cpu' in m]
if extra:
    print()
    print('coopnoc in-process figures (without process start): ' + '; '.join(
        '%s r%d: %d requests, walk %.2f s wall, %.3f CPU-s' % (n.split(' (')[1].rstrip(')'), r, m['requests'],
                                                               m['walk_wall'], m['walk_cpu'])
        for n, r, m in extra))
