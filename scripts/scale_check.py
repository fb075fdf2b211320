"""make scale-check: two app servers behind a real load balancer, sharing PostgreSQL, Redis and storage.

Starts, all on loopback: two gunicorn instances of the app, one job worker, and HAProxy (Debian's) in
front of them with health checks on /healthz and retries. Then proves, and prints, that

  1. a lockout made through one instance holds on the other (django-axes counts in the database);
  2. a throttle counts requests across both (DRF's throttles count in the shared Redis cache);
  3. a job enqueued by an instance is run by the worker (a packet print; no instance renders it);
  4. a packet rendered through one instance is served from the shared print cache by the other;
  5. killing one instance loses no request the balancer can retry.

It exits non-zero when any check fails. Before the last check it measures the portal's case list through
HAProxy with one instance in service and then with both, and prints the ratio (target 1.7×) beside the
cores the machine has: with too few cores for two instances, the reason. `wrk` drives the load when it is
installed, else a Python client with threads (SCALE_SECONDS per measure, default 10; SCALE_CONNECTIONS, 8).

Needs: DATABASE_URL (PostgreSQL; a database `<name>_scale` beside it is created afresh), Redis at
SCALE_REDIS_URL (default redis://127.0.0.1:6379/13), haproxy.
"""

import http.client
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path
from urllib.parse import urlencode, urlparse

ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable
FAILURE_LIMIT = 3
USER_RATE = 30  # API requests per minute per user, for the throttle check
GUNICORN_WORKERS = 2  # per instance
MEASURE_SECONDS = float(os.environ.get("SCALE_SECONDS", "10"))
MEASURE_CONNECTIONS = int(os.environ.get("SCALE_CONNECTIONS", "8"))
THROUGHPUT_TARGET = 1.7


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def scale_database_url() -> str:
    base = os.environ.get("DATABASE_URL", "")
    if not base.startswith("postgres"):
        sys.exit("scale-check needs DATABASE_URL pointing at PostgreSQL (several instances share it).")
    url = urlparse(base)
    name = f"{url.path.lstrip('/') or 'tumorboard'}_scale"
    import psycopg2

    admin = psycopg2.connect(
        dbname="postgres", user=url.username, password=url.password, host=url.hostname, port=url.port or 5432
    )
    admin.autocommit = True
    with admin.cursor() as cursor:
        cursor.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        cursor.execute(f'CREATE DATABASE "{name}"')
    admin.close()
    return url._replace(path=f"/{name}").geturl()


