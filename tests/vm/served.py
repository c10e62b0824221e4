"""genl-echo-probe's long-running commands (`serve`, `async-serve`): a
client and a subscription held open while a test reloads the module, floods
events or forges messages.

The probe prints `ports client=P sub=Q resync=R` first, then `item ...`
lines (one per subscription item, from its own thread or task) and one
`reply ...` line per command written to its stdin (`echo MSG`, `get`,
`set MODE`, `hammer-start`, `hammer-stop`). Each line becomes a dict:
'item event mode=upper previous=none belief=upper' ->
{'_': 'event', 'mode': 'upper', 'previous': 'none', 'belief': 'upper'}.
"""

import os
import queue
import signal
import subprocess
import threading
import time
from pathlib import Path

from conftest import ROOT

CONSUMER = Path(os.environ.get("GENL_ECHO_OUT", ROOT / "tests" / "out")) / "consumer"
PROBE = CONSUMER / "genl-echo-probe"
TOOLS = Path(os.environ.get("GENL_ECHO_OUT", ROOT / "tests" / "out")) / "tools"
LIBSEQLOG = TOOLS / "libseqlog.so"

# The debug kernel runs guest work 2.5-5 times slower.
SLOW = 5 if os.environ.get("GENL_ECHO_DEBUG_TIER") == "1" else 1
WAIT = 30 * SLOW  # seconds for any one line


def parse(text):
    """'event mode=upper previous=none' -> {'_': 'event', 'mode': ...};
    'error kind=Kernel errno=2' -> {'_': 'error', 'kind': 'Kernel errno=2'}."""
    head, _, rest = text.partition(" ")
    d = {"_": head}
    if head == "error":
        d["kind"] = rest.removeprefix("kind=")
        return d
    for w in rest.split(" ") if rest else []:
        k, _, v = w.partition("=")
        d[k] = v
    return d


def stop_process(proc):
    """SIGSTOP, and wait until every thread of the process is stopped."""
    proc.send_signal(signal.SIGSTOP)
    deadline = time.monotonic() + WAIT
    task_dir = Path(f"/proc/{proc.pid}/task")
    states = []
    while time.monotonic() < deadline:
        states = [(t / "stat").read_text().rsplit(")", 1)[1].split()[0]
                  for t in task_dir.iterdir()]
        if all(s in ("T", "t") for s in states):
            return
        time.sleep(0.01)
    raise AssertionError(f"process {proc.pid} not stopped: {states}")


class Serve:
    def __init__(self, command, *args, env=None):
        assert PROBE.is_file(), f"no {PROBE} (tests/build-consumer.sh)"
        self.proc = subprocess.Popen([str(PROBE), command, *map(str, args)],
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE, env=env)
        self.items = queue.Queue()
        self.replies = queue.Queue()
        self.head = queue.Queue()
        self.unexpected = []
        threading.Thread(target=self._read, daemon=True).start()
        line = self.head.get(timeout=WAIT)
        assert line is not None, f"probe ended before its ports line: {self.finish()}"
        self.ports = {k: int(v) for k, v in parse(line).items() if k != "_"}

    def _read(self):
        for raw in self.proc.stdout:
            line = raw.decode().rstrip("\n")
            kind, _, rest = line.partition(" ")
            if kind == "item":
                self.items.put(parse(rest))
            elif kind == "reply":
                self.replies.put(parse(rest))
            elif kind == "ports":
                self.head.put(line)
            else:
                self.unexpected.append(line)
        for q in (self.items, self.replies, self.head):
            q.put(None)

    def cmd(self, line, timeout=WAIT):
        """Writes a command; returns its reply line (dict)."""
        self.proc.stdin.write(line.encode() + b"\n")
        self.proc.stdin.flush()
        try:
            r = self.replies.get(timeout=timeout)
        except queue.Empty:
            raise AssertionError(f"no reply to {line!r} within {timeout} s (a hang)") from None
        assert r is not None, f"probe ended: {self.finish()}"
        return r

    def item(self, timeout=WAIT):
        try:
            it = self.items.get(timeout=timeout)
        except queue.Empty:
            raise AssertionError(f"no subscription item within {timeout} s") from None
        assert it is not None, f"probe ended: {self.finish()}"
        return it

    def no_item(self, seconds=1.0):
        """Asserts that no item comes within SECONDS."""
        try:
            it = self.items.get(timeout=seconds)
        except queue.Empty:
            return
        raise AssertionError(f"unexpected item {it}")

    def stop(self):
        stop_process(self.proc)

    def cont(self):
        self.proc.send_signal(signal.SIGCONT)

    def finish(self, timeout=WAIT):
        """Closes stdin; waits for exit; returns (rc, stderr)."""
        if self.proc.stdin and not self.proc.stdin.closed:
            try:
                self.proc.stdin.close()
            except BrokenPipeError:
                pass
        try:
            rc = self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.kill()
            raise AssertionError("probe did not exit at the end of its input") from None
        return rc, self.proc.stderr.read().decode()

    def kill(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGCONT)
            self.proc.kill()
            self.proc.wait()
