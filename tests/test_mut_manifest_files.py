"""Manifest files and approved copies: each refusal's words, the size limits, and what failing I/O leaves.

Written for mutation testing (tests/MUTATION.md), next to tests/test_manifest_files.py (links, pipes,
devices, swaps): the exact sentence each refusal says (it names the path and the fix), reads that come
back in pieces or find a file that grew, the group rules for the private folder, and the errors that only
failing system calls produce (simulated here), including that a failed write leaves no file behind.
"""

from __future__ import annotations

import errno
import grp
import os
import pwd
import socket
import stat
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from agents.gate import manifests as manifest_files
from agents.gate.manifests import (
    ApprovedCopyError,
    ManifestRefused,
    _check_private,
    _kind,
    _sole_group,
    _what_is,
    approved_copy_name,
    ensure_outside,
    private_dir,
    read_for_approval,
    write_approved_copy,
)

as_root = pytest.mark.skipif(os.geteuid() != 0, reason="changing a folder's owner needs root")
REAL_OPEN, REAL_READ, REAL_FSTAT = os.open, os.read, os.fstat


@pytest.fixture
def manifests(tmp_path: Path) -> Path:
    folder = tmp_path / "manifests"
    folder.mkdir()
    return folder


def refused(manifest_dir: Path, path: str | Path, max_bytes: int = 1024) -> str:
    with pytest.raises(ManifestRefused) as caught:
        read_for_approval(manifest_dir, str(path), max_bytes=max_bytes)
    return str(caught.value)


def copy_refused(call: Callable[[], Any]) -> str:
    with pytest.raises(ApprovedCopyError) as caught:
        call()
    return str(caught.value)


def fail_open(monkeypatch: pytest.MonkeyPatch, name: str, code: int) -> None:
    """os.open of `name` (relative to a folder descriptor) fails with `code`; every other open works."""

    def fake(path: Any, flags: int, *args: Any, **kwargs: Any) -> int:
        if path == name:
            raise OSError(code, os.strerror(code))
        return REAL_OPEN(path, flags, *args, **kwargs)

    monkeypatch.setattr(manifest_files.os, "open", fake)


# --- what a file is, in words -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("mode", "words"),
    [
        (stat.S_IFLNK, "a symbolic link"),
        (stat.S_IFDIR, "a folder"),
        (stat.S_IFIFO, "a named pipe (FIFO)"),
        (stat.S_IFCHR, "a device"),
        (stat.S_IFBLK, "a device"),
        (stat.S_IFSOCK, "a socket"),
        (stat.S_IFREG, "a regular file"),
        (0, "not a regular file"),
    ],
)
def test_each_kind_of_file_is_named_in_plain_words(mode: int, words: str) -> None:
    assert _kind(mode | 0o644) == words