class Stack:
    """The processes of the check; all stopped at the end, whatever happens."""

    def __init__(self, workdir: Path):
        self.workdir = workdir
        self.processes: dict[str, subprocess.Popen] = {}
        self.redis_url = os.environ.get("SCALE_REDIS_URL", "redis://127.0.0.1:6379/13")
        self.env = {
            **{k: v for k, v in os.environ.items() if not k.startswith(("TUMORBOARD_", "DJANGO_", "REDIS_URL"))},
            "DATABASE_URL": scale_database_url(),
            "DJANGO_SECRET_KEY": "scale-check-only-" + os.urandom(8).hex(),
            "TUMORBOARD_AUDIT_KEY": "scale-check-only-" + os.urandom(16).hex(),
            "DJANGO_SECURE_SSL_REDIRECT": "0",
            "DJANGO_ALLOWED_HOSTS": "127.0.0.1,localhost",
            "REDIS_URL": self.redis_url,
            "TUMORBOARD_JOBS_BROKER": self.redis_url,
            "TUMORBOARD_PRINT_CACHE_DIR": str(workdir / "print-cache"),
            "DJANGO_MEDIA_ROOT": str(workdir / "media"),
            "TUMORBOARD_VAR_DIR": str(workdir / "var"),
            "TUMORBOARD_LOGIN_FAILURE_LIMIT": str(FAILURE_LIMIT),
            "TUMORBOARD_API_USER_RATE": f"{USER_RATE}/min",
            "TUMORBOARD_API_LOGIN_RATE": "100/min",
            "TUMORBOARD_TRUST_X_FORWARDED_FOR": "1",
            "TUMORBOARD_PRINT_WORKERS": "1",
            "TUMORBOARD_PRINT_JOB_WAIT_SECONDS": "60",
            "DJANGO_LOG_LEVEL": "WARNING",
        }
        self.ports = {"a": free_port(), "b": free_port(), "lb": free_port()}

    def manage(self, *args: str) -> None:
        subprocess.run([PYTHON, "manage.py", *args], cwd=ROOT, env=self.env, check=True, stdout=subprocess.DEVNULL)

    def start(self, name: str, command: list[str]) -> None:
        log = open(self.workdir / f"{name}.log", "wb")  # noqa: SIM115 - closed with the process
        self.processes[name] = subprocess.Popen(
            command, cwd=ROOT, env=self.env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )

    def start_instance(self, name: str) -> None:
        self.start(
            name,
            [PYTHON, "-m", "gunicorn", "tumorboard.wsgi", "--bind", f"127.0.0.1:{self.ports[name]}"]
            + ["--workers", str(GUNICORN_WORKERS), "--timeout", "120", "--graceful-timeout", "5"],
        )

    def start_balancer(self) -> None:
        config = self.workdir / "haproxy.cfg"
        config.write_text(
            f"""global
    maxconn 512
    stats socket {self.workdir / "haproxy.sock"} mode 600 level admin
defaults
    mode http
    timeout connect 2s
    timeout client 90s
    timeout server 90s
    # A health check waits behind the requests a busy instance's workers are serving: with the 500 ms default
    # (the check interval) a saturated but healthy instance was marked down, and the balancer answered 503.
    timeout check 5s
    retries 3
    option redispatch 1
    option forwardfor
    # A request whose server vanished (connection refused or reset before an answer) goes to the other.
    retry-on conn-failure empty-response response-timeout
frontend web
    bind 127.0.0.1:{self.ports["lb"]}
    default_backend app
backend app
    balance roundrobin
    http-request disable-l7-retry if METH_POST
    option httpchk GET /healthz
    http-check expect status 200
    server a 127.0.0.1:{self.ports["a"]} check inter 500 fall 2 rise 1
    server b 127.0.0.1:{self.ports["b"]} check inter 500 fall 2 rise 1
"""
        )
        self.start("haproxy", [shutil.which("haproxy") or "/usr/sbin/haproxy", "-db", "-f", str(config)])

    def balancer(self, command: str) -> str:
        """A command on HAProxy's runtime API (its admin socket)."""
        with socket.socket(socket.AF_UNIX) as sock:
            sock.connect(str(self.workdir / "haproxy.sock"))
            sock.sendall(command.encode() + b"\n")
            answer = b""
            while chunk := sock.recv(65536):
                answer += chunk
        return answer.decode()

    def in_service(self, server: str, serving: bool) -> None:
        """Take an instance out of the balancer's rotation, or put it back and wait until HAProxy sends it requests."""
        self.balancer(f"{'enable' if serving else 'disable'} server app/{server}")
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            row = next(line for line in self.balancer("show stat").splitlines() if line.startswith(f"app,{server},"))
            state = row.split(",")[17]
            if (state == "UP") == serving:
                return
            time.sleep(0.2)
        raise RuntimeError(f"HAProxy did not {'enable' if serving else 'disable'} {server}")

    def url(self, name: str, path: str) -> str:
        return f"http://127.0.0.1:{self.ports[name]}{path}"

    def wait_ready(self, name: str, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                if request("GET", self.url(name, "/healthz"))[0] == 200:
                    return
            except OSError:
                pass
            if name in self.processes and self.processes[name].poll() is not None:
                break
            time.sleep(0.2)
        raise RuntimeError(f"{name} did not start; see {self.workdir / (name + '.log')}")

    def kill(self, name: str) -> None:
        process = self.processes[name]
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()

    def stop_all(self) -> None:
        for process in self.processes.values():
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
        for process in self.processes.values():
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)


def request(method: str, url: str, *, body: dict | None = None, token: str = "", timeout: float = 90):
    data = json.dumps(body).encode() if body is not None else None
    headers = {"Content-Type": "application/json"} if data else {}
    if token:
        headers["Authorization"] = f"Token {token}"
    req = urllib.request.Request(url, data=data, method=method, headers=headers)
    try:
        with urllib.request.urlopen(req, timeout=timeout) as response:
            return response.status, response.read(), dict(response.headers)
    except urllib.error.HTTPError as error:
        try:
            return error.code, error.read(), dict(error.headers)
        except http.client.HTTPException:
            return error.code, b"", dict(error.headers)


