"""Reading the user's text files and writing outputs safely.

Reading: `read_text` gives a file's text (UTF-8, with or without a byte-order mark) or one
line naming the file and the fix (a folder, a missing file, another encoding).

Writing: every output goes through `write_atomically`, which writes a temporary file in
the target's folder and renames it over the target, so a reader never sees a half-written
file and a failure leaves the earlier file byte-identical. A symlink is written through
(its target is replaced, the link stays). `check_outputs` refuses, before any work, a
target that is an input of the run, a folder, a device or pipe, in a missing or read-only
folder, or named with an extension that does not match what is written there.
`outputs_together()` makes several outputs one unit: none is renamed into place until
all are written.
"""

from __future__ import annotations

import json
import math
import os
import stat
import tempfile
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager, suppress
from contextvars import ContextVar
from dataclasses import dataclass
from pathlib import Path

from taxopt.errors import InputError, TaxoptError

# What each kind of output must be named, and what it holds (for messages).
SUFFIXES = {
    "xlsx": (".xlsx", "an Excel workbook"),
    "json": (".json", "JSON"),
    "csv": (".csv", "CSV"),
    "lp": (".lp", "an LP model file"),
}


# ---------------------------------------------------------------------------------------
# Reading


def read_text(path: str | Path, what: str = "file") -> str:
    """The text of a UTF-8 file (a leading byte-order mark is dropped).

    Raises InputError naming the file when it is missing, a folder, unreadable or not
    UTF-8 (`what` names the file's role: "plan file", "rule file", ...).
    """
    path = Path(path)
    if path.is_dir():
        raise InputError(f"{path}: is a folder, not a {what}; give the {what} itself")
    if not path.exists():
        raise InputError(f"{path}: no such {what}")
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise InputError(f"{path}: cannot be read: {exc.strerror}") from None
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InputError(
            f"{path}: is not UTF-8 text (byte {exc.start} is 0x{raw[exc.start]:02x}); "
            f"save the {what} as UTF-8"
        ) from None


def other_separator(header: list[str]) -> str | None:
    """The separator a one-column CSV header really uses (semicolons, tabs, bars), so the
    message can say so instead of listing every column as missing; None if none."""
    if len(header) != 1:
        return None
    for separator, name in ((";", "semicolons"), ("\t", "tabs"), ("|", "bars")):
        if separator in header[0]:
            return name
    return None


def separator_problem(path: str | Path, header: list[str]) -> InputError | None:
    name = other_separator(header)
    if name is None:
        return None
    return InputError(
        f"{path}: line 1: the columns are separated by {name}; taxopt reads comma-separated "
        "CSV: save the file with commas as separators"
    )


# ---------------------------------------------------------------------------------------
# Checking output paths


@dataclass(frozen=True)
class Output:
    """An output the user asked for: its path, what it holds and the flag that named it."""

    path: str | Path
    kind: str  # a key of SUFFIXES
    flag: str = ""  # "-o", "--json", ...; empty for API calls

    @property
    def label(self) -> str:
        return f"{self.flag} {self.path}" if self.flag else str(self.path)


def check_outputs(outputs: Iterable[Output | None], inputs: Iterable[str | Path | None] = ()):
    """Refuse unusable output paths before any work (InputError naming the flag and fix).

    `inputs` are the run's input files (plan, rule file, CSV); an output may not replace
    one. Two outputs may not name the same file.
    """
    given = [o for o in outputs if o is not None and o.path not in (None, "")]
    input_files = [Path(p) for p in inputs if p not in (None, "") and Path(p).is_file()]
    seen: dict[str, Output] = {}
    for output in given:
        target = _check_kind_and_target(output)
        for source in input_files:
            if _same_file(target, source):
                raise InputError(
                    f"{output.label}: is an input of this run ({source}); write the "
                    "output to another file"
                )
        key = os.path.normcase(str(target))
        if key in seen:
            raise InputError(
                f"{output.label}: is also the target of {seen[key].label}; give each "
                "output its own file"
            )
        seen[key] = output
    for key, output in seen.items():
        _check_link_target(output, Path(key))


def _check_kind_and_target(output: Output) -> Path:
    suffix, content = SUFFIXES[output.kind]
    name = Path(output.path)
    if name.suffix.lower() != suffix:
        raise InputError(
            f"{output.label}: this output is {content}; name the file with the {suffix} "
            f"extension (e.g. {name.with_suffix(suffix).name})"
        )
    return check_target(output.path, output.label)


def _check_link_target(output: Output, target: Path) -> None:
    """A link named x.json that leads to another kind of file (a CSV, a plan) is refused:
    writing through it would replace that file's content with this output's."""
    suffix = SUFFIXES[output.kind][0]
    if target.suffix.lower() != suffix:
        raise InputError(
            f"{output.label}: is a link to {target}, which is not a {suffix} file; "
            f"name the {suffix} file itself, or remove the link"
        )