def test_what_is_names_a_link_without_following_it_and_an_absent_name_as_not_usable(tmp_path: Path) -> None:
    (tmp_path / "folder").mkdir()
    (tmp_path / "link").symlink_to(tmp_path / "folder")
    fd = os.open(tmp_path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        assert _what_is("link", fd) == "a symbolic link"
        assert _what_is("folder", fd) == "a folder"
        assert _what_is("absent", fd) == "not usable"
    finally:
        os.close(fd)


# --- read_for_approval: each refusal in its words -----------------------------------------------------


def test_the_path_must_be_absolute_with_a_manifest_suffix_and_plain(manifests: Path) -> None:
    assert refused(manifests, "") == "(empty) must be an absolute path to a .yaml/.yml/.json file"
    assert refused(manifests, "web.yaml") == "web.yaml must be an absolute path to a .yaml/.yml/.json file"
    assert refused(manifests, f"{manifests}/a\0.yaml") == (
        "the path contains a NUL character; name the file by its plain path"
    )
    assert refused(manifests, f"{manifests}/x/../web.yaml") == (
        f"{manifests}/x/../web.yaml must not contain '..'; name the file by its plain path"
    )
    assert refused(manifests, "/etc/web.yaml") == (
        f"/etc/web.yaml is outside MANIFEST_DIR ({manifests}); only files there can be approved"
    )
    assert refused(manifests, f"{manifests}.yaml") == (
        f"{manifests}.yaml is outside MANIFEST_DIR ({manifests}); only files there can be approved"
    )


def test_an_unusable_manifest_dir_says_why(tmp_path: Path) -> None:
    missing = tmp_path / "missing"
    assert refused(missing, f"{missing}/web.yaml") == (
        f"MANIFEST_DIR {missing} cannot be used (No such file or directory)"
    )
    a_file = tmp_path / "file"
    a_file.write_text("")
    assert (
        refused(a_file, f"{a_file}/web.yaml") == f"MANIFEST_DIR {a_file} cannot be opened (Not a directory)"
    )


def test_a_folder_on_the_way_must_be_a_real_folder(manifests: Path, tmp_path: Path) -> None:
    (tmp_path / "elsewhere").mkdir()
    (manifests / "linked").symlink_to(tmp_path / "elsewhere")
    (manifests / "plain").write_text("")
    assert refused(manifests, f"{manifests}/linked/web.yaml") == (
        f"{manifests}/linked/web.yaml: the component 'linked' is a symbolic link, not a folder; "
        "symbolic links are not followed below MANIFEST_DIR"
    )
    assert refused(manifests, f"{manifests}/plain/web.yaml") == (
        f"{manifests}/plain/web.yaml: the component 'plain' is a regular file, not a folder; "
        "symbolic links are not followed below MANIFEST_DIR"
    )
    assert refused(manifests, f"{manifests}/absent/web.yaml") == (
        f"cannot read {manifests}/absent/web.yaml (No such file or directory)"
    )


def test_the_file_itself_must_exist_and_be_regular(manifests: Path) -> None:
    assert refused(manifests, f"{manifests}/gone.yaml") == (
        f"cannot read {manifests}/gone.yaml (No such file or directory)"
    )
    os.mkdir(manifests / "dir.yaml")
    assert (
        refused(manifests, manifests / "dir.yaml")
        == f"{manifests}/dir.yaml is not a regular file (it is a folder)"
    )
    (manifests / "link.yaml").symlink_to(manifests / "dir.yaml")
    assert refused(manifests, manifests / "link.yaml") == (
        f"{manifests}/link.yaml is not a regular file (it is a symbolic link)"
    )
    os.mkfifo(manifests / "pipe.yaml")
    assert refused(manifests, manifests / "pipe.yaml") == (
        f"{manifests}/pipe.yaml is not a regular file (it is a named pipe (FIFO))"
    )
    with socket.socket(socket.AF_UNIX) as server:
        server.bind(str(manifests / "sock.yaml"))
        assert refused(manifests, manifests / "sock.yaml") == (
            f"{manifests}/sock.yaml is not a regular file (it is a socket)"
        )


def test_a_second_hard_link_is_refused_with_how_to_fix_it(manifests: Path) -> None:
    (manifests / "a.yaml").write_text("a: 1\n")
    os.link(manifests / "a.yaml", manifests / "b.yaml")
    assert refused(manifests, manifests / "b.yaml") == (
        f"{manifests}/b.yaml has other hard links; copy it to a plain file of its own"
    )


@pytest.mark.parametrize(("max_bytes", "limit"), [(1000, "1000 bytes"), (1024, "1 KiB"), (2047, "1 KiB")])
def test_the_size_limit_is_said_in_bytes_or_whole_kib(manifests: Path, max_bytes: int, limit: str) -> None:
    (manifests / "big.yaml").write_text("x" * (max_bytes + 1))
    assert refused(manifests, manifests / "big.yaml", max_bytes) == (
        f"{manifests}/big.yaml is larger than {limit}, too large to show for approval"
    )
    (manifests / "fits.yaml").write_text("y" * max_bytes)
    assert read_for_approval(manifests, str(manifests / "fits.yaml"), max_bytes=max_bytes) == "y" * max_bytes


@pytest.fixture
def trickle(monkeypatch: pytest.MonkeyPatch) -> None:
    """Reads return one byte at a time and fstat reports an empty file (it grows while it is read)."""

    def fstat(fd: int) -> os.stat_result:
        real = REAL_FSTAT(fd)
        if not stat.S_ISREG(real.st_mode):
            return real
        values = list(real)
        values[stat.ST_SIZE] = 0
        return os.stat_result(values)

    monkeypatch.setattr(manifest_files.os, "read", lambda fd, n: REAL_READ(fd, min(n, 1)))
    monkeypatch.setattr(manifest_files.os, "fstat", fstat)


@pytest.mark.usefixtures("trickle")
def test_a_file_read_in_pieces_is_read_whole(manifests: Path) -> None:
    (manifests / "web.yaml").write_text("kind: ConfigMap\n")
    assert read_for_approval(manifests, str(manifests / "web.yaml"), max_bytes=16) == "kind: ConfigMap\n"


@pytest.mark.usefixtures("trickle")
def test_a_file_that_grows_past_the_limit_while_read_is_refused(manifests: Path) -> None:
    (manifests / "web.yaml").write_text("x" * 17)
    assert (
        refused(manifests, manifests / "web.yaml", 16)
        == f"{manifests}/web.yaml grew past 16 bytes while being read"
    )


def test_a_failing_read_or_open_says_cannot_read(manifests: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (manifests / "web.yaml").write_text("a: 1\n")

    def broken(fd: int, n: int) -> bytes:
        raise OSError(errno.EIO, os.strerror(errno.EIO))

    monkeypatch.setattr(manifest_files.os, "read", broken)
    assert (
        refused(manifests, manifests / "web.yaml") == f"cannot read {manifests}/web.yaml (Input/output error)"
    )
    monkeypatch.setattr(manifest_files.os, "read", REAL_READ)
    fail_open(monkeypatch, "web.yaml", errno.EACCES)
    assert (
        refused(manifests, manifests / "web.yaml") == f"cannot read {manifests}/web.yaml (Permission denied)"
    )


def test_a_file_that_is_not_utf8_is_refused(manifests: Path) -> None:
    (manifests / "bin.yaml").write_bytes(b"a: \xff\n")
    assert refused(manifests, manifests / "bin.yaml") == (
        f"{manifests}/bin.yaml is not a plain YAML/JSON document (it is not UTF-8 text)"
    )


# --- the private folder ------------------------------------------------------------------------------


@pytest.fixture
def group_of(monkeypatch: pytest.MonkeyPatch) -> Callable[..., None]:
    """Pretend the group database lists `members` in our group and `users` with it as primary group."""

    def set_group(members: list[str] | None, users: list[tuple[str, int]], known: dict[str, int]) -> None:
        gid = os.getegid()

        def getgrgid(g: int) -> grp.struct_group:
            if members is None or g != gid:
                raise KeyError(g)
            return grp.struct_group(("bots", "x", g, members))

        def getpwnam(name: str) -> pwd.struct_passwd:
            if name not in known:
                raise KeyError(name)
            return pwd.struct_passwd((name, "x", known[name], gid, "", "/", "/bin/false"))

        everyone = [pwd.struct_passwd((n, "x", uid, gid, "", "/", "/bin/false")) for n, uid in users]
        monkeypatch.setattr(manifest_files.grp, "getgrgid", getgrgid)
        monkeypatch.setattr(manifest_files.pwd, "getpwnam", getpwnam)
        monkeypatch.setattr(manifest_files.pwd, "getpwall", lambda: everyone)

    return set_group


def test_our_group_is_ours_alone_only_if_nobody_else_is_in_it(group_of: Callable[..., None]) -> None:
    me, gid = os.geteuid(), os.getegid()
    group_of([], [("bot", me)], {})
    assert _sole_group(gid) is True
    assert _sole_group(gid + 1) is False  # another group than ours
    group_of(None, [("bot", me)], {})  # no entry for the group (an arbitrary container gid)
    assert _sole_group(gid) is True
    group_of(["root"], [("bot", me), ("root", 0)], {"root": 0})  # root is trusted
    assert _sole_group(gid) is True
    group_of(["eve"], [("bot", me)], {"eve": 12345})  # a listed member who is not us
    assert _sole_group(gid) is False
    group_of(["ghost"], [("bot", me)], {})  # a member we cannot identify
    assert _sole_group(gid) is False
    group_of([], [("bot", me), ("eve", 12345)], {})  # someone whose primary group it is
    assert _sole_group(gid) is False


def test_a_name_that_is_no_folder_is_refused(tmp_path: Path) -> None:
    assert copy_refused(lambda: private_dir(Path("/"))) == "/ must name a folder (not '.' or '..')"
    assert copy_refused(lambda: private_dir(tmp_path / "x" / "..")) == (
        f"{tmp_path}/x/.. must name a folder (not '.' or '..')"
    )


def test_a_parent_that_cannot_be_created_is_named(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("")
    assert copy_refused(lambda: private_dir(tmp_path / "file" / "sub" / "approved")) == (
        f"cannot create {tmp_path}/file/sub (Not a directory)"
    )


def test_refusals_name_the_full_path_of_the_folder_at_fault(tmp_path: Path) -> None:
    shared = tmp_path / "shared"
    shared.mkdir()
    os.chmod(shared, 0o777)
    assert copy_refused(lambda: private_dir(shared / "approved")) == (
        f"{shared} is writable by others (mode 0777); run chmod o-w on it"
    )
    (tmp_path / "open").mkdir()
    os.chmod(tmp_path / "open", 0o705)
    assert copy_refused(lambda: private_dir(tmp_path / "open")) == (
        f"{tmp_path}/open is open to others (mode 0705); run chmod 700 on it"
    )
    (tmp_path / "link").symlink_to(tmp_path / "open")
    assert (
        copy_refused(lambda: private_dir(tmp_path / "link"))
        == f"{tmp_path}/link is a symbolic link, not a folder"
    )


@as_root
def test_ownership_and_group_messages_name_the_ids(tmp_path: Path, group_of: Callable[..., None]) -> None:
    theirs = tmp_path / "theirs"
    theirs.mkdir(mode=0o755)
    os.chown(theirs, 1, -1)  # uid 1 (daemon), not us and not root
    assert copy_refused(lambda: private_dir(theirs / "approved")) == (
        f"{theirs} is owned by uid 1; the folders above the approved copies must be owned by this user "
        f"(uid {os.geteuid()}) or root"
    )
    (tmp_path / "mine").mkdir(mode=0o700)
    os.chown(tmp_path / "mine", 1, -1)
    assert copy_refused(lambda: private_dir(tmp_path / "mine")) == (
        f"{tmp_path}/mine is owned by uid 1, not by this user (uid {os.geteuid()})"
    )
    team = tmp_path / "team"
    team.mkdir()
    os.chown(team, -1, 12345)
    os.chmod(team, 0o775)
    assert copy_refused(lambda: private_dir(team / "approved")) == (
        f"{team} is writable by group 12345 (mode 0775), which others belong to; run chmod g-w on it"
    )
    (tmp_path / "grouped").mkdir()
    os.chown(tmp_path / "grouped", -1, 12345)
    os.chmod(tmp_path / "grouped", 0o750)
    assert copy_refused(lambda: private_dir(tmp_path / "grouped")) == (
        f"{tmp_path}/grouped is open to group 12345 (mode 0750), which others belong to; run chmod 700 on it"
    )


@as_root
def test_a_foreign_group_without_access_is_harmless(tmp_path: Path) -> None:
    """Only group write (above) or group access (the folder itself) matters, not which group owns it."""
    parent = tmp_path / "parent"
    parent.mkdir(mode=0o755)
    os.chown(parent, -1, 12345)
    private = parent / "approved"
    private.mkdir(mode=0o700)
    os.chown(private, -1, 12345)
    assert private_dir(private) == private


def test_group_write_above_is_accepted_for_a_group_of_our_own(
    tmp_path: Path, group_of: Callable[..., None]
) -> None:
    group_of([], [("bot", os.geteuid())], {})
    parent = tmp_path / "parent"
    parent.mkdir()
    os.chown(parent, -1, os.getegid())
    os.chmod(parent, 0o775)
    assert private_dir(parent / "approved") == parent / "approved"


def test_a_non_folder_is_never_taken_for_the_private_folder(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("")
    with pytest.raises(ApprovedCopyError) as caught:
        _check_private(os.stat(tmp_path / "file"), "the/path")
    assert str(caught.value) == "the/path is a regular file, not a folder"


def test_the_copies_must_live_outside_manifest_dir(manifests: Path) -> None:
    assert copy_refused(lambda: ensure_outside(manifests / "approved", manifests)) == (
        f"{manifests}/approved is inside MANIFEST_DIR ({manifests}); approved copies must be kept apart from "
        "the files that are approved"
    )
    ensure_outside(manifests.parent / "approved", manifests)


def test_failing_system_calls_on_the_way_are_named(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    state = tmp_path / "state"
    state.mkdir()
    fail_open(monkeypatch, "state", errno.EACCES)
    assert copy_refused(lambda: private_dir(state / "approved")) == f"cannot open {state} (Permission denied)"
    fail_open(monkeypatch, "approved", errno.EACCES)
    assert copy_refused(lambda: private_dir(state / "approved")) == (
        f"cannot open {state}/approved (Permission denied)"
    )
    monkeypatch.setattr(manifest_files.os, "open", REAL_OPEN)

    def no_space(*args: Any, **kwargs: Any) -> None:
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(manifest_files.os, "mkdir", no_space)
    assert copy_refused(lambda: private_dir(state / "new")) == (
        f"cannot create {state}/new (No space left on device)"
    )


# --- the approved copy -------------------------------------------------------------------------------


def test_copy_names_are_cut_to_64_characters_and_stripped_of_dots(tmp_path: Path) -> None:
    assert approved_copy_name("ap1", "/m/" + "a" * 100 + ".yaml") == "ap1-" + "a" * 64 + ".yaml"
    assert approved_copy_name("ap1", "/m/._web_.yaml") == "ap1-web.yaml"
    assert approved_copy_name("ap1", "/m/...yaml") == "ap1-manifest.yaml"


@pytest.fixture
def approved(tmp_path: Path) -> Path:
    return tmp_path / "approved"


def test_content_that_is_not_utf8_cannot_be_written(approved: Path) -> None:
    assert copy_refused(lambda: write_approved_copy(approved, "ap1", "/m/web.yaml", "a: \ud800")) == (
        "the approved content cannot be written as UTF-8 (surrogates not allowed)"
    )


def test_a_file_that_cannot_be_created_is_named(approved: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    fail_open(monkeypatch, "ap1-web.yaml", errno.ENOSPC)
    assert copy_refused(lambda: write_approved_copy(approved, "ap1", "/m/web.yaml", "a: 1\n")) == (
        f"cannot create {approved}/ap1-web.yaml (No space left on device)"
    )


@pytest.fixture
def failing_write(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    def write(fd: int, data: Any) -> int:
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(manifest_files.os, "write", write)
    yield


@pytest.mark.usefixtures("failing_write")
def test_a_failed_write_leaves_no_file_behind(approved: Path) -> None:
    assert copy_refused(lambda: write_approved_copy(approved, "ap1", "/m/web.yaml", "a: 1\n")) == (
        f"cannot write {approved}/ap1-web.yaml (No space left on device)"
    )
    assert list(approved.iterdir()) == []


@pytest.mark.usefixtures("failing_write")
def test_a_failed_cleanup_still_reports_the_write(approved: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def unlink(*args: Any, **kwargs: Any) -> None:
        raise OSError(errno.EIO, os.strerror(errno.EIO))

    monkeypatch.setattr(manifest_files.os, "unlink", unlink)
    assert copy_refused(lambda: write_approved_copy(approved, "ap1", "/m/web.yaml", "a: 1\n")) == (
        f"cannot write {approved}/ap1-web.yaml (No space left on device)"
    )


def test_a_short_write_is_continued_until_everything_is_written(
    approved: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    real_write = os.write
    monkeypatch.setattr(manifest_files.os, "write", lambda fd, data: real_write(fd, bytes(data[:3])))
    path = write_approved_copy(approved, "ap1", "/m/web.yaml", "kind: ConfigMap\n")
    assert path.read_text() == "kind: ConfigMap\n"
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600


def test_a_group_is_ours_alone_for_a_non_root_bot_too(
    group_of: Callable[..., None], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Running as uid 1000: members that are the bot itself or root are trusted, anyone else is not."""
    monkeypatch.setattr(manifest_files.os, "geteuid", lambda: 1000)
    gid = os.getegid()
    group_of(["bot", "root"], [("bot", 1000), ("root", 0)], {"bot": 1000, "root": 0})
    assert _sole_group(gid) is True
    group_of(["bot", "daemon"], [("bot", 1000)], {"bot": 1000, "daemon": 1})
    assert _sole_group(gid) is False


def test_a_root_folder_open_to_everyone_is_named_as_slash(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls = {"n": 0}

    def fstat(fd: int) -> os.stat_result:
        calls["n"] += 1
        real = REAL_FSTAT(fd)
        if calls["n"] > 1:
            return real
        values = list(real)
        values[stat.ST_MODE] = stat.S_IFDIR | 0o777  # "/" writable by anyone, without the sticky bit
        return os.stat_result(values)

    monkeypatch.setattr(manifest_files.os, "fstat", fstat)
    assert copy_refused(lambda: private_dir(tmp_path / "approved")) == (
        "/ is writable by others (mode 0777); run chmod o-w on it"
    )


def test_a_link_in_place_of_the_private_folder_is_named_as_a_link(tmp_path: Path) -> None:
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "approved").symlink_to(tmp_path)
    assert copy_refused(lambda: private_dir(tmp_path / "sub" / "approved")) == (
        f"{tmp_path}/sub/approved is a symbolic link, not a folder"
    )


def test_copy_names_keep_capitals_and_drop_only_dots_and_underscores_at_the_ends() -> None:
    assert approved_copy_name("ap1", "/m/X-Web_.yaml") == "ap1-X-Web.yaml"
