"""Files read for an approval card and the approved copies: no link, pipe, device or foreign folder."""

from __future__ import annotations

import grp
import os
import pwd
import stat
import threading
from collections.abc import Callable
from pathlib import Path

import pytest

from agents.gate import manifests as manifest_files
from agents.gate.manifests import (
    ApprovedCopyError,
    ManifestRefused,
    approved_copy_name,
    private_dir,
    read_for_approval,
    write_approved_copy,
)

MAX = 1024
as_root = pytest.mark.skipif(os.geteuid() != 0, reason="changing a folder's owner needs root")


@pytest.fixture
def manifests(tmp_path: Path) -> Path:
    folder = tmp_path / "manifests"
    folder.mkdir()
    (tmp_path / "kubeconfig.yaml").write_text("users: [{user: {token: secret}}]\n")  # outside
    return folder


def read(manifests: Path, path: str | Path, max_bytes: int = MAX) -> str:
    return read_for_approval(manifests, str(path), max_bytes=max_bytes, suffixes=(".yaml", ".yml", ".json"))


def refused(manifests: Path, path: str | Path, max_bytes: int = MAX) -> str:
    with pytest.raises(ManifestRefused) as caught:
        read(manifests, path, max_bytes)
    return str(caught.value)


def within(seconds: float, call: Callable[[], object]) -> object:
    """`call()`'s result or exception, failing (instead of hanging) if it blocks."""
    outcome: list[object] = []

    def run() -> None:
        try:
            outcome.append(call())
        except BaseException as exc:
            outcome.append(exc)

    worker = threading.Thread(target=run, daemon=True)
    worker.start()
    worker.join(seconds)
    assert not worker.is_alive(), f"blocked for more than {seconds} s"
    return outcome[0]


# --- read_for_approval ---------------------------------------------------------------------------------


def test_a_plain_file_below_manifest_dir_is_read(manifests: Path) -> None:
    (manifests / "web.yaml").write_text("kind: Deployment\n")
    (manifests / "team" / "api").mkdir(parents=True)
    (manifests / "team" / "api" / "svc.JSON").write_text('{"kind": "Service"}')
    exact = manifests / "exact.yml"
    exact.write_text("x" * MAX)
    assert read(manifests, manifests / "web.yaml") == "kind: Deployment\n"
    assert read(manifests, manifests / "team" / "api" / "svc.JSON") == '{"kind": "Service"}'
    assert read(manifests, exact) == "x" * MAX


def test_manifest_dir_itself_may_be_a_link_set_by_the_operator(tmp_path: Path, manifests: Path) -> None:
    (manifests / "web.yaml").write_text("kind: Deployment\n")
    configured = tmp_path / "configured"
    configured.symlink_to(manifests)
    assert read(configured, configured / "web.yaml") == "kind: Deployment\n"  # as configured
    assert read(configured, manifests / "web.yaml") == "kind: Deployment\n"  # as resolved


@pytest.mark.parametrize("target", ["inside", "outside"])
def test_a_symlink_as_the_file_is_refused(tmp_path: Path, manifests: Path, target: str) -> None:
    (manifests / "real.yaml").write_text("kind: Deployment\n")
    pointed = manifests / "real.yaml" if target == "inside" else tmp_path / "kubeconfig.yaml"
    (manifests / "link.yaml").symlink_to(pointed)
    assert "symbolic link" in refused(manifests, manifests / "link.yaml")


@pytest.mark.parametrize("target", ["inside", "outside"])
def test_a_symlinked_folder_below_manifest_dir_is_refused(
    tmp_path: Path, manifests: Path, target: str
) -> None:
    real = manifests / "real" if target == "inside" else tmp_path / "elsewhere"
    (real / "deep").mkdir(parents=True)
    (real / "deep" / "web.yaml").write_text("kind: Deployment\n")
    (manifests / "team").symlink_to(real)
    why = refused(manifests, manifests / "team" / "deep" / "web.yaml")
    assert "'team' is a symbolic link" in why


