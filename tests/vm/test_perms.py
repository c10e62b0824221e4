"""SET_CASE needs CAP_NET_ADMIN over the user namespace owning the netns."""

from conftest import NOBODY, assert_error, nlctl, ok, run, zero_stats

UNSHARE_NET = ["unshare", "-Urn"]
UNSHARE_USER_ONLY = ["unshare", "-Ur"]


def test_unprivileged_set_mode_denied():
    res = nlctl("set-mode", "upper", prefix=NOBODY)
    assert_error(res, 4)
    assert ok("get-mode") == {"mode": "none"}


def test_unprivileged_read_commands_work():
    ok("set-mode", "lower")
    assert ok("echo", "ABC", prefix=NOBODY) == {"msg": "abc", "mode": "lower"}
    assert ok("get-mode", prefix=NOBODY) == {"mode": "lower"}
    assert ok("stats", prefix=NOBODY) == {**zero_stats("lower"), "echo_requests": 1,
                                          "echo_bytes": 3, "chars_converted": 3,
                                          "mode_changes": 1}
    info = ok("info", prefix=NOBODY)
    assert info["name"] == "genl_echo"


def test_dropped_cap_net_admin_denied():
    """root without CAP_NET_ADMIN is denied too."""
    res = nlctl("set-mode", "upper",
                prefix=["setpriv", "--inh-caps=-all", "--bounding-set=-net_admin"])
    assert_error(res, 4)
    assert ok("get-mode") == {"mode": "none"}


def test_userns_root_in_own_netns():
    res = nlctl("set-mode", "upper", prefix=UNSHARE_NET)
    assert res.rc == 0, res
    assert res.json == {"mode": "upper", "previous": "none"}
    assert ok("get-mode") == {"mode": "none"}
    assert ok("stats") == zero_stats()


def test_userns_root_sees_own_state():
    r = run([*UNSHARE_NET, "sh", "-c",
             "nlctl set-mode lower >/dev/null && nlctl echo ABC && nlctl stats"])
    assert r.rc == 0, r
    echo, stats = r.out.splitlines()
    import json
    assert json.loads(echo) == {"msg": "abc", "mode": "lower"}
    assert json.loads(stats) == {**zero_stats("lower"), "echo_requests": 1, "echo_bytes": 3,
                                 "chars_converted": 3, "mode_changes": 1}


def test_unprivileged_user_creates_userns_and_netns():
    """nobody -> unshare -Urn: owns that netns, may set its mode."""
    res = nlctl("set-mode", "upper", prefix=[*NOBODY, *UNSHARE_NET])
    assert res.rc == 0, res
    assert res.json == {"mode": "upper", "previous": "none"}
    assert ok("get-mode") == {"mode": "none"}


def test_userns_root_cannot_set_initial_netns():
    res = nlctl("set-mode", "upper", prefix=UNSHARE_USER_ONLY)
    assert_error(res, 4)
    assert ok("get-mode") == {"mode": "none"}
    assert ok("stats") == zero_stats()


def test_userns_root_can_read_initial_netns():
    ok("set-mode", "upper")
    assert ok("echo", "abc", prefix=UNSHARE_USER_ONLY) == {"msg": "ABC", "mode": "upper"}
    assert ok("get-mode", prefix=UNSHARE_USER_ONLY) == {"mode": "upper"}


def test_permission_error_line():
    line = assert_error(nlctl("set-mode", "lower", prefix=NOBODY), 4)
    assert "permission" in line.lower() or "EPERM" in line, line
