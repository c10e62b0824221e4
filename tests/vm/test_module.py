"""Loading, unloading, autoloading and module metadata."""

import errno
import os
import shutil
from pathlib import Path

import pytest

import genl
from conftest import (IMPL, KO, KVER, ROOT, MODULE, assert_error, load_module, module_loaded, nlctl,
                      ok, run, unload_module, zero_stats)

NOT_LOADED_CMDS = [
    ["echo", "hi"], ["set-mode", "upper"], ["get-mode"], ["stats"], ["info"],
    ["monitor", "--count", "1"],
]


@pytest.mark.module_unloaded
@pytest.mark.parametrize("args", NOT_LOADED_CMDS, ids=lambda a: a[0])
def test_not_loaded_exit_3(args):
    res = nlctl(*args, timeout=60)
    assert_error(res, 3, "not loaded")
    assert not module_loaded()


@pytest.mark.module_unloaded
def test_not_loaded_raw():
    with genl.GenlSocket() as s:
        with pytest.raises(genl.NetlinkError) as ei:
            s.get_family()
    assert ei.value.errno == errno.ENOENT


def test_unload_reload_resets_state():
    ok("set-mode", "upper")
    ok("echo", "abc")
    unload_module()
    assert_error(nlctl("get-mode"), 3, "not loaded")
    load_module()
    assert ok("stats") == zero_stats()


def test_reload_loop():
    for _ in range(10):
        unload_module()
        load_module()
        assert ok("echo", "x") == {"msg": "x", "mode": "none"}


def test_unload_with_open_sockets_and_netns(netns, raw):
    """rmmod while a socket has the family resolved and a netns has state."""
    netns("u")
    ok("--netns", "u", "set-mode", "upper")
    raw.set_case(genl.MODE_LOWER)
    with genl.GenlSocket() as lst:
        lst.get_family()
        lst.join()
        unload_module()
        with pytest.raises(genl.NetlinkError) as ei:
            raw.get_case()
        assert ei.value.errno in (errno.ENOENT, errno.EOPNOTSUPP), ei.value
    load_module()
    assert ok("--netns", "u", "get-mode") == {"mode": "none"}


# modinfo ---------------------------------------------------------------

def modinfo(field):
    r = run(["modinfo", "-F", field, KO], check=True)
    return r.out.strip()


def test_modinfo_fields():
    assert modinfo("description"), "no description"
    assert modinfo("author"), "no author"
    assert modinfo("license") in ("GPL", "GPL v2", "Dual MIT/GPL", "Dual BSD/GPL")
    version = modinfo("version")
    header = (Path(__file__).resolve().parents[2] / "genl-kmod" / "version.h").read_text()
    assert f'"{version}"' in header, (version, header)
    assert modinfo("alias") == "net-pf-16-proto-16-family-genl_echo"


def test_modinfo_vermagic_matches_kernel():
    assert modinfo("vermagic").split()[0] == KVER


def test_sysfs_version():
    assert Path(f"/sys/module/{MODULE}/version").read_text().strip() == modinfo("version")


# autoload --------------------------------------------------------------

def dkms_module():
    """The module as tests/dkms-build.sh installed it through DKMS."""
    inst = Path(os.environ.get("GENL_ECHO_OUT", ROOT / "tests" / "out")) / "dkms" / "install" / KVER
    found = sorted(inst.glob("updates/dkms/genl_echo.ko*"))
    assert found, f"no DKMS-built module under {inst} (tests/dkms-build.sh {KVER})"
    return found[0], "updates/dkms"


@pytest.fixture(scope="module", params=["kbuild", "dkms"])
def installed_module(request):
    """Puts the module, as built by Kbuild (make install puts it in extra/)
    or as DKMS installed it (updates/dkms/), into /lib/modules/$KVER (a
    guest-only overlay, see tests/vm.sh --overlay-rwdir) and runs depmod;
    undone afterwards.

    depmod -a reads every module of the kernel: 45 s under emulation. So
    depmod is given just our module (it then writes indexes with only that
    one), and the original indexes are put back afterwards."""
    if request.param == "dkms" and IMPL == "rust":
        pytest.skip("DKMS builds and installs the C module (genl-kmod/); the Rust one "
                    "builds only in tests/rust-env.sh's environment, not through DKMS")
    ko, subdir = dkms_module() if request.param == "dkms" else (KO, "extra")
    moddir = Path(f"/lib/modules/{KVER}")
    extra = moddir / subdir
    target = extra / ko.name
    backup = Path("/run/genl-echo-modules-backup")
    backup.mkdir(exist_ok=True)
    saved = [p for p in moddir.glob("modules.*") if p.is_file()]
    for p in saved:
        shutil.copy2(p, backup / p.name)
    top = moddir / subdir.split("/")[0]
    made_dir = not top.exists()
    extra.mkdir(parents=True, exist_ok=True)
    shutil.copy(ko, target)
    r = run(["depmod", KVER, target])
    assert r.rc == 0, r
    yield target
    target.unlink()
    if made_dir:
        shutil.rmtree(top)
    for p in moddir.glob("modules.*"):
        p.unlink()
    for p in saved:
        shutil.copy2(backup / p.name, p)
    shutil.rmtree(backup)


def test_module_tree_writable():
    """The guest's /lib/modules must be writable for the autoload test (a
    kernel that is not installed, the debug kernel, gets its tree made)."""
    probe = Path(f"/lib/modules/{KVER}/.genl-echo-probe")
    probe.parent.mkdir(parents=True, exist_ok=True)
    probe.write_text("x")
    probe.unlink()


@pytest.mark.module_unloaded
def test_autoload_by_nlctl(installed_module):
    r = run(["modprobe", "--show-depends", "net-pf-16-proto-16-family-genl_echo"])
    assert r.rc == 0 and str(installed_module) in r.out, r
    assert not module_loaded()
    assert ok("get-mode") == {"mode": "none"}
    assert module_loaded()


@pytest.mark.module_unloaded
def test_autoload_by_raw_getfamily(installed_module):
    with genl.GenlSocket() as s:
        fam = s.get_family()
    assert fam["name"] == "genl_echo"
    assert module_loaded()


@pytest.mark.module_unloaded
def test_no_autoload_by_family_id(installed_module):
    """The controller loads modules only for lookups by name."""
    with genl.GenlSocket() as s:
        with pytest.raises(genl.NetlinkError) as ei:
            s.transact(genl.GENL_ID_CTRL, genl.CTRL_CMD_GETFAMILY,
                       genl.struct.pack("=HHHxx", 6, genl.CTRL_ATTR_FAMILY_ID, 0x7ff0),
                       version=2)
    assert ei.value.errno == errno.ENOENT
    assert not module_loaded()
