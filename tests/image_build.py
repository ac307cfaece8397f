"""The project's image built from its Dockerfile with podman, as a user would, where no Docker
engine runs: a Debian bookworm base made with debootstrap (the one change: BASE_IMAGE), podman
with a storage of its own, and the image's command run as a container would run it, in a chroot
on an overlay of the image's files as the image's user (`podman run` needs setrlimit, which the
sandbox refuses)."""

from __future__ import annotations

import ast
import json
import os
import re
import shutil
import subprocess
import sys
from contextlib import ExitStack, contextmanager, suppress
from pathlib import Path
from urllib.parse import urlparse

from tests.conftest import ROOT

SUITE = "bookworm"
# What python:3.11-slim-bookworm, the Dockerfile's default base, brings: Python, venv, and the
# CA certificates; curl too, so the Dockerfile's apt step leaves /etc/ssl/certs alone (the
# host's certificates are mounted there read-only during the build).
BASE_PACKAGES = ("python3", "python3-venv", "ca-certificates", "curl")
BASE_IMAGE = f"localhost/vision-explorer-base:{SUITE}"
IMAGE = "localhost/vision-explorer:test"
# What Docker sets when an image names no PATH.
ENGINE_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
# podman 4.3 keeps these whatever its configuration says: each one it creates, the store removes.
PODMAN_FIXED_PATHS = ("/var/lib/containers", "/var/lib/containers/cache",
                      "/var/lib/containers/cache/blob-info-cache-v1.boltdb",
                      "/run/containers", "/run/containers/networks")


def debian_mirror() -> str:
    """The Debian mirror apt uses here for the suite (one-line or deb822 sources): the only one reachable."""
    apt = Path("/etc/apt")
    for path in [apt / "sources.list", *sorted((apt / "sources.list.d").glob("*.list"))]:
        for line in path.read_text().splitlines() if path.exists() else []:
            words = re.sub(r"\[[^]]*\]", "", line.split("#")[0]).split()
            if words[:1] == ["deb"] and len(words) > 2 and words[2] == SUITE:
                return words[1]
    for path in sorted((apt / "sources.list.d").glob("*.sources")):
        for stanza in re.split(r"\n\s*\n", path.read_text()):
            fields = dict(re.findall(r"^([\w-]+):\s*(.*)$", stanza, re.M))
            if "deb" in fields.get("Types", "").split() and SUITE in fields.get("Suites", "").split():
                return fields["URIs"].split()[0]
    raise AssertionError(f"apt has no source for Debian {SUITE} in /etc/apt/sources.list(.d)")


def debootstrap_base(root: Path, log: Path) -> None:
    """A minimal Debian root with BASE_PACKAGES, from the mirror apt uses."""
    with log.open("w") as out:
        result = subprocess.run(
            ["debootstrap", "--variant=minbase", f"--include={','.join(BASE_PACKAGES)}", SUITE, str(root),
             debian_mirror()], stdout=out, stderr=subprocess.STDOUT)
    assert result.returncode == 0, f"debootstrap failed; see {log}"


def copy_working_tree(destination: Path) -> None:
    """The working tree as git sees it: tracked files as they are now, and new files not yet
    added, but nothing git ignores (.venv, weights, workspaces, artifacts)."""
    listed = subprocess.run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
                            cwd=ROOT, capture_output=True, check=True).stdout
    for name in listed.decode().split("\0"):
        source = ROOT / name
        if name and (source.exists() or source.is_symlink()):  # a tracked file deleted here is left out
            (destination / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, destination / name, follow_symlinks=False)


