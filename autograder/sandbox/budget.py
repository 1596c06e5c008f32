"""The sandbox's budgets: one cgroup for its memory and processes, one tmpfs for its disk.

Both hold the whole sandbox, the warm runner and everything it forks, not one process:
- ``Cgroup``: a memory limit (no swap) and a process limit, as a cgroup made inside the
  grader's own (``/proc/self/cgroup``), never at the root of a hierarchy. cgroup v2 where its
  memory and pids controllers are available to the grader, else the v1 memory and pids
  controllers. When the memory is exhausted, the kernel kills a submission process (they
  volunteer through ``oom_score_adj``) and counts it; ``oom_kills`` reads that count.
- ``Tmpfs``: a size-limited tmpfs that holds the sandbox's home and /tmp. Past its size a
  write fails inside the sandbox (ENOSPC), and unmounting it frees everything at once.

Either may be impossible (an unprivileged grader, a locked-down container): ``make`` then
returns None with the reason in ``unavailable``, and the sandbox keeps per-process limits.
"""
import ctypes
import os
import signal
import time
from pathlib import Path

CGROUP_PREFIX = "nnkit-sandbox-"  # then the grader's pid and thread id
MS_NOSUID, MS_NODEV, MNT_DETACH = 2, 4, 2


def _write(path, value):
    with open(path, "w") as f:
        f.write(str(value))


def _mounts(fstype):
    """[(mount point, super options)] of the file systems of type ``fstype`` (/proc/self/mountinfo)."""
    found = []
    with open("/proc/self/mountinfo") as f:
        for line in f:
            fields = line.split()
            dash = fields.index("-")
            if fields[dash + 1] == fstype:
                found.append((fields[4], fields[dash + 3].split(",")))
    return found


def _own_cgroups():
    """{controller or "" for v2: this process's cgroup path}, from /proc/self/cgroup."""
    own = {}
    with open("/proc/self/cgroup") as f:
        for line in f:
            _, controllers, path = line.rstrip("\n").split(":", 2)
            for controller in controllers.split(",") if controllers else [""]:
                own[controller] = path
    return own


def _parent_folders():
    """The folders to make a sandbox's cgroup in, one per hierarchy: (version, [folders]).

    v2 when the grader's own cgroup offers both memory and pids to its children; else the
    v1 memory and pids hierarchies; else None.
    """
    own = _own_cgroups()
    for mount, _ in _mounts("cgroup2"):
        folder = Path(mount + own.get("", "/"))
        try:
            offered = set((folder / "cgroup.controllers").read_text().split())
        except OSError:
            continue
        if {"memory", "pids"} <= offered:
            return 2, [folder]
    folders = []
    for controller in ("memory", "pids"):
        mount = next((m for m, options in _mounts("cgroup") if controller in options), None)
        if mount is None or controller not in own:
            return None
        folders.append(Path(mount + own[controller]))
    return 1, folders


