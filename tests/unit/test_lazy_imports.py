"""Libraries only some deployments use are not loaded by every worker (README: Performance)."""

from __future__ import annotations

import subprocess
import sys


def test_a_worker_without_ldap_does_not_load_ldap3() -> None:
    code = (
        "import sys, regauth.runtime, regauth.web.app, regauth.server.worker; "
        "print('ldap3' in sys.modules, 'pyasn1' in sys.modules)"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.split() == ["False", "False"]
