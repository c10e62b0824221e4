"""Per network namespace state: mode and counters are isolated."""

import genl
from conftest import nlctl, ok, run, zero_stats


def test_two_namespaces_isolated(netns):
    netns("a")
    netns("b")
    assert ok("--netns", "a", "set-mode", "upper") == {"mode": "upper", "previous": "none"}
    assert ok("--netns", "b", "set-mode", "lower") == {"mode": "lower", "previous": "none"}
    assert ok("--netns", "a", "echo", "MiXed") == {"msg": "MIXED", "mode": "upper"}
    assert ok("--netns", "b", "echo", "MiXed") == {"msg": "mixed", "mode": "lower"}
    assert ok("--netns", "b", "echo", "Hi") == {"msg": "hi", "mode": "lower"}
    assert ok("echo", "MiXed") == {"msg": "MiXed", "mode": "none"}

    assert ok("--netns", "a", "get-mode") == {"mode": "upper"}
    assert ok("--netns", "b", "get-mode") == {"mode": "lower"}
    assert ok("get-mode") == {"mode": "none"}

    assert ok("--netns", "a", "stats") == {"mode": "upper", "echo_requests": 1, "echo_bytes": 5,
                                           "chars_converted": 3, "mode_changes": 1, "rejected": 0}
    assert ok("--netns", "b", "stats") == {"mode": "lower", "echo_requests": 2, "echo_bytes": 7,
                                           "chars_converted": 3, "mode_changes": 1, "rejected": 0}
    assert ok("stats") == {**zero_stats(), "echo_requests": 1, "echo_bytes": 5}


def test_netns_by_path(netns):
    netns("p")
    assert ok("--netns", "/run/netns/p", "set-mode", "lower") == {"mode": "lower", "previous": "none"}
    assert ok("--netns", "p", "get-mode") == {"mode": "lower"}
    assert ok("get-mode") == {"mode": "none"}


def test_netns_option_equals_ip_netns_exec(netns):
    netns("x")
    ok("--netns", "x", "set-mode", "upper")
    r = run(["ip", "netns", "exec", "x", "nlctl", "get-mode"])
    assert r.rc == 0, r
    assert r.json == {"mode": "upper"}


def test_new_netns_starts_fresh(netns):
    ok("set-mode", "upper")
    ok("echo", "abc")
    netns("fresh")
    assert ok("--netns", "fresh", "stats") == zero_stats()


def test_netns_state_freed_and_recreated(netns):
    """Deleting a namespace and making one of the same name gives fresh state."""
    netns("again")
    ok("--netns", "again", "set-mode", "upper")
    assert run(["ip", "netns", "del", "again"]).rc == 0
    netns("again")
    assert ok("--netns", "again", "stats") == zero_stats()


def test_unknown_netns():
    res = nlctl("--netns", "does-not-exist", "get-mode")
    assert res.rc == 1, res
    assert res.out == "", res
    assert res.err.startswith("nlctl: "), res


def test_many_namespaces(netns):
    names = [netns(f"n{i}") for i in range(8)]
    modes = ["none", "upper", "lower"]
    for i, n in enumerate(names):
        m = modes[i % 3]
        ok("--netns", n, "set-mode", m)
    for i, n in enumerate(names):
        assert ok("--netns", n, "get-mode") == {"mode": modes[i % 3]}
    assert ok("get-mode") == {"mode": "none"}


def test_raw_socket_in_netns(netns):
    """The state is keyed by the socket's netns, not the caller's."""
    netns("r")
    import multiprocessing

    def child(q):
        genl.in_netns("r")
        with genl.GenlSocket() as s:
            q.put(s.set_case(genl.MODE_LOWER))

    q = multiprocessing.Queue()
    p = multiprocessing.Process(target=child, args=(q,))
    p.start()
    p.join(60)
    assert p.exitcode == 0
    assert q.get(timeout=5) == (genl.MODE_LOWER, genl.MODE_NONE)
    assert ok("--netns", "r", "get-mode") == {"mode": "lower"}
    assert ok("get-mode") == {"mode": "none"}