def token_for(stack: Stack, instance: str, username: str) -> str:
    status, body, _ = request(
        "POST", stack.url(instance, "/api/v1/auth/token/"), body={"username": username, "password": "tumorboard-demo"}
    )
    if status != 200:
        raise RuntimeError(f"sign-in of {username} through {instance}: {status} {body[:200]!r}")
    return json.loads(body)["token"]


# The checks ------------------------------------------------------------------------------------


def check_lockout(stack: Stack) -> str:
    answers = [
        request("POST", stack.url("a", "/api/v1/auth/token/"), body={"username": "radonc", "password": "wrong-guess"})
        for _ in range(FAILURE_LIMIT)
    ]
    assert [answer[0] for answer in answers[:-1]] == [401] * (FAILURE_LIMIT - 1), [a[:2] for a in answers]
    status, body, headers = request(
        "POST", stack.url("b", "/api/v1/auth/token/"), body={"username": "radonc", "password": "tumorboard-demo"}
    )
    assert status != 200, f"the right password was accepted on b after {FAILURE_LIMIT} failures on a"
    code = json.loads(body or b"{}").get("code")
    assert (status, code) == (429, "locked_out"), f"b answered {status} {body[:200]!r}, not the lockout"
    assert int(headers.get("Retry-After", 0)) > 0, f"the lockout on b gives no Retry-After: {headers}"
    return (
        f"{FAILURE_LIMIT} failed sign-ins on a; the right password on b is refused: 429 locked_out, "
        f"Retry-After {headers['Retry-After']} s"
    )


def check_throttle(stack: Stack) -> str:
    token = token_for(stack, "a", "nephrologist")
    answers = []
    for n in range(USER_RATE + 1):
        answers.append(request("GET", stack.url("ab"[n % 2], "/api/v1/boards/"), token=token)[0])
    assert answers[:USER_RATE] == [200] * USER_RATE, answers
    assert answers[USER_RATE] == 429, answers
    return f"{USER_RATE} requests alternating a/b answered 200; request {USER_RATE + 1} got 429"


def _meeting_id() -> int:
    """The demo meeting with the longest agenda (the coordinator sees every demo board)."""
    return _query("SELECT meeting_id FROM cases_agendaitem GROUP BY meeting_id ORDER BY count(*) DESC LIMIT 1")[0][0]


def check_job_and_cache(stack: Stack) -> list[str]:
    token = token_for(stack, "a", "coordinator")
    meeting = _meeting_id()
    started = time.monotonic()
    status, body, headers = request("GET", stack.url("a", f"/api/v1/meetings/{meeting}/packet.pdf"), token=token)
    cold = time.monotonic() - started
    assert status == 200 and body[:5] == b"%PDF-", f"packet through a: {status} {body[:200]!r}"
    jobs = _query("SELECT worker, status FROM cases_job WHERE kind = 'packet.render' ORDER BY id")
    assert jobs and jobs[-1][1] == "done", jobs
    worker = jobs[-1][0]
    assert worker.split(":")[1] == str(stack.processes["worker"].pid), f"rendered by {worker}, not the worker"
    started = time.monotonic()
    status, body, _ = request("GET", stack.url("b", f"/api/v1/meetings/{meeting}/packet.pdf"), token=token)
    warm = time.monotonic() - started
    assert status == 200 and body[:5] == b"%PDF-"
    last = _query("SELECT changes FROM cases_auditevent WHERE action = 'meeting.print' ORDER BY id DESC LIMIT 1")[0][0]
    assert (json.loads(last) if isinstance(last, str) else last)["from_cache"] is True
    assert len(_query("SELECT id FROM cases_job WHERE kind = 'packet.render'")) == len(jobs)
    return [
        f"the packet asked of a was rendered by the worker (pid {stack.processes['worker'].pid}) in {cold:.2f} s",
        f"the same packet through b came from the shared print cache in {warm * 1000:.0f} ms, no new job",
    ]


# An answer cut off in mid-body when its server dies: the balancer had already passed its first bytes on, so
# neither it nor any balancer can send the request elsewhere. The client sees a short read (a GET it may repeat).
CUT_MID_ANSWER = {"IncompleteRead", "RemoteDisconnected", "ConnectionResetError"}


# The throughput of two instances against one ---------------------------------------------------