class Cgroup:
    """One sandbox's cgroup: its memory (no swap) and process limits, and its OOM kills.

    ``oom_watch`` is ([readable], [exceptional]): file descriptors that ``select`` reports
    when the kernel kills a process here for want of memory (v1: an eventfd registered on
    memory.oom_control; v2: memory.events, which signals a change as an exceptional event).
    """

    def __init__(self, version, folders):
        self.version, self.folders = version, folders
        self.oom_watch, self._fds = ([], []), []

    @classmethod
    def make(cls, name, memory_bytes, processes):
        """A new cgroup ``name`` with these limits, or None (see ``unavailable``)."""
        try:
            found = _parent_folders()
            if found is None:
                raise OSError("no cgroup v2 with memory and pids, nor v1 memory and pids controllers")
            version, parents = found
            cgroup = cls(version, [parent / name for parent in parents])
            for folder in cgroup.folders:
                folder.mkdir()
        except OSError as err:
            Cgroup.unavailable = f"no cgroup can be made here ({err.strerror or err})"
            return None
        try:
            cgroup.limit(memory_bytes, processes)
            cgroup._watch_oom()
        except OSError as err:
            cgroup.remove()
            Cgroup.unavailable = f"the cgroup's limits cannot be set ({err.strerror or err})"
            return None
        return cgroup

    unavailable = ""

    def limit(self, memory_bytes, processes):
        if self.version == 2:
            folder = self.folders[0]
            _write(folder / "memory.max", memory_bytes)
            if (folder / "memory.swap.max").exists():
                _write(folder / "memory.swap.max", 0)
            _write(folder / "pids.max", processes)
            return
        memory, pids = self.folders
        _write(memory / "memory.limit_in_bytes", memory_bytes)
        if (memory / "memory.memsw.limit_in_bytes").exists():  # memory and swap together: no swap
            _write(memory / "memory.memsw.limit_in_bytes", memory_bytes)
        _write(pids / "pids.max", processes)

    def _watch_oom(self):
        if self.version == 2:
            events = os.open(self.folders[0] / "memory.events", os.O_RDONLY | os.O_CLOEXEC)
            self._fds, self.oom_watch = [events], ([], [events])
            return
        event = os.eventfd(0, os.EFD_NONBLOCK | os.EFD_CLOEXEC)
        control = os.open(self.folders[0] / "memory.oom_control", os.O_RDONLY | os.O_CLOEXEC)
        self._fds, self.oom_watch = [event, control], ([event], [])
        _write(self.folders[0] / "cgroup.event_control", f"{event} {control}")

    def join(self):
        """Put the calling process (and so all it will start) in this cgroup."""
        for folder in self.folders:
            _write(folder / "cgroup.procs", os.getpid())

    def oom_kills(self):
        """How many processes the kernel has killed here for want of memory (and the watch is re-armed)."""
        try:
            if self.version == 2:  # read through the watched file: that re-arms its notification
                text = os.pread(self._fds[0], 4096, 0).decode()
            else:
                try:
                    os.eventfd_read(self._fds[0])
                except BlockingIOError:
                    pass
                text = (self.folders[0] / "memory.oom_control").read_text()
        except (OSError, IndexError):
            return 0
        for line in text.splitlines():
            key, _, value = line.partition(" ")
            if key == "oom_kill":
                return int(value)
        return 0

    def processes(self):
        pids = set()
        for folder in self.folders:
            try:
                pids.update(int(p) for p in (folder / "cgroup.procs").read_text().split())
            except OSError:
                pass
        return pids

    def remove(self, seconds=5.0):
        """Kill what is left in the cgroup and remove it (the kernel refuses while a process remains)."""
        for fd in self._fds:
            os.close(fd)
        self._fds, self.oom_watch = [], ([], [])
        deadline = time.monotonic() + seconds
        for folder in self.folders:
            while folder.exists():
                for pid in self.processes():
                    try:
                        os.kill(pid, signal.SIGKILL)
                    except ProcessLookupError:
                        pass
                try:
                    folder.rmdir()
                except FileNotFoundError:
                    break
                except OSError:
                    if time.monotonic() > deadline:
                        break
                    time.sleep(0.01)


def remove_orphaned_cgroups():
    """Remove the sandbox cgroups of grader processes that were killed before they could."""
    found = _parent_folders()
    if found is None:
        return
    version, parents = found
    for parent in parents:
        for folder in parent.glob(f"{CGROUP_PREFIX}*-*"):
            pid = folder.name[len(CGROUP_PREFIX):].split("-")[0]
            if pid.isdigit() and not _alive(int(pid)):
                Cgroup(version, [folder]).remove()


def _alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass
    return True


_libc = ctypes.CDLL(None, use_errno=True)


class Tmpfs:
    """A size-limited tmpfs mounted at ``folder``: all the sandbox may write."""

    unavailable = ""

    def __init__(self, folder):
        self.folder = Path(folder)

    @classmethod
    def make(cls, folder, size_bytes):
        """Mount a tmpfs of ``size_bytes`` at the existing empty ``folder``, or None (see ``unavailable``)."""
        options = f"size={size_bytes},mode=0755".encode()
        if _libc.mount(b"tmpfs", str(folder).encode(), b"tmpfs", MS_NOSUID | MS_NODEV, options) != 0:
            Tmpfs.unavailable = f"no tmpfs can be mounted here ({os.strerror(ctypes.get_errno())})"
            return None
        return cls(folder)

    def remove(self):
        unmount(self.folder)


def unmount(folder):
    """Detach whatever is mounted at ``folder``; nothing when nothing is."""
    _libc.umount2(str(folder).encode(), MNT_DETACH)