def check_target(path: str | Path, label: str | None = None, create_folder: bool = False) -> Path:
    """The file to write for `path` (symlinks followed), or InputError saying why not.

    A missing folder is refused, unless `create_folder` (the library's writers: the CLI has
    refused a missing folder before any work, and batch writes into folders of its own)."""
    label = label or str(path)
    target = Path(os.path.realpath(path))
    try:
        mode: int | None = os.stat(target).st_mode
    except FileNotFoundError:
        mode = None
    except NotADirectoryError:
        blocking = next(p for p in target.parents if p.exists())
        raise InputError(f"{label}: {blocking} is not a folder; give a path in a folder") from None
    except OSError as exc:  # a symlink loop, a name too long, ...
        raise InputError(f"{label}: cannot be written: {exc.strerror}") from None
    if mode is not None:
        if stat.S_ISDIR(mode):
            raise InputError(f"{label}: is a folder; give a file name inside it")
        if not stat.S_ISREG(mode):
            kind = (
                "a named pipe"
                if stat.S_ISFIFO(mode)
                else "a socket"
                if stat.S_ISSOCK(mode)
                else "a device"
            )
            raise InputError(f"{label}: is {kind}, not a file; taxopt writes regular files only")
    folder = target.parent
    if not folder.exists() and create_folder:
        try:
            folder.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise InputError(
                f"{label}: the folder {folder} cannot be made: {exc.strerror}"
            ) from None
    if not folder.exists():
        raise InputError(f"{label}: the folder {folder} does not exist; create it first")
    if not folder.is_dir():
        raise InputError(f"{label}: {folder} is not a folder")
    if not _can_create_in(folder):
        raise InputError(
            f"{label}: the folder {folder} is not writable; choose a folder you can write to"
        )
    return target


def _can_create_in(folder: Path) -> bool:
    """Whether a file can be created in `folder`: the permission bits (os.access), then a
    real probe, because permission bits do not stop root while a read-only file system
    (or /proc) does."""
    if not os.access(folder, os.W_OK | os.X_OK):
        return False
    try:
        handle, probe = tempfile.mkstemp(prefix=".taxopt-probe-", dir=folder)
    except OSError:
        return False
    os.close(handle)
    with suppress(OSError):
        os.unlink(probe)
    return True


def _same_file(a: Path, b: Path) -> bool:
    try:
        return a.exists() and os.path.samefile(a, b)
    except OSError:
        return False


# ---------------------------------------------------------------------------------------
# Writing


# Renames waiting for the end of an `outputs_together()` block: (temporary, target).
_pending: ContextVar[list[tuple[Path, Path]] | None] = ContextVar("taxopt_pending", default=None)


@contextmanager
def outputs_together() -> Iterator[None]:
    """Write every output in the block, then rename them all into place; on any failure
    remove the temporary files and leave every earlier output as it was."""
    pending: list[tuple[Path, Path]] = []
    token = _pending.set(pending)
    try:
        yield
    except BaseException:
        for tmp, _target in pending:
            with suppress(OSError):
                tmp.unlink()
        raise
    finally:
        _pending.reset(token)
    for tmp, target in pending:
        os.replace(tmp, target)


def write_atomically(
    path: str | Path, write: Callable[[Path], None], kind: str | None = None
) -> Path:
    """Call `write(tmp_path)`, then rename the finished file over `path`.

    `kind` (a key of SUFFIXES) requires the matching extension. The target is checked
    first (check_target; a missing folder is made); a symlink is written through. On any
    failure the temporary file is removed and an existing `path` is untouched. Returns
    `path`.
    """
    if kind is not None and Path(path).suffix.lower() != SUFFIXES[kind][0]:
        _check_kind_and_target(Output(path, kind))  # raises, naming the extension to use
    target = check_target(path, create_folder=True)
    handle, tmp_name = tempfile.mkstemp(
        prefix=f".{target.name}.", suffix=f".tmp{target.suffix}", dir=target.parent
    )
    os.close(handle)
    tmp = Path(tmp_name)
    try:
        write(tmp)
        # mkstemp creates owner-only files; give the output the usual permissions.
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)
    except BaseException:
        with suppress(FileNotFoundError):
            tmp.unlink()
        raise
    pending = _pending.get()
    if pending is not None:
        pending.append((tmp, target))
    else:
        os.replace(tmp, target)
    return Path(path)


def write_json(path: str | Path, data: object) -> Path:
    """Write `data` as JSON; a non-finite number (NaN, infinity) is refused, naming it."""
    text = json_text(data)

    def _write(tmp: Path) -> None:
        tmp.write_text(text, encoding="utf-8")

    return write_atomically(path, _write, kind="json")


def json_text(data: object) -> str:
    """Indented JSON with a final newline; TaxoptError naming the first non-finite figure."""
    try:
        return json.dumps(data, indent=2, default=_json_default, allow_nan=False) + "\n"
    except ValueError:
        where = _non_finite_field(data) or "a figure"
        raise TaxoptError(
            f"{where} is not a finite number, so the result cannot be written as JSON; "
            "check the inputs that drive it (amounts, returns, years)"
        ) from None


def _non_finite_field(value: object, path: str = "") -> str | None:
    value = _json_default(value) if hasattr(value, "item") else value
    if isinstance(value, float):
        return None if math.isfinite(value) else (path or "(top level)")
    if isinstance(value, dict):
        items: Iterable = value.items()
    elif isinstance(value, list | tuple):
        items = enumerate(value)
    else:
        return None
    for key, item in items:
        inner = f"{path}[{key}]" if isinstance(key, int) else f"{path}.{key}" if path else key
        found = _non_finite_field(item, str(inner))
        if found:
            return found
    return None


def _json_default(value: object) -> object:
    if hasattr(value, "item"):  # numpy scalars
        return value.item()
    if hasattr(value, "tolist"):
        return value.tolist()
    raise TypeError(f"cannot write {type(value).__name__} as JSON")