def _cookies(response) -> dict[str, str]:
    return {
        header.split("=", 1)[0]: header.split("=", 1)[1].split(";", 1)[0]
        for header in response.headers.get_all("Set-Cookie") or []
    }


def portal_session(stack: Stack, username: str) -> str:
    """Sign in through the portal's form (the cookies are Secure, so they are carried by hand over loopback)."""
    connection = http.client.HTTPConnection("127.0.0.1", stack.ports["lb"], timeout=30)
    connection.request("GET", "/login/")
    response = connection.getresponse()
    page, cookies = response.read().decode(), _cookies(response)
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page)[1]
    form = urlencode({"csrfmiddlewaretoken": token, "username": username, "password": "tumorboard-demo"})
    cookie = "; ".join(f"{name}={value}" for name, value in cookies.items())
    connection.request(
        "POST", "/login/", body=form, headers={"Content-Type": "application/x-www-form-urlencoded", "Cookie": cookie}
    )
    response = connection.getresponse()
    response.read()
    cookies |= _cookies(response)
    if response.status != 302 or "sessionid" not in cookies:
        raise RuntimeError(f"portal sign-in of {username}: {response.status}")
    return f"sessionid={cookies['sessionid']}"


def load_with_threads(url: str, cookie: str, seconds: float) -> tuple[int, list]:
    """Keep-alive GETs from MEASURE_CONNECTIONS threads for `seconds`: (answers 200, anything else)."""
    target = urlparse(url)
    done, failed, stop = [0] * MEASURE_CONNECTIONS, [], threading.Event()

    def client(slot: int) -> None:
        connection = http.client.HTTPConnection(target.hostname, target.port, timeout=60)
        while not stop.is_set():
            try:
                connection.request("GET", target.path, headers={"Cookie": cookie})
                response = connection.getresponse()
                response.read()
                if response.status == 200:
                    done[slot] += 1
                else:
                    failed.append(response.status)
            except (OSError, http.client.HTTPException) as error:
                failed.append(type(error).__name__)
                connection.close()
                connection = http.client.HTTPConnection(target.hostname, target.port, timeout=60)

    threads = [threading.Thread(target=client, args=(slot,)) for slot in range(MEASURE_CONNECTIONS)]
    for thread in threads:
        thread.start()
    time.sleep(seconds)
    stop.set()
    for thread in threads:
        thread.join()
    return sum(done), failed


def requests_per_second(url: str, cookie: str, seconds: float) -> float:
    if shutil.which("wrk"):
        command = ["wrk", "-t2", f"-c{MEASURE_CONNECTIONS}", f"-d{seconds:.0f}s", "-H", f"Cookie: {cookie}", url]
        output = subprocess.run(command, capture_output=True, text=True, check=True).stdout
        errors = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
        assert not errors, f"wrk saw {errors[1]} error answers from {url}"
        return float(re.search(r"Requests/sec:\s+([\d.]+)", output)[1])
    answered, failed = load_with_threads(url, cookie, seconds)
    assert not failed, f"{len(failed)} requests to {url} failed: {failed[:5]}"
    return answered / seconds


def cores() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def measure_throughput(stack: Stack) -> list[str]:
    """The portal's case list (a full page: session, permissions, the read audit) through HAProxy."""
    cookie = portal_session(stack, "coordinator")
    url = stack.url("lb", "/cases/")
    answered, failed = load_with_threads(url, cookie, 0.5)
    assert answered and not failed, f"the case list answered {failed[:3]} to the signed-in coordinator"
    requests_per_second(url, cookie, min(3.0, MEASURE_SECONDS))  # warm both instances
    stack.in_service("b", False)
    try:
        one = requests_per_second(url, cookie, MEASURE_SECONDS)
    finally:
        stack.in_service("b", True)
    two = requests_per_second(url, cookie, MEASURE_SECONDS)
    ratio, have = two / one, cores()
    tool = "wrk" if shutil.which("wrk") else "a Python client with threads"
    lines = [
        f"case list through HAProxy ({tool}, {MEASURE_CONNECTIONS} connections, {MEASURE_SECONDS:.0f} s each): "
        f"one instance {one:.1f} req/s, two instances {two:.1f} req/s: {ratio:.2f}x (target {THROUGHPUT_TARGET}x); "
        f"{have} core(s)"
    ]
    # Each instance runs GUNICORN_WORKERS processes; the load client, PostgreSQL and HAProxy need a core too.
    needed = 2 * GUNICORN_WORKERS + 1
    if ratio < THROUGHPUT_TARGET and have < needed:
        lines.append(
            f"below target for want of cores: one instance's {GUNICORN_WORKERS} workers can already keep "
            f"{min(have, GUNICORN_WORKERS)} of the {have} core(s) busy, and the load client, PostgreSQL and HAProxy "
            f"share them too; two instances need {needed} cores to show their throughput"
        )
    elif ratio < THROUGHPUT_TARGET:
        lines.append(f"BELOW TARGET with {have} cores: look at PostgreSQL (shared by both) and the load client")
    return lines


