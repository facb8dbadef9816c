"""List a local run folder as the data objects it becomes: relative paths, sizes, problems.

Reads directory entries only (no file contents); the uploader reads the files.

Paths
    Every relative path is ``/``-separated, has no empty, ``.`` or ``..`` component and is valid
    UTF-8, so ``collection + "/" + relative`` never leaves the run collection. A name that is not
    valid UTF-8 (a Latin-1 name on a Linux share) or contains a newline or carriage return cannot
    be an iRODS name that GenQuery returns faithfully: it is a per-file error, the rest of the run
    is still listed.

Include and exclude
    Glob patterns (``fnmatch``, case-sensitive, ``*`` also matches ``/``). A pattern without a
    ``/`` is matched against every component of the relative path, so ``Thumbnail_Images`` or
    ``*.tmp`` excludes a directory (and everything below it) or files by name anywhere. A pattern
    with a ``/`` is matched against the whole relative path and against each of its directory
    prefixes, so ``Data/Intensities`` excludes that subtree. A file is taken when ``include`` is
    empty or one include pattern matches, and no exclude pattern matches.

Symlinks (iRODS has no symlinks; the run collection must hold the data itself)
    - A symlink to a regular file *inside* the run folder is uploaded as a regular data object at
      the symlink's own relative path with the content of its target (a copy, not a link).
    - A symlink whose target is outside the run folder (after resolving every link), a dangling
      symlink and a symlink loop are per-file errors: the target is never read.
    - A symlink to a directory is never descended (that is how a loop or a second copy of the
      tree would start): a per-file error naming it, whether the target is inside or outside.
    - The run folder itself may be reached through a symlink: the walk starts at its real path.

Special files (FIFOs, sockets, devices) are per-file errors: reading one could block forever.
"""

from __future__ import annotations

import errno
import os
import stat
from collections.abc import Sequence
from dataclasses import dataclass, field
from fnmatch import fnmatchcase
from pathlib import Path

__all__ = ["LocalFile", "TreeListing", "WalkError", "matches", "walk_tree"]

_BAD_CHARS = ("\n", "\r", "\x00")


@dataclass(frozen=True)
class LocalFile:
    """One file to upload: ``relative`` in the collection, ``source`` to read, its ``size``."""

    relative: str
    source: Path
    size: int


@dataclass(frozen=True)
class WalkError:
    """A directory entry that will not be uploaded, and why (a sentence with the fix)."""

    relative: str
    message: str


@dataclass
class TreeListing:
    """The result of :func:`walk_tree`."""

    root: Path
    files: list[LocalFile] = field(default_factory=list)
    directories: list[str] = field(default_factory=list)
    errors: list[WalkError] = field(default_factory=list)

    @property
    def total_bytes(self) -> int:
        """Sum of the sizes of :attr:`files`."""
        return sum(f.size for f in self.files)


def _match_one(pattern: str, relative: str) -> bool:
    if "/" not in pattern:
        return any(fnmatchcase(part, pattern) for part in relative.split("/"))
    pattern = pattern.strip("/")
    if fnmatchcase(relative, pattern):
        return True
    parts = relative.split("/")
    return any(fnmatchcase("/".join(parts[:i]), pattern) for i in range(1, len(parts)))


def matches(relative: str, patterns: Sequence[str]) -> bool:
    """Whether ``relative`` (or one of its directories) matches any of ``patterns``."""
    return any(_match_one(p, relative) for p in patterns)


def _display(name: str) -> str:
    """A printable form of a possibly undecodable name (surrogate escapes shown as \\xNN)."""
    return os.fsencode(name).decode("utf-8", errors="backslashreplace")


def _name_problem(name: str) -> str | None:
    try:
        name.encode("utf-8")
    except UnicodeEncodeError:
        return (
            f"name {_display(name)!r} is not valid UTF-8 and cannot be an iRODS name; "
            "rename it (e.g. convmv -f latin1 -t utf8)"
        )
    for char in _BAD_CHARS:
        if char in name:
            return (
                f"name {_display(name)!r} contains a newline, carriage return or NUL, which "
                "iRODS cannot list faithfully; rename it"
            )
    return None


