"""A checkpoint is a set of files saved and loaded as a unit; this module names them and keeps them whole.

One save under a label (``latest``, ``5``, ``iter_400``) writes

* ``{label}_net_{name}.pth`` for each network: the reference's plain state_dict, unchanged, so the reference
  still loads it with ``strict=True`` (nothing is added to it);
* ``{label}_train_state.pth`` when the save is resumable: optimizers, schedules, progress, random states,
  plus the save id and the SHA-256 of each weight file it belongs with;
* ``{label}_manifest.json``, the commit record: save id, epoch, images seen, and the size and SHA-256 of
  every file of the set (``sha256sum`` checks them by hand).

A save is a small transaction. Every file is first written whole to ``FILE.tmp``; the manifest is then
renamed into place (the commit point); then each ``.tmp`` is renamed over its file. A failure before the
commit removes the ``.tmp`` files and leaves the previous set as it was; an interruption during the renames
is finished by the next load (each ``.tmp`` whose hash the manifest names is renamed into place). On resume,
a train state whose weight hashes do not match the weight files belongs to another save and is not used.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import json
import os
import uuid
from collections.abc import Mapping

import torch

from util.errors import UserError

TMP_SUFFIX = ".tmp"


# -- file names: the one place they are spelled -----------------------------------------------------------
def weights_file(label: str | int, net_name: str) -> str:
    return f"{label}_net_{net_name}.pth"


def train_state_file(label: str | int) -> str:
    return f"{label}_train_state.pth"


def manifest_file(label: str | int) -> str:
    return f"{label}_manifest.json"


def label_files(save_dir: str, label: str | int) -> list[str]:
    """The files of ``label`` now in ``save_dir`` (weights, train state, manifest), sorted."""
    if not os.path.isdir(save_dir):
        return []
    names = {train_state_file(label), manifest_file(label)}
    prefix = weights_file(label, "").removesuffix(".pth")
    return sorted(
        f for f in os.listdir(save_dir) if f in names or (f.startswith(prefix) and f.endswith(".pth"))
    )


def label_of(file_name: str) -> str | None:
    """The label a checkpoint file belongs to (``latest_net_G.pth`` -> ``latest``); None for other files."""
    weights_marker = weights_file("", "").removesuffix(".pth")  # "_net_"
    if weights_marker in file_name and file_name.endswith(".pth"):
        return file_name.split(weights_marker)[0]
    for suffix in (train_state_file(""), manifest_file("")):
        if file_name.endswith(suffix) and len(file_name) > len(suffix):
            return file_name[: -len(suffix)]
    return None


def sha256(path: str) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(1 << 22):
            digest.update(block)
    return digest.hexdigest()


# -- saving -----------------------------------------------------------------------------------------------
def save_set(save_dir: str, label: str | int, weights: Mapping[str, dict], train_state: dict | None,
             info: Mapping[str, object]) -> str:  # fmt: skip
    """Save one checkpoint set under ``label``; return its save id.

    ``weights`` maps network names to CPU state_dicts; ``train_state`` is None for a weights-only save (a
    numbered epoch), which also removes an older train state of the label (it belongs to another save).
    ``info`` (epoch, images seen) goes into the manifest. A failed write raises one UserError.
    """
    save_id = uuid.uuid4().hex
    files: dict[str, dict] = {weights_file(label, name): state for name, state in weights.items()}
    written: list[str] = []
    try:
        os.makedirs(save_dir, exist_ok=True)
        record = {}
        for name, obj in files.items():
            written.append(name)
            record[name] = _write_tmp(obj, os.path.join(save_dir, name))
        if train_state is not None:
            name = train_state_file(label)
            written.append(name)
            state = {
                **train_state,
                "save_id": save_id,
                "weights": {f: r["sha256"] for f, r in record.items()},
            }
            record[name] = _write_tmp(state, os.path.join(save_dir, name))
        manifest = {"save_id": save_id, "label": str(label), **info, "files": record}
        written.append(manifest_file(label))
        _write_manifest(manifest, os.path.join(save_dir, manifest_file(label)))  # the commit point
    except BaseException as err:  # a second Ctrl-C too: no .tmp is left behind
        for name in written:
            with contextlib.suppress(OSError):
                os.remove(os.path.join(save_dir, name + TMP_SUFFIX))
        if isinstance(err, OSError):
            raise UserError(
                _failed_save_message(save_dir, label, written[-1] if written else "", err)
            ) from None
        raise
    try:
        _commit(save_dir, manifest)
    except OSError as err:
        raise UserError(
            f"checkpoint '{label}' in {save_dir} was written but not all of it renamed into place ({err.strerror}); "
            "the next --continue_train finishes it"
        ) from None
    if train_state is None:
        drop_train_state(save_dir, label)
    return save_id


def keep_numbered_train_states(save_dir: str, keep: int) -> None:
    """Drop the training state of every numbered epoch but the last ``keep`` (``--keep_train_states``)."""
    suffix = train_state_file("")
    epochs = sorted(
        int(f[: -len(suffix)])
        for f in os.listdir(save_dir)
        if f.endswith(suffix) and f[: -len(suffix)].isdigit()
    )
    for epoch in epochs[: max(len(epochs) - keep, 0)]:
        drop_train_state(save_dir, epoch)


def drop_train_state(save_dir: str, label: str | int) -> None:
    """Remove a label's training state (and its line in the manifest): the weights stay, resumable the
    reference's way."""
    with contextlib.suppress(FileNotFoundError):
        os.remove(os.path.join(save_dir, train_state_file(label)))
    manifest = read_manifest(save_dir, label)
    if manifest is not None and manifest["files"].pop(train_state_file(label), None) is not None:
        _write_manifest(manifest, os.path.join(save_dir, manifest_file(label)))