def check_kill(stack: Stack) -> str:
    # The sign-in page: a full Django request (session, CSRF, template) that no throttle limits.
    results, stop, clients = [], threading.Event(), 4

    def client():
        while not stop.is_set():
            started = time.monotonic()
            try:
                outcome = request("GET", stack.url("lb", "/login/"), timeout=30)[0]
            except (OSError, http.client.HTTPException) as error:
                outcome = type(error).__name__
            results.append((outcome, started, time.monotonic()))

    threads = [threading.Thread(target=client) for _ in range(clients)]
    for thread in threads:
        thread.start()
    time.sleep(3)
    before = len(results)
    killed_at = time.monotonic()
    stack.kill("a")
    time.sleep(5)
    stop.set()
    for thread in threads:
        thread.join()

    # Only a request in flight at the kill may come back cut; every other one must be answered, by b if need be.
    def cut_at_kill(outcome, started, ended) -> bool:
        return outcome in CUT_MID_ANSWER and started <= killed_at + 0.5 and ended >= killed_at

    cut = [r[0] for r in results if cut_at_kill(*r)]
    lost = [r[0] for r in results if r[0] != 200 and not cut_at_kill(*r)]
    assert not lost and len(cut) <= clients, f"{len(lost) + len(cut)} of {len(results)} requests failed: {lost[:5]}"
    return (
        f"{len(results)} requests through HAProxy, instance a killed after {before}: "
        f"{len(results) - len(cut)} answered 200, {len(cut)} cut mid-answer at the kill (already under way: "
        "no balancer can resend those), none lost"
    )


def _query(sql: str) -> list[tuple]:
    import psycopg2

    url = urlparse(os.environ["SCALE_DATABASE_URL"])
    with (
        psycopg2.connect(
            dbname=url.path.lstrip("/"), user=url.username, password=url.password, host=url.hostname, port=url.port
        ) as connection,
        connection.cursor() as cursor,
    ):
        cursor.execute(sql)
        return cursor.fetchall()


def main() -> int:
    workdir = Path(tempfile.mkdtemp(prefix="tb-scale-"))
    stack = Stack(workdir)
    os.environ["SCALE_DATABASE_URL"] = stack.env["DATABASE_URL"]
    import redis

    redis.Redis.from_url(stack.redis_url).flushdb()
    print(f"scale-check: PostgreSQL {urlparse(stack.env['DATABASE_URL']).path[1:]}, Redis {stack.redis_url}, {workdir}")
    stack.manage("migrate", "--noinput")
    stack.manage("load_demo", "--force")
    failures = 0
    try:
        for name in ("a", "b"):
            stack.start_instance(name)
        stack.start("worker", [PYTHON, "manage.py", "jobs_worker"])
        stack.start_balancer()
        for name in ("a", "b", "lb"):
            stack.wait_ready(name)
        checks = [
            ("lockout holds across instances", check_lockout),
            ("throttle counts across instances", check_throttle),
            ("jobs run by the worker; cache shared", check_job_and_cache),
            ("throughput, two instances against one", measure_throughput),
            ("killing an instance loses no request", check_kill),
        ]
        for title, check in checks:
            try:
                lines = check(stack)
                for line in [lines] if isinstance(lines, str) else lines:
                    print(f"  ok    {title}: {line}")
            except (AssertionError, RuntimeError, OSError, KeyError, IndexError) as error:
                failures += 1
                print(f"  FAIL  {title}: {error}")
    finally:
        stack.stop_all()
    if failures:
        print(f"scale-check: {failures} check(s) failed; logs in {workdir}")
        return 1
    shutil.rmtree(workdir, ignore_errors=True)
    print("scale-check: all checks passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