def test_a_fifo_is_refused_without_blocking(manifests: Path) -> None:
    os.mkfifo(manifests / "pipe.yaml")  # no writer: a plain open() would wait forever
    outcome = within(10, lambda: read(manifests, manifests / "pipe.yaml"))
    assert isinstance(outcome, ManifestRefused) and "named pipe" in str(outcome)


def test_a_device_is_refused(manifests: Path) -> None:
    try:
        os.mknod(manifests / "zero.yaml", 0o600 | stat.S_IFCHR, os.makedev(1, 5))  # /dev/zero
    except OSError as exc:
        pytest.skip(f"cannot create a device node here ({exc.strerror})")
    outcome = within(10, lambda: read(manifests, manifests / "zero.yaml"))
    assert isinstance(outcome, ManifestRefused) and "a device" in str(outcome)


def test_a_link_to_a_device_is_refused(manifests: Path) -> None:
    (manifests / "zero.yaml").symlink_to("/dev/zero")
    assert "symbolic link" in refused(manifests, manifests / "zero.yaml")


@pytest.mark.parametrize(
    "relative", ["../kubeconfig.yaml", "sub/../../kubeconfig.yaml", "./../kubeconfig.yaml"]
)
def test_dot_dot_never_escapes(manifests: Path, relative: str) -> None:
    (manifests / "sub").mkdir()
    assert "'..'" in refused(manifests, f"{manifests}/{relative}")


def test_files_outside_manifest_dir_are_refused(tmp_path: Path, manifests: Path) -> None:
    sibling = tmp_path / "manifests-evil"  # shares the prefix, not the folder
    sibling.mkdir()
    (sibling / "web.yaml").write_text("kind: Deployment\n")
    for outside in (tmp_path / "kubeconfig.yaml", sibling / "web.yaml", Path("/etc/passwd.yaml")):
        assert "outside MANIFEST_DIR" in refused(manifests, outside)


@pytest.mark.parametrize("path", ["", "relative/web.yaml", "/proc/self/environ", "MANIFEST/web.txt"])
def test_only_absolute_paths_with_a_manifest_suffix_are_read(manifests: Path, path: str) -> None:
    why = refused(manifests, path.replace("MANIFEST", str(manifests)))
    assert "must be an absolute path to a .yaml/.yml/.json file" in why


def test_too_large_is_refused(manifests: Path) -> None:
    (manifests / "big.yaml").write_text("x" * (MAX + 1))
    assert "too large to show" in refused(manifests, manifests / "big.yaml")


def test_other_odd_files_are_refused(tmp_path: Path, manifests: Path) -> None:
    (manifests / "folder.yaml").mkdir()
    (manifests / "binary.yaml").write_bytes(b"\xff\xfe\x00kind")
    os.link(tmp_path / "kubeconfig.yaml", manifests / "hard.yaml")  # the kubeconfig, by another name
    assert "it is a folder" in refused(manifests, manifests / "folder.yaml")
    assert "not UTF-8" in refused(manifests, manifests / "binary.yaml")
    assert "hard links" in refused(manifests, manifests / "hard.yaml")
    assert "cannot read" in refused(manifests, manifests / "gone.yaml")
    assert "NUL" in refused(manifests, f"{manifests}/web\0.yaml")
    assert "cannot be used" in refused(tmp_path / "missing", tmp_path / "missing" / "web.yaml")


