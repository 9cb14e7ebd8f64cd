#!/usr/bin/env python3
"""Memory and CPU of the real coopnocd polling the simulated 10,000-line network. Run by
daemon-rss.sh, which builds the binaries; see bench/README.md ("Daemon memory").

Usage: daemon_rss.py BIN_DIR [--cycles N] [--status-interval 10s] [--labels-interval 1m]
                             [--slow-interval 1m] [--base-port P] [--latency-ms N] [--keep]

1. `coopnoc-sim bench` (8 OLTs of 1,250 ONUs, 100 radios) in its own process.
2. A config for its 108 devices (state directory and control socket in a temp dir, optics on)
   and `coopnocd --config` on it, as a real process.
3. 10,000 lines imported with `coopnoc import lines.csv`: one per ONU, matched by ifAlias
   (the bench OLTs label their ONU interfaces L-00001... in device order, 1,250 each).
4. After a warm-up (every device polled twice, labels included), the daemon polls on its own
   schedule for N status intervals; VmRSS is sampled every 0.5 s. CPU = utime+stime of the
   daemon from /proc/PID/stat; a cycle = as many polls as there are SNMP devices.
"""
import argparse, json, os, shutil, signal, subprocess, sys, tempfile, time

TCK = os.sysconf('SC_CLK_TCK')


def status_kib(pid):
    """VmRSS, VmHWM, RssAnon of the process, in KiB."""
    out = {}
    with open('/proc/%d/status' % pid) as f:
        for line in f:
            k, _, v = line.partition(':')
            if k in ('VmRSS', 'VmHWM', 'RssAnon'):
                out[k] = int(v.split()[0])
    return out


def cpu_s(pid):
    with open('/proc/%d/stat' % pid) as f:
        rest = f.read().rsplit(')', 1)[1].split()
    return (int(rest[11]) + int(rest[12])) / TCK


def seconds(text):
    units = {'s': 1, 'm': 60, 'h': 3600}
    return float(text[:-1]) * units[text[-1]] if text[-1] in units else float(text)


class Bench:
    def __init__(self, a):
        self.a = a
        self.bin = a.bin_dir
        self.dir = tempfile.mkdtemp(prefix='coopnoc-rss.')
        self.procs = []
        self.socket = os.path.join(self.dir, 'ctl.sock')

    def close(self):
        for p in reversed(self.procs):
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
                try:
                    p.wait(15)
                except subprocess.TimeoutExpired:
                    p.kill()
                    p.wait()
        if self.a.keep:
            print('kept %s' % self.dir, file=sys.stderr)
        else:
            shutil.rmtree(self.dir, ignore_errors=True)

    def start_sim(self):
        cmd = [os.path.join(self.bin, 'coopnoc-sim'), 'bench', '--base-port', str(self.a.base_port)]
        if self.a.latency_ms is not None:
            cmd += ['--latency-ms', str(self.a.latency_ms)]
        sim = subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True)
        self.procs.append(sim)
        devices = []
        for line in sim.stdout:
            if line.startswith('# ') and ' devices, ' in line:
                print('coopnoc-sim (pid %d): %s' % (sim.pid, line[2:].strip()), file=sys.stderr)
                return devices
            f = line.rstrip('\n').split('\t')
            if not line.startswith('#') and len(f) >= 5:
                devices.append(dict(name=f[0], kind=f[1], address=f[2], community=f[3], lines=int(f[4])))
        raise SystemExit('coopnoc-sim ended before listing its devices')

    def write_config(self, devices):
        a = self.a
        t = ('[daemon]\nstate-directory = "%s"\ntime-zone = "UTC"\nlog-level = "warn"\n'
             '[ctl]\nsocket = "%s"\n[http]\nenabled = false\n[reports]\nenabled = false\n'
             '[poll]\nstatus-interval = "%s"\nlabels-interval = "%s"\nslow-interval = "%s"\noptics = true\n'
             '[[site]]\nname = "bench"\n') % (self.dir, self.socket, a.status_interval, a.labels_interval, a.slow_interval)
        for d in devices:
            t += ('[[device]]\nname = "%s"\nsite = "bench"\nkind = "%s"\naddress = "%s"\n'
                  'snmp = { version = "2c", community = "%s" }\n') % (d['name'], d['kind'], d['address'], d['community'])
        path = os.path.join(self.dir, 'coopnoc.toml')
        with open(path, 'w') as f:
            f.write(t)
        return path

    def write_lines(self, devices):
        """One line per ONU: the bench OLTs number their ifAlias labels on from L-00001, in
        the order the sim lists them (coopnoc-sim's presets::bench)."""
        path = os.path.join(self.dir, 'lines.csv')
        n = 0
        with open(path, 'w') as f:
            f.write('ref,kind,match,key,device,member,description\n')
            for d in devices:
                if d['kind'] != 'olt':
                    continue
                for _ in range(d['lines']):
                    n += 1
                    f.write('L-%05d,fibre,ifalias,L-%05d,%s,,\n' % (n, n, d['name']))
        return path, n

    def cli(self, *args):
        out = subprocess.run([os.path.join(self.bin, 'coopnoc'), '--socket', self.socket, '--json'] + list(args),
                             capture_output=True, text=True, timeout=120)
        if out.returncode != 0:
            raise SystemExit('coopnoc %s failed: %s' % (' '.join(args), out.stderr.strip()))
        return json.loads(out.stdout)

    def start_daemon(self, config):
        log = open(os.path.join(self.dir, 'coopnocd.log'), 'w')
        d = subprocess.Popen([os.path.join(self.bin, 'coopnocd'), '--config', config], stdout=log, stderr=log)
        self.procs.append(d)
        for _ in range(300):
            if d.poll() is not None:
                raise SystemExit('coopnocd ended (%d): see %s' % (d.returncode, log.name))
            if os.path.exists(self.socket):
                try:
                    self.cli('status')
                    return d
                except SystemExit:
                    pass
            time.sleep(0.1)
        raise SystemExit('coopnocd did not open its control socket within 30 s')

    def polls(self):
        devs = [d for d in self.cli('device', 'list') if d['state'] != 'not-polled']
        return sum(d['polls'] for d in devs), min(d['polls'] for d in devs), len(devs)


