"""Reading a file for an approval card, and handing the approved copy to the server, without races.

A write that names a file (apply_yaml's manifest, a stack deploy's template) is approved by its content.
The path comes from the model and the folders may be shared, so:

* `read_for_approval` reads only a small regular file below MANIFEST_DIR, reached one folder at a time
  with O_NOFOLLOW from a descriptor of MANIFEST_DIR: no symlink (at any depth), FIFO, device or file with
  other hard links is read, and every check is made on the descriptor that is then read (no
  check-then-open window, and O_NONBLOCK so a pipe cannot hang the bot).
* `write_approved_copy` writes the approved content to a new file (O_EXCL, O_NOFOLLOW, 0600) in a folder
  private to the bot, outside MANIFEST_DIR: a real folder (not a link), owned by the bot, with no access
  for others, whose every ancestor only the bot or root can change. Nobody else can then swap the file
  between the approval and the moment the server reads it.

Both raise an exception whose text says, in a sentence, what is wrong and with which path.

Why one module of ~370 lines: the reading and the writing side share the descriptor walk and its checks,
and a race is found by reading both against each other.
"""

from __future__ import annotations

import errno
import grp
import os
import pwd
import re
import stat
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path, PurePosixPath

# Descriptors of folders are only walked through and used as dir_fd: O_PATH (Linux) needs no read
# permission on them. O_DIRECTORY|O_NOFOLLOW fails on a symlink (ENOTDIR or ELOOP) instead of following it.
_DIR_FLAGS = getattr(os, "O_PATH", os.O_RDONLY) | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
# O_NONBLOCK: opening a FIFO must not wait for a writer; O_NOCTTY: a terminal must not become ours.
_FILE_FLAGS = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_NOCTTY | os.O_CLOEXEC
_NEW_FILE_FLAGS = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC
_APPROVAL_ID = re.compile(r"[A-Za-z0-9_-]{1,64}")
_SUFFIX = re.compile(r"\.[A-Za-z0-9]{1,10}")
_UNSAFE_CHARS = re.compile(r"[^A-Za-z0-9._-]+")


class ManifestRefused(ValueError):
    """A file named for approval cannot be shown; the text says what the user (or model) must fix."""


class ApprovedCopyError(RuntimeError):
    """The approved copy cannot be written safely; the text names the path and what is wrong."""


def _kind(mode: int) -> str:
    if stat.S_ISLNK(mode):
        return "a symbolic link"
    if stat.S_ISDIR(mode):
        return "a folder"
    if stat.S_ISFIFO(mode):
        return "a named pipe (FIFO)"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    if stat.S_ISSOCK(mode):
        return "a socket"
    return "a regular file" if stat.S_ISREG(mode) else "not a regular file"


def _what_is(name: str, dir_fd: int) -> str:
    """For a message only (never for a decision): what `name` in `dir_fd` is, without following it."""
    try:
        return _kind(os.stat(name, dir_fd=dir_fd, follow_symlinks=False).st_mode)
    except OSError:
        return "not usable"


@contextmanager
def _closing(fd: int) -> Iterator[int]:
    try:
        yield fd
    finally:
        os.close(fd)


# --- reading a file for approval ----------------------------------------------------------------------


def _below(path: PurePosixPath, roots: tuple[PurePosixPath, ...]) -> tuple[str, ...] | None:
    for root in roots:
        if path.is_relative_to(root):
            return path.relative_to(root).parts
    return None