@pytest.mark.parametrize("swap", ["link", "fifo", "hard link", "big"])
def test_a_swap_right_after_the_first_look_changes_nothing(
    tmp_path: Path, manifests: Path, monkeypatch: pytest.MonkeyPatch, swap: str
) -> None:
    """The attacker wins the race: the file is replaced just after the (lstat) look that keeps devices
    unopened. Every decision is made again on the opened descriptor, so a reader that trusted its look
    (lstat, then open and read) would show the kubeconfig, or hang on the pipe; this one refuses."""
    target = manifests / "web.yaml"
    target.write_text("colour: blue\n")
    real_stat = os.stat

    def look_then_swap(*args: object, **kwargs: object) -> os.stat_result:
        result = real_stat(*args, **kwargs)  # type: ignore[arg-type]
        if kwargs.get("dir_fd") is not None and target.exists():
            staged = manifests / "staged"
            if swap == "link":
                staged.symlink_to(tmp_path / "kubeconfig.yaml")
            elif swap == "fifo":
                os.mkfifo(staged)
            elif swap == "hard link":
                os.link(tmp_path / "kubeconfig.yaml", staged)
            else:
                staged.write_text("x" * (MAX + 1))
            os.rename(staged, target)
        return result

    monkeypatch.setattr(manifest_files.os, "stat", look_then_swap)
    outcome = within(10, lambda: read(manifests, target))
    assert isinstance(outcome, ManifestRefused), outcome
    assert {"link": "symbolic link", "fifo": "named pipe", "hard link": "hard links", "big": "too large"}[
        swap
    ] in str(outcome)


def test_swapping_the_file_concurrently_never_reads_the_target(tmp_path: Path, manifests: Path) -> None:
    """Under real concurrency too: whatever the file is swapped for, only its own content is ever read."""
    target = manifests / "web.yaml"
    stop = threading.Event()

    def swapper() -> None:
        staged = manifests / "staged"
        while not stop.is_set():  # each made aside, then renamed over the target: an atomic swap
            for kind in ("file", "link", "fifo"):
                if kind == "file":
                    staged.write_text("colour: blue\n")
                elif kind == "link":
                    staged.symlink_to(tmp_path / "kubeconfig.yaml")
                else:
                    os.mkfifo(staged)
                os.rename(staged, target)

    def reads() -> list[str]:
        seen = []
        for _ in range(3000):
            try:
                seen.append(read(manifests, target))
            except ManifestRefused:
                seen.append("refused")
        return seen

    thread = threading.Thread(target=swapper, daemon=True)
    thread.start()
    try:
        outcome = within(60, reads)
    finally:
        stop.set()
        thread.join(10)
    assert isinstance(outcome, list)
    assert set(outcome) <= {"colour: blue\n", "refused"}  # never the kubeconfig, never a hang


# --- private_dir ---------------------------------------------------------------------------------------


def test_the_private_folder_is_created_for_the_bot_alone(tmp_path: Path) -> None:
    created = private_dir(Path("var/state/approved"))  # relative to the working folder, like settings
    assert created == tmp_path / "var" / "state" / "approved" and created.is_absolute()
    info = os.lstat(created)
    assert stat.S_ISDIR(info.st_mode) and info.st_uid == os.geteuid()
    assert stat.S_IMODE(info.st_mode) & 0o077 == 0
    assert private_dir(created) == created  # once it exists, it is checked and used again


def test_a_planted_symlink_is_not_taken_for_the_private_folder(tmp_path: Path) -> None:
    planted = tmp_path / "attacker"
    planted.mkdir(mode=0o700)  # a folder that would pass every check, reached through a link
    (tmp_path / "approved").symlink_to(planted)
    with pytest.raises(ApprovedCopyError, match="approved is a symbolic link, not a folder"):
        private_dir(tmp_path / "approved")


def test_a_file_is_not_taken_for_the_private_folder(tmp_path: Path) -> None:
    (tmp_path / "approved").write_text("")
    with pytest.raises(ApprovedCopyError, match="is a regular file, not a folder"):
        private_dir(tmp_path / "approved")


@as_root
def test_a_private_folder_owned_by_someone_else_is_refused(tmp_path: Path) -> None:
    (tmp_path / "approved").mkdir(mode=0o700)
    os.chown(tmp_path / "approved", 12345, -1)
    with pytest.raises(ApprovedCopyError, match="is owned by uid 12345"):
        private_dir(tmp_path / "approved")