def _inside(real: str, root: str) -> bool:
    return real == root or real.startswith(root + os.sep)


def _check_symlink(path: str, root: str, rel_display: str) -> tuple[str | None, str | None]:
    """(real target, error) for a symlink at ``path``."""
    try:
        target = os.readlink(path)
    except OSError as exc:
        return None, f"symlink {rel_display!r} cannot be read: {exc.strerror}"
    real = os.path.realpath(path)
    if not _inside(real, root):
        return None, (
            f"symlink {rel_display!r} points outside the run folder ({target!r}); it is never "
            "followed: copy the file into the run folder or exclude the link"
        )
    try:
        st = os.stat(path)
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            return None, f"symlink {rel_display!r} is part of a symlink loop; remove or exclude it"
        return None, (
            f"symlink {rel_display!r} points to {target!r}, which does not exist; "
            "remove or exclude the link"
        )
    if stat.S_ISDIR(st.st_mode):
        return None, (
            f"symlink {rel_display!r} points to a directory ({target!r}); directory links are "
            "never followed: replace it with the directory or exclude it"
        )
    if not stat.S_ISREG(st.st_mode):
        return None, f"symlink {rel_display!r} points to a special file; exclude it"
    return real, None


def walk_tree(
    root: str | os.PathLike[str],
    *,
    include: Sequence[str] | None = None,
    exclude: Sequence[str] | None = None,
) -> TreeListing:
    """List ``root`` (see the module docstring for paths, patterns and symlinks).

    Files come sorted by relative path; ``directories`` holds every non-excluded directory
    (relative, parents first) so empty ones can be created too. Problems with single entries go
    to ``errors``; only an unreadable ``root`` raises (``OSError``).
    """
    include = tuple(include or ())
    exclude = tuple(exclude or ())
    real_root = os.path.realpath(os.fspath(root))
    if not os.path.isdir(real_root):
        raise NotADirectoryError(f"run folder '{os.fspath(root)}' is not a directory")
    listing = TreeListing(root=Path(real_root))

    def scan(directory: str, rel_dir: str) -> None:
        try:
            with os.scandir(directory) as it:
                entries = sorted(it, key=lambda e: e.name)
        except OSError as exc:
            listing.errors.append(
                WalkError(
                    rel_dir or ".",
                    f"directory {(rel_dir or '.')!r} cannot be listed: {exc.strerror}; "
                    "check its permissions",
                )
            )
            return
        for entry in entries:
            rel = f"{rel_dir}/{entry.name}" if rel_dir else entry.name
            shown = _display(rel)
            if exclude and matches(rel, exclude):
                continue
            problem = _name_problem(entry.name)
            if problem is not None:
                listing.errors.append(WalkError(shown, problem))
                continue
            try:
                is_link = entry.is_symlink()
                is_dir = not is_link and entry.is_dir(follow_symlinks=False)
            except OSError as exc:
                listing.errors.append(WalkError(shown, f"{shown!r} cannot be read: {exc.strerror}"))
                continue
            if is_dir:
                listing.directories.append(rel)
                scan(entry.path, rel)
                continue
            if include and not matches(rel, include):
                continue
            if is_link:
                real, error = _check_symlink(entry.path, real_root, shown)
                if error is not None or real is None:
                    listing.errors.append(WalkError(shown, error or "unreadable symlink"))
                    continue
                try:
                    size = os.stat(real).st_size
                except OSError as exc:
                    listing.errors.append(
                        WalkError(shown, f"{shown!r} cannot be read: {exc.strerror}")
                    )
                    continue
                listing.files.append(LocalFile(rel, Path(real), size))
                continue
            try:
                st = entry.stat(follow_symlinks=False)
            except OSError as exc:
                listing.errors.append(WalkError(shown, f"{shown!r} cannot be read: {exc.strerror}"))
                continue
            if not stat.S_ISREG(st.st_mode):
                listing.errors.append(
                    WalkError(
                        shown,
                        f"{shown!r} is not a regular file (FIFO, socket or device); exclude it",
                    )
                )
                continue
            listing.files.append(LocalFile(rel, Path(entry.path), st.st_size))

    scan(real_root, "")
    listing.files.sort(key=lambda f: f.relative)
    return listing