def read_for_approval(
    manifest_dir: Path, path: str, *, max_bytes: int, suffixes: tuple[str, ...] = (".yaml", ".yml", ".json")
) -> str:
    """The UTF-8 text of the file `path` (from the model) below `manifest_dir`; raises `ManifestRefused`.

    `path` must be absolute, end in one of `suffixes` (case-insensitive), contain no `..`, and lie below
    `manifest_dir` as configured or as resolved (the operator's setting may itself be or contain a link;
    it is resolved once). Below it, no component may be a symbolic link. The file must be a regular
    file with no other hard links, of at most `max_bytes` bytes: all checked with fstat on the very
    descriptor that is then read.
    """
    allowed = "/".join(suffixes)
    pure = PurePosixPath(path)
    if not path or not pure.is_absolute() or pure.suffix.lower() not in suffixes:
        raise ManifestRefused(f"{path or '(empty)'} must be an absolute path to a {allowed} file")
    if "\0" in path:
        raise ManifestRefused("the path contains a NUL character; name the file by its plain path")
    if ".." in pure.parts:
        raise ManifestRefused(f"{path} must not contain '..'; name the file by its plain path")
    try:
        root = manifest_dir.resolve(strict=True)
    except OSError as exc:
        raise ManifestRefused(f"MANIFEST_DIR {manifest_dir} cannot be used ({exc.strerror or exc})") from None
    configured = PurePosixPath(os.path.normpath(os.path.abspath(manifest_dir)))
    parts = _below(pure, (configured, PurePosixPath(root)))
    if not parts:
        raise ManifestRefused(
            f"{path} is outside MANIFEST_DIR ({manifest_dir}); only files there can be approved"
        )
    try:
        fd = os.open(root, _DIR_FLAGS)
    except OSError as exc:
        raise ManifestRefused(
            f"MANIFEST_DIR {manifest_dir} cannot be opened ({exc.strerror or exc})"
        ) from None
    try:
        for folder in parts[:-1]:
            try:
                next_fd = os.open(folder, _DIR_FLAGS, dir_fd=fd)
            except OSError as exc:
                if exc.errno in (errno.ENOTDIR, errno.ELOOP):
                    raise ManifestRefused(
                        f"{path}: the component {folder!r} is {_what_is(folder, fd)}, not a folder; "
                        "symbolic links are not followed below MANIFEST_DIR"
                    ) from None
                raise ManifestRefused(f"cannot read {path} ({exc.strerror or exc})") from None
            os.close(fd)
            fd = next_fd
        return _read_file(fd, parts[-1], path, max_bytes)
    finally:
        os.close(fd)


def _read_file(dir_fd: int, name: str, path: str, max_bytes: int) -> str:
    limit = f"{max_bytes // 1024} KiB" if max_bytes >= 1024 else f"{max_bytes} bytes"
    # A first look without following or opening anything: a device is never even opened. It decides
    # nothing on its own: whatever is opened next is checked again, on its descriptor.
    try:
        early = os.stat(name, dir_fd=dir_fd, follow_symlinks=False)
    except OSError as exc:
        raise ManifestRefused(f"cannot read {path} ({exc.strerror or exc})") from None
    if not stat.S_ISREG(early.st_mode):
        raise ManifestRefused(f"{path} is not a regular file (it is {_kind(early.st_mode)})")
    try:
        fd = os.open(name, _FILE_FLAGS, dir_fd=dir_fd)
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise ManifestRefused(f"{path} is not a regular file (it is a symbolic link)") from None
        raise ManifestRefused(f"cannot read {path} ({exc.strerror or exc})") from None
    with _closing(fd):
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise ManifestRefused(f"{path} is not a regular file (it is {_kind(info.st_mode)})")
        if info.st_nlink != 1:
            # A hard link can make any file the bot can read (a kubeconfig) appear below MANIFEST_DIR.
            raise ManifestRefused(f"{path} has other hard links; copy it to a plain file of its own")
        if info.st_size > max_bytes:
            raise ManifestRefused(f"{path} is larger than {limit}, too large to show for approval")
        chunks: list[bytes] = []
        size = 0
        try:
            while size <= max_bytes:
                chunk = os.read(fd, max_bytes + 1 - size)
                if not chunk:
                    break
                chunks.append(chunk)
                size += len(chunk)
        except OSError as exc:
            raise ManifestRefused(f"cannot read {path} ({exc.strerror or exc})") from None
    if size > max_bytes:
        raise ManifestRefused(f"{path} grew past {limit} while being read")
    try:
        return b"".join(chunks).decode("utf-8")
    except UnicodeDecodeError:
        raise ManifestRefused(f"{path} is not a plain YAML/JSON document (it is not UTF-8 text)") from None


# --- the private folder for approved copies -----------------------------------------------------------


