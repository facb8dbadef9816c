"""The leak check of tests/leaks.py: a test that leaves a process running fails."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from tests.leaks import descendants

REPO = Path(__file__).resolve().parent.parent

INNER = textwrap.dedent(
    '''
    import os
    import subprocess
    import sys

    import pytest

    from tests.leaks import owned_by_session

    SLEEPER = [sys.executable, "-c", "import time; time.sleep(120)"]


    @pytest.fixture(scope="session")
    def server():
        """A session's process, which a test may restart."""
        held = {"proc": subprocess.Popen(SLEEPER)}
        owned_by_session(held["proc"].pid)
        yield held
        held["proc"].kill()
        held["proc"].wait()


    def test_restarts_the_session_server(server):
        """Restarts the session fixture's process: not a leak of this test."""
        server["proc"].kill()
        server["proc"].wait()
        server["proc"] = subprocess.Popen(SLEEPER)
        owned_by_session(server["proc"].pid)


    def test_clean():
        """Waits for its child."""
        subprocess.run([sys.executable, "-c", "pass"], check=True)


    def test_child_exits_within_the_grace():
        """A child that ends shortly after the test is no leak."""
        subprocess.Popen([sys.executable, "-c", "import time; time.sleep(1)"])


    def test_leaks_a_child():
        """Leaves a sleeping child behind."""
        proc = subprocess.Popen(SLEEPER)
        open(os.environ["LEAK_PIDS"], "a").write(f"{proc.pid}\\n")


    def test_leaks_a_detached_grandchild():
        """Leaves a grandchild in its own session, whose parent has exited."""
        code = (
            "import subprocess, sys; "
            f"p = subprocess.Popen({SLEEPER!r}, start_new_session=True); "
            "open(sys.argv[1], 'a').write(f'{p.pid}\\\\n')"
        )
        subprocess.run([sys.executable, "-c", code, os.environ["LEAK_PIDS"]], check=True)
    '''
)


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


@pytest.mark.timeout(180)
def test_a_leaking_test_fails_and_its_processes_are_killed(tmp_path: Path) -> None:
    """A leaked child and a detached grandchild each fail their test; clean tests and a test
    restarting a session fixture's process pass."""
    (tmp_path / "test_inner.py").write_text(INNER, encoding="utf-8")
    (tmp_path / "pytest.ini").write_text("[pytest]\n", encoding="utf-8")
    pids = tmp_path / "pids"
    env = {**os.environ, "PYTHONPATH": str(REPO), "LEAK_PIDS": str(pids)}
    env.pop("PYTEST_XDIST_WORKER", None)
    done = subprocess.run(
        # -rN: no short summary, whose lines repeat each message (in full where CI is set,
        # cut to the terminal's width elsewhere), so each leak is named exactly once below.
        [
            sys.executable,
            "-m",
            "pytest",
            "-p",
            "tests.leaks",
            "-p",
            "no:cacheprovider",
            "-v",
            "-rN",
        ],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=170,
        check=False,
    )
    out = done.stdout + done.stderr
    assert done.returncode == 1, out
    assert "test_clean PASSED" in out, out
    assert "test_child_exits_within_the_grace PASSED" in out, out
    assert "test_restarts_the_session_server PASSED" in out, out
    assert "ERROR at teardown of test_leaks_a_child" in out, out
    assert "ERROR at teardown of test_leaks_a_detached_grandchild" in out, out
    assert out.count("left 1 process(es) running") == 2, out
    leaked = [int(line) for line in pids.read_text().split()]
    assert len(leaked) == 2
    assert not [pid for pid in leaked if _alive(pid)], "the leak check killed what it named"


def test_descendants_sees_a_grandchild_in_its_own_session() -> None:
    """A process started in a new session by a child is still one of ours."""
    proc = subprocess.Popen(
        [sys.executable, "-c", "import time; time.sleep(30)"], start_new_session=True
    )
    try:
        assert proc.pid in descendants()
    finally:
        proc.kill()
        proc.wait()
    assert proc.pid not in descendants()