class _HashingWriter:
    """A write-only file that hashes what passes through it, so a save is not read back to be hashed."""

    def __init__(self, f) -> None:
        self.f, self.digest, self.size = f, hashlib.sha256(), 0

    def write(self, data) -> int:
        self.digest.update(data)
        self.size += len(data)
        return self.f.write(data)

    def flush(self) -> None:
        self.f.flush()


def _write_tmp(obj: object, path: str) -> dict:
    """Write ``obj`` whole to ``path + .tmp`` (flushed to disk); return its size and hash."""
    with open(path + TMP_SUFFIX, "wb") as f:
        out = _HashingWriter(f)
        torch.save(obj, out)  # the same bytes as torch.save(obj, f)
        f.flush()
        os.fsync(f.fileno())
    return {"bytes": out.size, "sha256": out.digest.hexdigest()}


def _write_manifest(manifest: dict, path: str) -> None:
    tmp = path + TMP_SUFFIX
    with open(tmp, "w") as f:
        json.dump(manifest, f, indent=1)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


def _commit(save_dir: str, manifest: dict) -> None:
    for name in manifest["files"]:
        os.replace(os.path.join(save_dir, name + TMP_SUFFIX), os.path.join(save_dir, name))
    with contextlib.suppress(OSError):  # make the renames durable where the platform allows it
        fd = os.open(save_dir, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def _failed_save_message(save_dir: str, label: str | int, file: str, err: OSError) -> str:
    reason = {errno.ENOSPC: "the disk is full", errno.EROFS: "the file system is read-only",
              errno.EACCES: "permission denied", errno.EDQUOT: "the disk quota is exceeded"}.get(
        err.errno, err.strerror or type(err).__name__)  # fmt: skip
    intact = label_files(save_dir, label)
    kept = (
        f"the previous '{label}' files are intact: {', '.join(intact)}"
        if intact
        else f"no earlier '{label}' save exists"
    )
    return (
        f"cannot save checkpoint '{label}' in {save_dir}: {reason} (writing {file}); nothing of this save was "
        f"kept and {kept}; free space or fix the folder's permissions (or use another --checkpoints_dir), then "
        "resume with --continue_train"
    )


# -- loading ----------------------------------------------------------------------------------------------
def read_manifest(save_dir: str, label: str | int) -> dict | None:
    path = os.path.join(save_dir, manifest_file(label))
    if not os.path.isfile(path):
        return None
    try:
        with open(path) as f:
            return json.load(f)
    except (OSError, ValueError):
        return None  # a manifest is written whole (renamed into place); an unreadable one is not ours


def finish_interrupted_save(save_dir: str, label: str | int) -> list[str]:
    """Rename into place each ``.tmp`` file the manifest commits (a save stopped between its renames)."""
    manifest = read_manifest(save_dir, label) or {"files": {}}
    finished = []
    for name, record in manifest["files"].items():
        tmp = os.path.join(save_dir, name + TMP_SUFFIX)
        if os.path.isfile(tmp) and sha256(tmp) == record["sha256"]:
            os.replace(tmp, os.path.join(save_dir, name))
            finished.append(name)
    return finished


def load_train_state(save_dir: str, label: str | int) -> tuple[dict | None, str | None]:
    """The label's training state if it belongs with the weight files beside it.

    Returns (state, None) for a whole set, (None, None) when the label has no train state (a numbered epoch,
    a reference checkpoint), and (None, why) when the train state belongs to another save.
    """
    path = os.path.join(save_dir, train_state_file(label))
    if not os.path.isfile(path):
        return None, None
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:  # a file we cannot read is no state to resume; say which and why
        return None, f"{train_state_file(label)} cannot be read ({type(err).__name__})"
    expected = state.get("weights")
    if expected is None:  # written before checkpoints were sets: nothing to check it against
        return state, None
    differ = [f for f, digest in expected.items() if not _matches(os.path.join(save_dir, f), digest)]
    if differ:
        return None, (
            f"{train_state_file(label)} belongs to save {state['save_id'][:8]}, but {', '.join(differ)} "
            "is missing or from another save (a save interrupted between its files, or files copied by hand)"
        )
    return state, None


def _matches(path: str, digest: str) -> bool:
    return os.path.isfile(path) and sha256(path) == digest
