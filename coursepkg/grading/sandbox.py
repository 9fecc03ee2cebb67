"""Start the runner on one submission in a fresh, limited, isolated process.

With bubblewrap (``bwrap``) the process sees only: the system's ``/usr``, the Python installation
and virtual environment (read-only), the grader's inputs (read-only, at ``/grader``) and its own
work folder (at ``/submission``). It has no network, its own process namespace (so every child dies
with it), no environment variables of ours, and runs as an unprivileged user inside a user
namespace, so it cannot raise the resource limits the runner sets. Without bubblewrap (e.g. on
macOS) only the resource limits and the wall clock apply, and :func:`isolation_warning` says so.
"""

from __future__ import annotations

import functools
import os
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

RUNNER = Path(__file__).with_name("runner.py")
GRADER, WORK = "/grader", "/submission"  # where the sandbox sees the inputs and its work folder

# Environment of the sandboxed process: single-threaded maths (two submissions share two cores),
# a headless plotting backend, and nothing inherited from the grader.
_ENV = {
    "HOME": "/tmp",
    "PATH": "/usr/bin:/bin",
    "LANG": "C.UTF-8",
    "MPLBACKEND": "Agg",
    "MPLCONFIGDIR": "/tmp/matplotlib",
    "OMP_NUM_THREADS": "1",
    "OPENBLAS_NUM_THREADS": "1",
    "MKL_NUM_THREADS": "1",
    "PYTHONDONTWRITEBYTECODE": "1",
    "PYTHONHASHSEED": "0",
}


@dataclass(frozen=True)
class Limits:
    """What one submission may use. The defaults suit a NumPy exercise on a laptop."""

    wall_s: float = 60.0
    cpu_s: int = 60
    memory_mb: int = 4096
    output_mb: int = 16


@dataclass(frozen=True)
class Outcome:
    """How the process ended: its exit code, the signal that killed it, or the wall clock."""

    returncode: int
    timed_out: bool
    seconds: float

    @property
    def signal(self) -> int | None:
        """The signal that ended the runner (bwrap reports it as 128 + signal)."""
        if self.returncode < 0:
            return -self.returncode
        if self.returncode > 128:
            return self.returncode - 128
        return None


@functools.lru_cache(maxsize=1)
def bwrap_works() -> bool:
    """Whether bubblewrap is installed and may create namespaces here."""
    bwrap = shutil.which("bwrap")
    if bwrap is None:
        return False
    probe = [bwrap, "--ro-bind", "/", "/", "--unshare-all", "--die-with-parent", "true"]
    return subprocess.run(probe, capture_output=True, timeout=30).returncode == 0


def isolation_warning() -> str:
    return (
        "WARNING: bubblewrap (bwrap) is not available, so file isolation is OFF: submissions run "
        "with time, CPU, memory and output limits only, and can read any file this user can "
        "(including exercise solutions). Install bubblewrap before grading untrusted work."
    )


def python_prefixes() -> list[Path]:
    """The folders a Python process of this environment needs: the venv and its base install."""
    paths = {Path(p).resolve() for p in (sys.prefix, sys.base_prefix, sys.exec_prefix)}
    paths.add(Path(sys.executable).resolve().parent.parent)
    return sorted(paths)


def bwrap_command(grader_dir: Path, work_dir: Path, private: list[Path]) -> list[str]:
    """The bwrap prefix that shows the runner only what it needs, read-only where possible.

    ``private`` lists folders that must stay invisible (the exercise sources, the submissions);
    a Python installation inside one of them would expose it, so that is refused.
    """
    command = ["bwrap", "--unshare-all", "--die-with-parent", "--new-session"]
    command += ["--uid", "65534", "--gid", "65534", "--clearenv", "--ro-bind", "/usr", "/usr"]
    for name in ("bin", "lib", "lib32", "lib64", "sbin"):
        path = Path("/") / name
        if path.is_symlink():
            command += ["--symlink", os.readlink(path), str(path)]
        elif path.is_dir():
            command += ["--ro-bind", str(path), str(path)]
    for path in (Path("/etc/fonts"), Path("/etc/ld.so.cache"), Path("/etc/localtime")):
        if path.exists():
            command += ["--ro-bind", str(path), str(path)]
    command += ["--proc", "/proc", "--dev", "/dev", "--tmpfs", "/tmp"]
    command += ["--ro-bind", str(grader_dir), GRADER, "--bind", str(work_dir), WORK]
    for prefix in python_prefixes():  # after GRADER and WORK, so that neither can hide them
        for secret in private:
            if secret.resolve().is_relative_to(prefix):
                raise RuntimeError(f"{secret} lies inside {prefix}, which the sandbox must show")
        command += ["--ro-bind", str(prefix), str(prefix)]
    command += ["--chdir", WORK]
    for key, value in _ENV.items():
        command += ["--setenv", key, value]
    return command


def run_submission(
    grader_dir: Path,
    work_dir: Path,
    log_path: Path,
    limits: Limits,
    isolate: bool,
    private: list[Path] = (),
) -> Outcome:
    """Run the runner on ``work_dir/cells.json``; stdout and stderr go to ``log_path``."""
    limit_args = [str(limits.cpu_s), str(limits.memory_mb), str(limits.output_mb)]
    if isolate:
        command = bwrap_command(grader_dir, work_dir, list(private))
        command += [sys.executable, "-I", f"{GRADER}/runner.py", GRADER, WORK, *limit_args]
        env, cwd = {}, None
    else:
        command = [sys.executable, "-I", str(grader_dir / "runner.py")]
        command += [str(grader_dir), str(work_dir), *limit_args]
        env, cwd = {**_ENV, "HOME": str(work_dir), "MPLCONFIGDIR": str(work_dir / ".mpl")}, work_dir
    start = time.monotonic()
    with open(log_path, "wb") as log:
        process = subprocess.Popen(
            command,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            cwd=cwd,
            env=env,
            start_new_session=True,  # its own process group, so one kill reaches every child
        )
        try:
            returncode, timed_out = process.wait(timeout=limits.wall_s), False
        except subprocess.TimeoutExpired:
            _kill_group(process.pid)
            returncode, timed_out = process.wait(), True
        _kill_group(process.pid)  # children left behind (only possible without bubblewrap)
    return Outcome(returncode, timed_out, time.monotonic() - start)


def _kill_group(pgid: int) -> None:
    try:
        os.killpg(pgid, signal.SIGKILL)
    except ProcessLookupError:
        pass
