"""Run one submission's code cells and write down its answers (the sandbox side of grading).

Usage: ``python -I runner.py GRADER_DIR WORK_DIR CPU_S MEMORY_MB OUTPUT_MB``

GRADER_DIR (read-only) holds ``cases.json`` and the input arrays; WORK_DIR holds ``cells.json``
(the notebook's code cells) and receives ``out/``: one ``CASE.npy`` per answer, or ``CASE.err``
with the reason there is none, ``cells.json`` with the cells that raised, and ``done`` at the end.

This file runs in the same process as untrusted code, so anything it writes may be forged. That
is why it writes only raw answers (which the grader judges elsewhere) and never sees the
expected ones. It uses the standard library and NumPy only, and stays short because coverage
tools cannot follow it into the sandbox.
"""

import builtins
import json
import os
import re
import resource
import sys
import types


def limit_resources(cpu_s: int, memory_mb: int, output_mb: int) -> None:  # pragma: no cover
    # (irreversible, so it runs only in the sandboxed child; tests/test_grading_batch.py checks
    # its effects: time-outs, MemoryError and the output limit)
    """Cap CPU time, address space and file size; the notebook cannot raise the hard limits.

    The CPU hard limit is one second above the soft one, so the kernel first sends SIGXCPU
    (reported as a time-out) and only then SIGKILL.
    """
    resource.setrlimit(resource.RLIMIT_CPU, (cpu_s, cpu_s + 1))
    for which, value in (
        (resource.RLIMIT_AS, memory_mb * 2**20),
        (resource.RLIMIT_FSIZE, output_mb * 2**20),
        (resource.RLIMIT_CORE, 0),
    ):
        resource.setrlimit(which, (value, value))


def without_magics(source: str) -> str:
    """Turn IPython-only lines (``%matplotlib``, ``!pip``) into ``pass`` so the cell compiles."""
    return re.sub(r"(?m)^(\s*)[%!].*$", r"\1pass", source)


def otter_stand_in() -> types.ModuleType:
    """An ``otter`` module whose ``Notebook().check`` does nothing: its tests are not the grade."""
    module = types.ModuleType("otter")

    class Notebook:
        def __init__(self, *args, **kwargs):
            pass

        def __getattr__(self, name):
            return lambda *args, **kwargs: None

    module.Notebook = Notebook
    return module


def main(grader_dir: str, work_dir: str, cpu_s: int, memory_mb: int, output_mb: int) -> None:
    limit_resources(cpu_s, memory_mb, output_mb)
    import numpy as np

    # Kept before the notebook runs, so that patching them costs the notebook its own answers only.
    save, asarray, load, write = np.save, np.asarray, np.load, open
    with open(os.path.join(work_dir, "cells.json")) as handle:
        cells = json.load(handle)
    with open(os.path.join(grader_dir, "cases.json")) as handle:
        cases = json.load(handle)
    out = os.path.join(work_dir, "out")
    saved_builtins = dict(vars(builtins))

    sys.modules["otter"] = otter_stand_in()
    namespace = {"__name__": "__main__", "__builtins__": builtins, "display": print}
    failures = []
    for number, source in enumerate(cells, start=1):
        try:
            exec(compile(without_magics(source), f"<cell {number}>", "exec"), namespace)
        except BaseException as exc:  # SystemExit and KeyboardInterrupt too: keep going
            failures.append({"cell": number, "error": f"{type(exc).__name__}: {exc}"[:300]})

    vars(builtins).update(saved_builtins)  # undo patches of print, open, isinstance...
    os.makedirs(out, exist_ok=True)  # only now: the notebook may have emptied its folder

    def decode(item):
        if "npy" in item:
            return load(os.path.join(grader_dir, "inputs", item["npy"]), allow_pickle=False)
        value = item["json"]
        return tuple(value) if isinstance(value, list) else value

    for case in cases:
        try:
            if case["name"] not in namespace:
                raise NameError(f"{case['name']} is not defined")
            answer = namespace[case["name"]]
            if case["kind"] == "call":
                args = [decode(a) for a in case["args"]]
                kwargs = {k: decode(v) for k, v in case["kwargs"].items()}
                answer = answer(*args, **kwargs)
            raw, answer = answer, asarray(answer)
            if answer.dtype.kind not in "biuf":
                raise TypeError(f"expected numbers, got {type(raw).__name__}")
            with write(os.path.join(out, case["id"] + ".npy"), "wb") as handle:
                save(handle, answer, allow_pickle=False)
        except BaseException as exc:
            with write(os.path.join(out, case["id"] + ".err"), "w") as handle:
                handle.write(f"{type(exc).__name__}: {exc}"[:300])
    with write(os.path.join(out, "cells.json"), "w") as handle:
        handle.write(json.dumps(failures))
    with write(os.path.join(out, "done"), "w") as handle:
        handle.write("done")
    sys.stdout.flush()
    os._exit(0)  # do not wait for threads the notebook may have left running


if __name__ == "__main__":  # pragma: no cover - the sandboxed child's entry point
    main(sys.argv[1], sys.argv[2], *map(int, sys.argv[3:6]))
