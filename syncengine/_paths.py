"""Can the engine use its paths? One set of checks for the settings loader and the watcher.

Each check returns ``(key, message)`` naming the configuration key to fix (``journal_path``,
``watch[0].path``, ``watch[0].error_dir``), or None. Nothing here creates anything: a missing
watch folder is a problem unless its ``create = true``; a missing journal, done or error folder
is fine as long as it can be made (its nearest existing parent is a writable folder).

``os.access`` answers for the current user, and for root (which passes permission checks)
still reports a read-only file system; a folder shared over the network may say yes and refuse
later, which the engine then logs as it happens.
"""

from __future__ import annotations

import os
from pathlib import Path

from ._config import EngineConfig, WatchFolder

Problem = tuple[str, str]


def unusable_dir(path: Path, *, write: bool = True) -> str | None:
    """Why ``path`` cannot be (made into) a writable folder, or None when it can.

    ``write=False`` asks only whether a folder could be there (nothing in the way).
    """
    probe = path
    try:
        while not probe.exists():
            if probe.parent == probe:
                return f"{path}: no existing parent folder"
            probe = probe.parent
    except OSError as exc:
        return f"{path}: {exc.strerror or exc}"
    if not probe.is_dir():
        return f"{path}: {probe} is a file, not a folder"
    if write and not os.access(probe, os.W_OK | os.X_OK):
        return f"{path}: {probe} is not writable (read-only file system or permissions)"
    return None


def journal_problem(journal_path: Path, *, write: bool = True) -> Problem | None:
    """The problem with ``journal_path``, if any (a folder there, a file in its way).

    ``write=False`` is for commands that only read an existing journal: they need it readable,
    and a missing one is theirs to report.
    """
    key = "journal_path"
    try:
        if journal_path.is_dir():
            return key, f"{journal_path} is a folder; journal_path names the journal file"
        if journal_path.exists():
            if write and not os.access(journal_path, os.R_OK | os.W_OK):
                return key, f"{journal_path} is not readable and writable by this user"
            if not os.access(journal_path, os.R_OK):
                return key, f"{journal_path} is not readable by this user"
            return None
    except OSError as exc:
        return key, f"{journal_path}: {exc.strerror or exc}"
    problem = unusable_dir(journal_path.parent, write=write)
    return None if problem is None else (key, problem)


def watch_folder_problem(folder: WatchFolder, index: int) -> Problem | None:
    """The problem with watch folder ``index``, if any (nothing is created here)."""
    key = f"watch[{index}].path"
    path = folder.path
    try:
        exists = path.exists()
    except OSError as exc:
        return key, f"{path}: {exc.strerror or exc}"
    if not exists:
        if folder.create:
            problem = unusable_dir(path)
            return None if problem is None else (key, f"cannot create (create = true): {problem}")
        return key, (
            f"the folder {path} does not exist; fix the path, create the folder, or set "
            "create = true for this watch folder"
        )
    if not path.is_dir():
        return key, f"{path} is a file, not a folder"
    try:
        with os.scandir(path):
            pass
    except OSError as exc:
        return key, f"cannot list {path}: {exc.strerror or exc}"
    if not os.access(path, os.W_OK | os.X_OK):
        return key, (
            f"{path} is not writable (read-only file system or permissions); converted files "
            "could not be moved out of it"
        )
    for name, target in (
        ("done_dir", folder.effective_done_dir),
        ("error_dir", folder.effective_error_dir),
    ):
        problem = unusable_dir(target)
        if problem is not None:
            return f"watch[{index}].{name}", problem
    return None


def config_problems(config: EngineConfig) -> list[Problem]:
    """Every path problem of ``config``: the journal first, then each watch folder."""
    problems = []
    journal = journal_problem(config.journal_path)
    if journal is not None:
        problems.append(journal)
    for index, folder in enumerate(config.watch):
        problem = watch_folder_problem(folder, index)
        if problem is not None:
            problems.append(problem)
    return problems
