"""Runs last (file name order): unloads the module and checks the kernel log
of the whole session."""

import pytest

from conftest import check_dmesg, module_loaded


@pytest.mark.module_unloaded
def test_kernel_log_clean():
    assert not module_loaded()
    bad = check_dmesg()
    assert bad == [], "kernel log problems:\n" + "\n".join(bad)