def _sole_group(gid: int) -> bool:
    """Is `gid` our own group, with no member but us (or root)? Kubernetes' fsGroup makes folders
    group-writable by the pod's group; that is only safe if nobody else is in it."""
    if gid != os.getegid():
        return False
    me = os.geteuid()
    trusted = {me, 0}
    try:
        members = grp.getgrgid(gid).gr_mem
    except KeyError:  # no entry for the group: an arbitrary container gid, with no listed members
        members = []
    for name in members:
        try:
            if pwd.getpwnam(name).pw_uid not in trusted:
                return False
        except KeyError:  # a member we cannot identify is not known to be us
            return False
    return all(user.pw_uid in trusted for user in pwd.getpwall() if user.pw_gid == gid)


def _mode(info: os.stat_result) -> str:
    return f"mode {stat.S_IMODE(info.st_mode):04o}"


def _check_ancestor(info: os.stat_result, path: str) -> None:
    """Nobody but us or root may rename, replace or re-permission this folder's entries."""
    me = os.geteuid()
    if info.st_uid not in (me, 0):
        raise ApprovedCopyError(
            f"{path} is owned by uid {info.st_uid}; the folders above the approved copies must be owned "
            f"by this user (uid {me}) or root"
        )
    sticky = bool(info.st_mode & stat.S_ISVTX)  # others may add entries, but not rename or remove ours
    if info.st_mode & stat.S_IWOTH and not sticky:
        raise ApprovedCopyError(f"{path} is writable by others ({_mode(info)}); run chmod o-w on it")
    if info.st_mode & stat.S_IWGRP and not sticky and not _sole_group(info.st_gid):
        raise ApprovedCopyError(
            f"{path} is writable by group {info.st_gid} ({_mode(info)}), which others belong to; "
            "run chmod g-w on it"
        )


def _check_private(info: os.stat_result, path: str) -> None:
    me = os.geteuid()
    if not stat.S_ISDIR(info.st_mode):
        raise ApprovedCopyError(f"{path} is {_kind(info.st_mode)}, not a folder")
    if info.st_uid != me:
        raise ApprovedCopyError(f"{path} is owned by uid {info.st_uid}, not by this user (uid {me})")
    if info.st_mode & stat.S_IRWXO:
        raise ApprovedCopyError(f"{path} is open to others ({_mode(info)}); run chmod 700 on it")
    if info.st_mode & stat.S_IRWXG and not _sole_group(info.st_gid):
        raise ApprovedCopyError(
            f"{path} is open to group {info.st_gid} ({_mode(info)}), which others belong to; "
            "run chmod 700 on it"
        )


def ensure_outside(private: Path, manifest_dir: Path) -> None:
    """Refuse an approved-copies folder at or below MANIFEST_DIR: whoever may write manifests (a person,
    a sync job, a tool run by the model under the bot's own uid) must not reach the approved copies."""
    inner, outer = private.resolve(), manifest_dir.resolve()
    if inner.is_relative_to(outer):
        raise ApprovedCopyError(
            f"{private} is inside MANIFEST_DIR ({manifest_dir}); approved copies must be kept apart from "
            "the files that are approved"
        )