def test_a_private_folder_open_to_others_is_refused(tmp_path: Path) -> None:
    (tmp_path / "approved").mkdir()
    os.chmod(tmp_path / "approved", 0o777)
    with pytest.raises(ApprovedCopyError, match=r"open to others \(mode 0777\)"):
        private_dir(tmp_path / "approved")


@as_root
def test_a_private_folder_open_to_a_shared_group_is_refused(tmp_path: Path) -> None:
    (tmp_path / "approved").mkdir()
    os.chown(tmp_path / "approved", -1, 12345)
    os.chmod(tmp_path / "approved", 0o770)
    with pytest.raises(ApprovedCopyError, match=r"open to group 12345 \(mode 0770\)"):
        private_dir(tmp_path / "approved")


def test_kubernetes_fs_group_bits_are_accepted_only_if_the_group_is_ours_alone(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """fsGroup makes every folder on the volume 2770 with the pod's group: fine while nobody else is in it."""
    folder = tmp_path / "approved"
    folder.mkdir()
    os.chown(folder, -1, os.getegid())
    os.chmod(folder, 0o2770)
    me, gid = os.geteuid(), os.getegid()
    alone = [pwd.struct_passwd(("bot", "x", me, gid, "", "/data", "/bin/false"))]
    monkeypatch.setattr(manifest_files.pwd, "getpwall", lambda: alone)
    monkeypatch.setattr(manifest_files.grp, "getgrgid", lambda g: grp.struct_group(("bot", "x", g, [])))
    assert private_dir(folder) == folder
    shared = [*alone, pwd.struct_passwd(("eve", "x", 12345, gid, "", "/home/eve", "/bin/sh"))]
    monkeypatch.setattr(manifest_files.pwd, "getpwall", lambda: shared)
    with pytest.raises(ApprovedCopyError, match="which others belong to"):
        private_dir(folder)


def test_a_parent_writable_by_others_is_refused(tmp_path: Path) -> None:
    shared = tmp_path / "shared"
    shared.mkdir()
    os.chmod(shared, 0o777)  # anyone could rename the private folder away and put theirs in its place
    with pytest.raises(ApprovedCopyError, match=r"shared is writable by others \(mode 0777\)"):
        private_dir(shared / "approved")
    with pytest.raises(ApprovedCopyError, match="writable by others"):
        private_dir(shared / "deeper" / "approved")  # any folder above, not just the parent
    os.chmod(shared, 0o1777)  # sticky, like /tmp: others cannot rename or remove our entries
    assert private_dir(shared / "approved") == shared / "approved"


@as_root
def test_a_parent_owned_or_group_writable_by_someone_else_is_refused(tmp_path: Path) -> None:
    theirs = tmp_path / "theirs"
    theirs.mkdir(mode=0o755)
    os.chown(theirs, 12345, -1)  # they may chmod it and replace what is inside
    with pytest.raises(ApprovedCopyError, match="theirs is owned by uid 12345"):
        private_dir(theirs / "approved")
    team = tmp_path / "team"
    team.mkdir()
    os.chown(team, -1, 12345)
    os.chmod(team, 0o775)
    with pytest.raises(ApprovedCopyError, match="team is writable by group 12345"):
        private_dir(team / "approved")


def test_an_operator_link_above_the_private_folder_is_resolved(tmp_path: Path) -> None:
    (tmp_path / "real-state").mkdir()
    (tmp_path / "state").symlink_to(tmp_path / "real-state")
    assert private_dir(tmp_path / "state" / "approved") == tmp_path / "real-state" / "approved"


def test_the_private_folder_must_not_be_inside_manifest_dir(tmp_path: Path, manifests: Path) -> None:
    for inside in (manifests / ".approved", manifests):
        with pytest.raises(ApprovedCopyError, match="inside MANIFEST_DIR"):
            private_dir(inside, manifest_dir=manifests)
    assert private_dir(tmp_path / "approved", manifest_dir=manifests) == tmp_path / "approved"


# --- write_approved_copy -------------------------------------------------------------------------------


def test_the_approved_copy_is_a_new_private_file(tmp_path: Path, manifests: Path) -> None:
    copy = write_approved_copy(
        tmp_path / "var" / "approved", "AbC_1-x", str(manifests / "web.yaml"), "colour: blue\n"
    )
    assert copy == tmp_path / "var" / "approved" / "AbC_1-x-web.yaml"
    assert copy.read_text() == "colour: blue\n"
    assert stat.S_IMODE(os.lstat(copy).st_mode) == 0o600
    assert stat.S_IMODE(os.lstat(copy.parent).st_mode) & 0o077 == 0


def test_an_existing_file_at_the_name_is_never_reused(tmp_path: Path) -> None:
    folder = private_dir(tmp_path / "approved")
    (folder / "id1-web.yaml").write_text("colour: red\n")  # planted before the approval ran
    with pytest.raises(ApprovedCopyError, match="already exists"):
        write_approved_copy(folder, "id1", "web.yaml", "colour: blue\n")
    assert (folder / "id1-web.yaml").read_text() == "colour: red\n"


@pytest.mark.parametrize("dangling", [False, True])
def test_a_symlink_at_the_name_is_never_written_through(tmp_path: Path, dangling: bool) -> None:
    folder = private_dir(tmp_path / "approved")
    victim = tmp_path / "victim.yaml"
    if not dangling:
        victim.write_text("untouched\n")
    (folder / "id2-web.yaml").symlink_to(victim)
    with pytest.raises(ApprovedCopyError, match="already exists"):
        write_approved_copy(folder, "id2", "web.yaml", "colour: blue\n")
    assert victim.read_text() == "untouched\n" if not dangling else not victim.exists()


def test_the_folder_is_verified_again_on_every_write(tmp_path: Path) -> None:
    """Swapped for a link between the approval and the write: the copy is not written."""
    folder = private_dir(tmp_path / "approved")
    os.rename(folder, tmp_path / "old")
    (tmp_path / "attacker").mkdir(mode=0o700)
    folder.symlink_to(tmp_path / "attacker")
    with pytest.raises(ApprovedCopyError, match="symbolic link"):
        write_approved_copy(folder, "id3", "web.yaml", "colour: blue\n")
    assert list((tmp_path / "attacker").iterdir()) == []


def test_the_copy_is_refused_inside_manifest_dir(manifests: Path) -> None:
    with pytest.raises(ApprovedCopyError, match="inside MANIFEST_DIR"):
        write_approved_copy(manifests / ".approved", "id4", "web.yaml", "x: 1\n", manifest_dir=manifests)
    assert not (manifests / ".approved").exists()


@pytest.mark.parametrize("approval_id", ["", "../x", "a/b", "a b", "x" * 65, "id\n"])
def test_unusable_approval_ids_are_refused(tmp_path: Path, approval_id: str) -> None:
    with pytest.raises(ApprovedCopyError, match="approval id"):
        write_approved_copy(tmp_path / "approved", approval_id, "web.yaml", "x: 1\n")


@pytest.mark.parametrize(
    ("original", "name"),
    [
        ("/data/manifests/web.yaml", "id-web.yaml"),
        ("/data/manifests/../we b;rm -rf.YAML", "id-we_b_rm_-rf.YAML"),
        ("/data/manifests/.hidden.json", "id-hidden.json"),
        ("C:\\temp\\stack.yml", "id-stack.yml"),
        ("noext", "id-noext"),
        ("/data/manifests/..yaml", "id-manifest.yaml"),
        ("", "id-manifest"),
    ],
)
def test_copy_names_keep_a_safe_base_name_and_the_suffix(original: str, name: str) -> None:
    assert approved_copy_name("id", original) == name