def host_pip_setup(folder: Path) -> list[str]:
    """`-v` options giving the build this machine's pip configuration (files and PIP_* variables,
    merged as pip reads them, as /etc/pip.conf), the local folders and files it names, and the
    CA certificate folder, all read-only: pip inside the build reaches the registry as pip here does."""
    listed = subprocess.run([sys.executable, "-m", "pip", "config", "list"],
                            capture_output=True, text=True, check=True).stdout
    merged: dict[str, dict[str, str]] = {}
    for key, value in re.findall(r"^(\S+?)=(.*)$", listed, re.M):
        section, _, name = key.rpartition(".")
        merged.setdefault("global" if section == ":env:" else section, {})[name] = ast.literal_eval(value)
    conf = folder / "pip.conf"
    conf.write_text("".join(f"[{section}]\n" + "".join(f"{k} = {v}\n" for k, v in values.items())
                            for section, values in merged.items()))
    paths = [Path(os.environ.get("SSL_CERT_DIR", "/etc/ssl/certs"))]
    for value in (v for values in merged.values() for v in values.values()):
        for word in value.split():
            path = Path(urlparse(word).path if word.startswith("file:") else word)
            if word.startswith("file:") and path.name == "simple":
                path = path.parent  # a local index's pages link to files beside simple/
            if path.is_absolute():
                paths.append(path)
    paths = [p for p in dict.fromkeys(paths) if p.exists()]
    kept = [p for p in paths if not any(o in p.parents for o in paths)]
    return ["-v", f"{conf}:/etc/pip.conf:ro", *(f"-v={p}:{p}:ro" for p in kept)]


class PodmanStore:
    """podman with its storage, run folder, locks, events and network configuration in `folder`,
    so the machine's podman state is neither read nor changed; `close()` removes all of it."""

    def __init__(self, folder: Path):
        self.folder = folder
        (folder / "tmp").mkdir(parents=True)
        self.created = [p for p in PODMAN_FIXED_PATHS if not os.path.lexists(p)]
        (folder / "storage.conf").write_text(
            f'[storage]\ndriver = "overlay"\ngraphroot = "{folder}/storage"\nrunroot = "{folder}/run"\n')
        (folder / "containers.conf").write_text(
            f'[engine]\ntmp_dir = "{folder}/libpod"\nlock_type = "file"\nevents_logger = "file"\n'
            f'events_logfile_path = "{folder}/events.log"\n'
            f'[network]\nnetwork_config_dir = "{folder}/networks"\n')
        self.env = {**os.environ, "CONTAINERS_STORAGE_CONF": str(folder / "storage.conf"),
                    "CONTAINERS_CONF": str(folder / "containers.conf"), "TMPDIR": str(folder / "tmp")}

    def __call__(self, *args: str, log: Path | None = None, **kwargs) -> str:
        """Runs `podman args`; its output (or, with `log`, the log's name) goes into the failure message."""
        with ExitStack() as stack:
            out = stack.enter_context(log.open("w")) if log else subprocess.PIPE
            result = subprocess.run(["podman", *args], env=self.env, stdout=out, stderr=subprocess.STDOUT,
                                    text=True, **kwargs)
        assert result.returncode == 0, f"podman {args[0]} failed: {result.stdout or log}"
        return result.stdout

    def import_root(self, root: Path, name: str) -> None:
        tar = subprocess.Popen(["tar", "-C", str(root), "-c", "."], stdout=subprocess.PIPE)
        self("import", "-", name, stdin=tar.stdout)
        tar.stdout.close()
        assert tar.wait() == 0

    def config(self, image: str) -> dict:
        """The image's configuration as Docker writes it (User, Env, Cmd, Healthcheck, …)."""
        [inspected] = json.loads(self("image", "inspect", image))
        return {**inspected["Config"], "Healthcheck": inspected.get("Healthcheck")}

    @contextmanager
    def mounted(self, image: str):
        """The image's files, read-only, until the block ends."""
        root = Path(self("image", "mount", image).strip())
        try:
            yield root
        finally:
            self("image", "unmount", image)

    def close(self) -> None:
        subprocess.run(["podman", "image", "unmount", "--all"], env=self.env, capture_output=True)
        remove_tree(self.folder)  # with the overlay driver's own bind mount of its folder
        for path in reversed(self.created):
            with suppress(FileNotFoundError, OSError):
                os.rmdir(path) if os.path.isdir(path) else os.unlink(path)


def unmount_all_under(folder: Path) -> None:
    """Unmounts whatever is mounted at or under `folder`, deepest first."""
    points = {Path(line.split()[4]) for line in Path("/proc/self/mountinfo").read_text().splitlines()}
    inside = [p for p in points if p == folder or folder in p.parents]
    for point in sorted(inside, key=lambda p: -len(p.parts)):
        if subprocess.run(["umount", str(point)], capture_output=True).returncode:
            subprocess.run(["umount", "-l", str(point)], capture_output=True)


def remove_tree(folder: Path) -> None:
    """Deletes `folder` once nothing is mounted in it, never crossing into another file system
    (a /dev or /proc bound in that failed to unmount stays untouched)."""
    unmount_all_under(folder)
    subprocess.run(["rm", "-rf", "--one-file-system", str(folder)], capture_output=True)