def _open_private_dir(path: Path, manifest_dir: Path | None) -> tuple[int, Path]:
    """A descriptor of the verified private folder (created 0700 if missing), and its symlink-free path."""
    name = path.name
    if name in ("", ".", ".."):
        raise ApprovedCopyError(f"{path} must name a folder (not '.' or '..')")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        parent = path.parent.resolve(strict=True)
    except OSError as exc:
        raise ApprovedCopyError(f"cannot create {path.parent} ({exc.strerror or exc})") from None
    private = parent / name
    if manifest_dir is not None:
        ensure_outside(private, manifest_dir)
    # Walk from / one folder at a time, checking each on its own descriptor: no link, no other writer.
    fd = os.open("/", _DIR_FLAGS)
    try:
        _check_ancestor(os.fstat(fd), "/")
        here = Path("/")
        for part in parent.parts[1:]:
            here = here / part
            try:
                next_fd = os.open(part, _DIR_FLAGS, dir_fd=fd)
            except OSError as exc:
                raise ApprovedCopyError(f"cannot open {here} ({exc.strerror or exc})") from None
            os.close(fd)
            fd = next_fd
            _check_ancestor(os.fstat(fd), str(here))
        try:
            os.mkdir(name, 0o700, dir_fd=fd)  # new: ours, 0700; never an existing folder taken on trust
        except FileExistsError:
            pass
        except OSError as exc:
            raise ApprovedCopyError(f"cannot create {private} ({exc.strerror or exc})") from None
        try:
            private_fd = os.open(name, _DIR_FLAGS, dir_fd=fd)
        except OSError as exc:
            if exc.errno in (errno.ENOTDIR, errno.ELOOP):
                raise ApprovedCopyError(f"{private} is {_what_is(name, fd)}, not a folder") from None
            raise ApprovedCopyError(f"cannot open {private} ({exc.strerror or exc})") from None
    finally:
        os.close(fd)
    try:
        _check_private(os.fstat(private_fd), str(private))
    except BaseException:
        os.close(private_fd)
        raise
    return private_fd, private


def private_dir(path: Path, *, manifest_dir: Path | None = None) -> Path:
    """The folder for approved copies, created (0700) if missing and verified; its symlink-free path.

    Raises `ApprovedCopyError` if it is a symlink or not a folder, is not owned by this user, is open to
    others, lies at or below `manifest_dir`, or if a folder above it could be changed by someone other
    than this user or root. Group access is accepted only for this process's own group when nobody else
    is in it (Kubernetes' fsGroup adds group bits to every folder of the volume).
    """
    fd, real = _open_private_dir(path, manifest_dir)
    os.close(fd)
    return real


def approved_copy_name(approval_id: str, original_name: str) -> str:
    """`<approval id>-<safe base name><suffix>`; raises `ApprovedCopyError` for an unusable approval id."""
    if not _APPROVAL_ID.fullmatch(approval_id):
        raise ApprovedCopyError(f"approval id {approval_id!r} is not 1-64 letters, digits, '_' or '-'")
    base = PurePosixPath(original_name.replace("\\", "/")).name
    stem, dot, suffix = base.rpartition(".")
    suffix = f".{suffix}" if dot and _SUFFIX.fullmatch(f".{suffix}") else ""
    stem = _UNSAFE_CHARS.sub("_", stem if suffix else base).strip("._")[:64] or "manifest"
    return f"{approval_id}-{stem}{suffix}"


def write_approved_copy(
    directory: Path, approval_id: str, original_name: str, content: str, *, manifest_dir: Path | None = None
) -> Path:
    """Write `content` to a new file in the private folder `directory`; the absolute path to hand on.

    The folder is verified as by `private_dir` on every call, and the file is created relative to its
    descriptor with O_CREAT|O_EXCL|O_NOFOLLOW, mode 0600: an existing file or link at that name is
    refused, never written through. The content is written in full and fsync'd before the path is
    returned. Raises `ApprovedCopyError`.
    """
    name = approved_copy_name(approval_id, original_name)
    try:
        encoded = content.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise ApprovedCopyError(f"the approved content cannot be written as UTF-8 ({exc.reason})") from None
    dir_fd, real = _open_private_dir(directory, manifest_dir)
    target = real / name
    with _closing(dir_fd):
        try:
            fd = os.open(name, _NEW_FILE_FLAGS, 0o600, dir_fd=dir_fd)
        except FileExistsError:
            raise ApprovedCopyError(
                f"{target} already exists; an approved copy is written once and never reused"
            ) from None
        except OSError as exc:
            if exc.errno == errno.ELOOP:
                raise ApprovedCopyError(f"{target} already exists (a symbolic link); not written") from None
            raise ApprovedCopyError(f"cannot create {target} ({exc.strerror or exc})") from None
        try:
            with _closing(fd):
                data = memoryview(encoded)
                while data:
                    data = data[os.write(fd, data) :]
                os.fsync(fd)
        except OSError as exc:
            with suppress(OSError):
                os.unlink(name, dir_fd=dir_fd)
            raise ApprovedCopyError(f"cannot write {target} ({exc.strerror or exc})") from None
    return target
