"""Exercise tooling: release otter exercises, and grade submissions without trusting them.

Modules, one job each:

- :mod:`~coursepkg.grading.spec`: read a source notebook (questions, declared cases, solution);
- :mod:`~coursepkg.grading.release`: write student notebooks and otter autograder zips;
- :mod:`~coursepkg.grading.runner`: run a notebook's cells in the sandbox, write raw answers;
- :mod:`~coursepkg.grading.sandbox`: start that runner isolated (bubblewrap) and limited;
- :mod:`~coursepkg.grading.compare`: read answers safely and judge them;
- :mod:`~coursepkg.grading.batch`: grade a folder, score, write the CSV and JSON reports;
- :mod:`~coursepkg.grading.cli`: the ``python -m coursepkg.grading`` command line.
"""