def main():
    p = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    p.add_argument('bin_dir')
    p.add_argument('--cycles', type=int, default=12)
    p.add_argument('--status-interval', default='10s')
    p.add_argument('--labels-interval', default='1m')
    p.add_argument('--slow-interval', default='1m')
    p.add_argument('--base-port', type=int, default=17400)
    p.add_argument('--latency-ms', type=int)
    p.add_argument('--keep', action='store_true', help='keep the temp dir (config, log, store)')
    a = p.parse_args()
    b = Bench(a)
    try:
        run(a, b)
    finally:
        b.close()


def run(a, b):
    rows = []

    def row(phase, pid, cycles='', cpu=''):
        s = status_kib(pid)
        rows.append((phase, cycles, s['VmRSS'] / 1024, s['VmHWM'] / 1024, s['RssAnon'] / 1024, cpu))

    devices = b.start_sim()
    daemon = b.start_daemon(b.write_config(devices))
    pid = daemon.pid
    row('control socket up', pid)
    csv, n = b.write_lines(devices)
    t0 = time.monotonic()
    got = b.cli('import', '--kind', 'lines', csv)
    print('imported %d lines in %.1f s: %s' % (n, time.monotonic() - t0, got), file=sys.stderr)
    lines = b.cli('status')['lines']
    row('%d lines imported' % lines, pid)

    # Warm-up: every device's first poll (labels, detection, fresh sessions) and one more.
    interval = seconds(a.status_interval)
    deadline = time.monotonic() + 3 * interval + 60
    while b.polls()[1] < 2:
        if time.monotonic() > deadline:
            raise SystemExit('the devices were not all polled twice within %.0f s' % (deadline - t0))
        time.sleep(1)
    total0, _, ndev = b.polls()
    cpu0 = cpu_s(pid)
    row('warm (every device polled twice)', pid)

    # The measured window: N status intervals on the daemon's own schedule.
    t0 = time.monotonic()
    rss = []
    while time.monotonic() - t0 < a.cycles * interval:
        rss.append(status_kib(pid)['VmRSS'] / 1024)
        time.sleep(0.5)
    total1, _, _ = b.polls()
    cpu1 = cpu_s(pid)
    cycles = (total1 - total0) / ndev
    per_cycle = (cpu1 - cpu0) / cycles if cycles else float('nan')
    row('after %d intervals of %s' % (a.cycles, a.status_interval), pid, '%.1f' % cycles, '%.3f' % per_cycle)

    print()
    print('coopnocd, %d SNMP devices, %d lines; status-interval %s, labels-interval %s, slow-interval %s (optics on)'
          % (ndev, lines, a.status_interval, a.labels_interval, a.slow_interval))
    print()
    print('| phase | cycles | VmRSS MiB | VmHWM MiB | RssAnon MiB | daemon CPU-s per cycle |')
    print('|---|---|---|---|---|---|')
    for r in rows:
        print('| %s | %s | %.1f | %.1f | %.1f | %s |' % r)
    print()
    print('VmRSS during the window: min %.1f, median %.1f, max %.1f MiB (%d samples)'
          % (min(rss), sorted(rss)[len(rss) // 2], max(rss), len(rss)))
    print('daemon CPU: %.2f s over %.1f cycles (%.1f s wall); %.1f polls per cycle'
          % (cpu1 - cpu0, cycles, time.monotonic() - t0, ndev))


if __name__ == '__main__':
    main()