@contextmanager
def container_root(image_root: Path, config: dict, folder: Path):
    """A writable root as a container gets one: an overlay on the image's files (its upper folder,
    `folder`/upper, holds every file written), /proc, a read-only /sys, /dev, a tmpfs /tmp, an
    /etc/hosts naming localhost, and a fresh folder for each volume, owned as in the image;
    yields the merged root."""
    upper, work, merged = folder / "upper", folder / "work", folder / "merged"
    for path in (upper, work, merged):
        path.mkdir(parents=True)

    def mount(target: Path, *args: str) -> None:
        subprocess.run(["mount", *args, str(target)], check=True)

    try:
        layers = f"lowerdir={image_root},upperdir={upper},workdir={work}"
        mount(merged, "-t", "overlay", "overlay", "-o", layers)
        (merged / "etc" / "hosts").write_text("127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost\n")
        mount(merged / "proc", "-t", "proc", "proc")
        mount(merged / "sys", "-t", "sysfs", "-o", "ro", "sysfs")
        mount(merged / "dev", "--rbind", "/dev")
        mount(merged / "tmp", "-t", "tmpfs", "-o", "mode=1777", "tmpfs")
        for volume in config.get("Volumes") or {}:
            inside = image_root / volume.lstrip("/")
            outside = folder / "volumes" / volume.strip("/").replace("/", "_")
            outside.mkdir(parents=True)
            os.chown(outside, inside.stat().st_uid, inside.stat().st_gid)
            mount(merged / volume.lstrip("/"), "--bind", str(outside))
        yield merged
    finally:
        unmount_all_under(merged)


def image_user(root: Path, config: dict) -> tuple[int, int, str]:
    """(uid, gid, home) of the image's USER, looked up in its /etc/passwd as Docker does."""
    user, _, group = config["User"].partition(":")
    for line in (root / "etc" / "passwd").read_text().splitlines():
        name, _, uid, gid, _, home, _ = line.split(":")
        if user in (name, uid):
            return int(uid), int(group or gid), home
    return int(user), int(group or user), "/"


def container_env(root: Path, config: dict, **extra: str) -> dict[str, str]:
    """The environment a container of the image starts with: the image's Env, PATH and HOME."""
    env = dict(item.split("=", 1) for item in config.get("Env") or [])
    env.setdefault("PATH", ENGINE_PATH)
    env.setdefault("HOME", image_user(root, config)[2])
    return {**env, "HOSTNAME": "vision-explorer", **extra}


def in_container(root: Path, config: dict, argv: list[str], env: dict[str, str], **popen) -> subprocess.Popen:
    """Starts `argv` as the container would: inside `root`, in the image's WorkingDir, as its USER
    (plain chroot as root, then down to that user and group, with no supplementary group)."""
    uid, gid, _ = image_user(root, config)
    workdir = config.get("WorkingDir") or "/"

    def enter() -> None:
        os.chroot(root)
        os.chdir(workdir)
        os.setgroups([])
        os.setgid(gid)
        os.setuid(uid)

    return subprocess.Popen(argv, env=env, preexec_fn=enter, start_new_session=True, **popen)


def process_tree(pid: int) -> list[int]:
    """`pid` and every process under it (from each process's parent in /proc/*/stat)."""
    parents = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        with suppress(FileNotFoundError, ProcessLookupError):
            parents[int(stat.parent.name)] = int(stat.read_text().rpartition(")")[2].split()[1])
    tree = [pid]
    for parent in tree:
        tree += [child for child, its_parent in parents.items() if its_parent == parent]
    return tree


def credentials(pid: int) -> dict[str, list[int]]:
    """The real, effective, saved and filesystem ids of a process, and its supplementary groups."""
    status = dict(line.split(":", 1) for line in Path(f"/proc/{pid}/status").read_text().splitlines())
    return {key: [int(n) for n in status[key].split()] for key in ("Uid", "Gid", "Groups")}


def file_listing(folder: Path) -> dict[str, int]:
    """Every file under `folder`, by relative name, with its size."""
    return {str(path.relative_to(folder)): path.lstat().st_size
            for path in folder.rglob("*") if not path.is_dir() or path.is_symlink()}
