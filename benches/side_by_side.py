#!/usr/bin/env python3
"""Two (or more) slawatch binaries side by side: CPU per HTTP check, per thread.

    python3 benches/side_by_side.py OLD/slawatch NEW/slawatch    # WIN=30 N=300 ROUNDS=3

Starts one nginx (Debian's, as the benches use) on 127.0.0.1 with a free port,
then for each round runs every binary given at the same time, each a `slawatch run`
with N `[[http]]` probes at 3 s against that nginx (a new connection per check, as
in `cargo bench --bench blackbox`), waits 5 s, and measures over WIN seconds: CPU of
the process (`/proc/PID/stat`, clock ticks) and of each thread
(`/proc/PID/task/TID/schedstat`, nanoseconds; `main` is the thread that runs
`block_on`, `slawatch` the tokio workers, `slawatch-store` the writer) per check
its own `/metrics` counter reports, and each thread's voluntary context switches a
second. Running the binaries at the same time puts them under the same load, so
a busy machine moves both alike. Loopback only. Prints a line per binary per round.
"""
import os, re, shutil, socket, subprocess, sys, tempfile, time, urllib.request

TCK = os.sysconf("SC_CLK_TCK")
N = int(os.environ.get("N", "300"))
WIN = float(os.environ.get("WIN", "30"))
ROUNDS = int(os.environ.get("ROUNDS", "3"))


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_nginx(d):
    port = free_port()
    os.makedirs(f"{d}/tmp")
    with open(f"{d}/nginx.conf", "w") as f:
        f.write(
            f"worker_processes 1; daemon off; error_log {d}/error.log; pid {d}/nginx.pid;\n"
            "events { worker_connections 1024; }\n"
            f"http {{ access_log off; keepalive_timeout 0; client_body_temp_path {d}/tmp;\n"
            f"proxy_temp_path {d}/tmp; fastcgi_temp_path {d}/tmp; uwsgi_temp_path {d}/tmp;\n"
            f"scgi_temp_path {d}/tmp; server {{ listen 127.0.0.1:{port};\n"
            'location / { default_type text/plain; return 200 "OK"; } } }\n'
        )
    p = subprocess.Popen(["nginx", "-c", f"{d}/nginx.conf", "-p", d])
    for _ in range(100):
        try:
            socket.create_connection(("127.0.0.1", port), 0.1).close()
            return p, port
        except OSError:
            time.sleep(0.05)
    sys.exit("nginx did not start")


def threads(pid):
    r = {}
    for t in os.listdir(f"/proc/{pid}/task"):
        try:
            comm = open(f"/proc/{pid}/task/{t}/comm").read().strip()
            st = open(f"/proc/{pid}/task/{t}/status").read()
            v = int(re.search(r"voluntary_ctxt_switches:\s+(\d+)", st).group(1))
            ns = int(open(f"/proc/{pid}/task/{t}/schedstat").read().split()[0])
            r[t] = ("main" if t == str(pid) else comm, ns, v)
        except (OSError, AttributeError):
            pass
    return r


def ticks(pid):
    f = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
    return int(f[11]) + int(f[12])


def checks(port):
    body = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics").read().decode()
    return sum(
        int(float(m.group(1)))
        for m in re.finditer(r"^slawatch_probe_checks_total\{[^}]*\} (\S+)", body, re.M)
    )


def main():
    bins = sys.argv[1:]
    if not bins:
        sys.exit(__doc__)
    work = tempfile.mkdtemp(prefix="side-by-side-")
    nginx, port = start_nginx(f"{work}/nginx")
    try:
        for r in range(ROUNDS):
            procs = []
            for k, b in enumerate(bins):
                d = f"{work}/r{r}-{k}"
                os.makedirs(d)
                mport = free_port()
                probes = "".join(
                    f'[[http]]\nname = "p{i}"\nurl = "http://127.0.0.1:{port}/"\nexpect_body = "OK"\n\n'
                    for i in range(N)
                )
                with open(f"{d}/probes.toml", "w") as f:
                    f.write(
                        '[daemon]\ndatabase = "bench.db"\nvantage = "bench"\ninterval = "3s"\n'
                        f'timeout = "2s"\nretry_interval = "1s"\nmetrics_listen = "127.0.0.1:{mport}"\n\n'
                        + probes
                    )
                p = subprocess.Popen(
                    [b, "run", "--config", f"{d}/probes.toml"],
                    env=dict(os.environ, RUST_LOG="warn"),
                    stdout=subprocess.DEVNULL,
                    stderr=open(f"{d}/daemon.log", "w"),
                )
                procs.append((b, p, mport))
            time.sleep(5)
            before = [(ticks(p.pid), threads(p.pid), checks(m)) for _, p, m in procs]
            time.sleep(WIN)
            after = [(ticks(p.pid), threads(p.pid), checks(m)) for _, p, m in procs]
            for (b, p, _), (c0, t0, n0), (c1, t1, n1) in zip(procs, before, after):
                n = max(n1 - n0, 1)
                per = {}
                for t, (name, ns, v) in t1.items():
                    if t in t0:
                        a, w = per.get(name, (0, 0))
                        per[name] = (a + ns - t0[t][1], w + v - t0[t][2])
                detail = "  ".join(
                    f"{k} {ns / 1e3 / n:.1f} us, {v / WIN:.0f} cs/s" for k, (ns, v) in sorted(per.items())
                )
                print(
                    f"round {r + 1}  {b}  checks {n1 - n0}  CPU/check {(c1 - c0) * 1e6 / TCK / n:.1f} us  | {detail}",
                    flush=True,
                )
                p.terminate()
                p.wait()
    finally:
        nginx.terminate()
        nginx.wait()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
