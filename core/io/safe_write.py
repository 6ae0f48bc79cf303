"""One validated write path for every output file.

Every writer (``.vti``, GOCAD voxet, UBC mesh/model, GeoTIFF, GeoPackage, CSV,
``report.json``, checkpoints, Zarr folders) writes through :func:`safe_output`:

1. the output may not be, or be referenced by, one of the run's inputs
   (:func:`check_not_input`);
2. the bytes go to a temporary file beside the target (same folder, so the final
   rename is atomic and never crosses a file system);
3. failures are captured however the library reports them: ``OSError`` (``EFBIG``
   when the file-size limit is reached, ``ENOSPC``, ``EACCES``), VTK's error events
   (VTK writers print instead of raising: :func:`vtk_errors`), library exceptions;
4. the result is verified before the rename (the writer's own ``verify`` callback,
   at least that the file exists and is not empty);
5. only then is it renamed onto the target. On any failure the temporary file is
   removed, the target is untouched and :class:`~voxprospect.errors.OutputError`
   names the file.

Front ends can check the way out before any work: :func:`output_files` lists the
files a writer would create for an output path (voxet ``@@`` files and colour
tables, UBC models, GDAL side files), :func:`check_outputs_not_inputs` refuses
outputs that would replace an input or a file an input references, and
:func:`check_folder_writable` that the folder can be written.
"""

from __future__ import annotations

import contextlib
import errno
import os
import re
import shutil
import tempfile
from pathlib import Path

from voxprospect.errors import OutputError, VoxprospectError

__all__ = [
    "check_folder_writable",
    "check_not_input",
    "check_outputs_not_inputs",
    "output_files",
    "referenced_files",
    "safe_output",
    "safe_output_dir",
    "verify_geotiff",
    "verify_nonempty",
    "verify_png",
    "verify_safetensors",
    "verify_size",
    "verify_sqlite",
    "verify_vtk_xml",
    "vtk_errors",
    "write_bytes",
    "write_text",
]


def _reason(e: BaseException, tmp=None) -> str:
    """A short reason for a failed write, in the user's words (the temporary name left out)."""
    text = _reason_text(e)
    if tmp is not None:
        text = text.replace(str(tmp), "the file").replace(Path(tmp).name, "the file")
    return text


def _reason_text(e: BaseException) -> str:
    if isinstance(e, OSError):
        if e.errno == errno.EFBIG:
            return "the file-size limit was reached (file too large)"
        if e.errno == errno.ENOSPC:
            return "no space left on the device"
        if e.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
            return "permission denied"
        if e.strerror:
            return e.strerror.lower()
    text = str(e).strip().splitlines()
    return (text[-1] if text else type(e).__name__)[:200]


# -- inputs are never replaced -------------------------------------------------------
def _same(a: Path, b: Path) -> bool:
    try:
        if a.resolve() == b.resolve():
            return True
        return a.exists() and b.exists() and os.path.samefile(a, b)
    except OSError:
        return False


def referenced_files(path) -> list[Path]:
    """An input file and every file it references (that exists).

    A GOCAD voxet header references its property files and their colour tables, a
    UBC-GIF mesh the model files found beside it. Unreadable or unknown files give
    just themselves: a reader will report their problem later.
    """
    p = Path(path)
    out = [p]
    if not p.is_file():
        return out
    try:
        with open(p, "rb") as f:
            head = f.read(64)
        text = head.decode("latin-1").lstrip().upper()
        if text.startswith("GOCAD VOXET"):
            from voxprospect.io.gocad import colour_table_paths, parse_voxet_header
            hdr = parse_voxet_header(p)
            for prop in hdr.properties.values():
                if prop.file:
                    out.append(p.parent / prop.file)
                    out += colour_table_paths(hdr, prop)
        elif p.suffix.lower() == ".msh":
            from voxprospect.io.ubc import find_models
            out += find_models(p)
    except VoxprospectError:
        pass
    return [q for q in dict.fromkeys(out)]


def _writer_patterns(path: Path) -> list[re.Pattern]:
    """Names (in ``path``'s folder) a writer may create for ``path`` whatever the layers."""
    stem = re.escape(path.stem)
    suffix = path.suffix.lower()
    pats = [re.compile(re.escape(path.name) + r"(\.aux\.xml)?")]
    if suffix == ".vo":
        pats += [re.compile(stem + r"_.*@@"), re.compile(stem + r"_.*_colou?rs\.csv")]
    elif suffix == ".msh":
        pats += [re.compile(stem + r"_.*\.mod")]
    return pats


def output_files(path, layer_names=None) -> list[Path]:
    """The files the writer for ``path``'s extension would create.

    Parameters
    ----------
    path : path-like
        The output the user named.
    layer_names : list of str, optional
        The layers to be written; without them only the files known from the path
        are listed (see :func:`check_outputs_not_inputs` for the name patterns).

    Returns
    -------
    list of Path
        The main file first. GOCAD voxets add ``<stem>_<layer>@@`` per layer and
        ``_active``; UBC meshes ``<stem>_<layer>.mod`` per layer.
    """
    p = Path(path)
    suffix = p.suffix.lower()
    out = [p]
    if layer_names is None:
        return out
    if suffix == ".vo":
        from voxprospect.io.gocad import voxet_file_names
        out += [p.parent / n for n in voxet_file_names(p.stem, list(layer_names), with_colours=True)]
    elif suffix == ".msh":
        from voxprospect.io.ubc import model_file_name
        out += [p.with_name(model_file_name(p, n)) for n in layer_names]
    return out


def check_outputs_not_inputs(path, inputs, layer_names=None) -> None:
    """Refuse an output that would replace an input or a file an input references.

    Call it before any work. Without ``layer_names`` any name the writer could
    produce for ``path`` (``<stem>_*@@`` beside a ``.vo``, ...) counts.

    Raises
    ------
    OutputError
        Naming the output and the input file it would replace.
    """
    p = Path(path)
    planned = output_files(p, layer_names)
    pats = _writer_patterns(p) if layer_names is None else []
    try:
        folder = p.parent.resolve()
    except OSError:
        folder = p.parent
    for i in inputs or ():
        if i is None:
            continue
        for ref in referenced_files(i):
            hit = any(_same(ref, q) for q in planned)
            if not hit and pats:
                try:
                    same_dir = ref.parent.resolve() == folder
                except OSError:
                    same_dir = False
                hit = same_dir and any(pt.fullmatch(ref.name) for pt in pats)
            if hit:
                what = "an input file" if _same(ref, Path(i)) else f"{ref}, a file the input {i} uses"
                raise OutputError(f"{path}: writing it would replace {what}; choose another output name")


def check_not_input(path, inputs) -> None:
    """Raise :class:`OutputError` if ``path`` is one of ``inputs`` or a file one references."""
    p = Path(path)
    for i in inputs or ():
        if i is None:
            continue
        for ref in referenced_files(i):
            if _same(ref, p):
                what = "an input file" if _same(ref, Path(i)) else f"a file the input {i} uses"
                raise OutputError(f"{path}: refusing to overwrite {what}")


def check_folder_writable(path) -> Path:
    """Check that the folder of output ``path`` exists (or can be made) and is writable.

    Returns
    -------
    Path
        The folder.

    Raises
    ------
    OutputError
        If a parent is a file, or the folder cannot be created or written.
    """
    folder = Path(path).parent
    probe = folder
    while not probe.exists():
        if probe.parent == probe:
            break
        probe = probe.parent
    if probe.exists() and not probe.is_dir():
        raise OutputError(f"{path}: {probe} is a file, not a folder")
    if not os.access(probe, os.W_OK | os.X_OK):
        raise OutputError(f"{path}: the folder {probe} is not writable (permission denied)")
    return folder


# -- temporary file, capture, verify, rename ---------------------------------------------
def _tmp_name(path: Path, directory: bool = False) -> Path:
    suffix = "".join(path.suffixes) or ".tmp"
    if directory:
        return Path(tempfile.mkdtemp(prefix=f".{path.name}.", dir=path.parent))
    fd, tmp = tempfile.mkstemp(prefix=f".{path.stem}.", suffix=suffix, dir=path.parent)
    os.close(fd)
    os.unlink(tmp)  # writers create it themselves (some refuse an existing file)
    return Path(tmp)


def _umask() -> int:
    """The process's umask, read without changing it where Linux shows it (threads safe)."""
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError):
        pass
    old = os.umask(0o022)
    os.umask(old)
    return old


def _usual_mode(tmp: Path) -> None:
    """Give a written file the mode a plain ``open`` would (0644 under umask 022): some
    writers (safetensors) create theirs 0600, so checkpoints alone were unreadable to
    the user's group."""
    with contextlib.suppress(OSError):
        os.chmod(tmp, 0o666 & ~_umask())


def _remove(p: Path) -> None:
    with contextlib.suppress(OSError):
        if p.is_dir() and not p.is_symlink():
            shutil.rmtree(p, ignore_errors=True)
        elif p.exists() or p.is_symlink():
            p.unlink()


@contextlib.contextmanager
def safe_output(path, inputs=(), verify=None, directory: bool = False):
    """Yield a temporary path beside ``path``; verify it and rename it onto ``path``.

    Parameters
    ----------
    path : path-like
        The final output.
    inputs : iterable of path-like
        The run's inputs: ``path`` may not be one of them nor a file they reference.
    verify : callable, optional
        ``verify(tmp_path)`` raises (anything) when the written file is not complete;
        by default the file must exist and not be empty.
    directory : bool
        The output is a folder (Zarr); the temporary is a folder created beforehand.

    Raises
    ------
    OutputError
        Naming ``path``, on any failure: the temporary file is removed and ``path``
        left as it was. A :class:`~voxprospect.errors.VoxprospectError` raised by the
        writer itself (a layer it cannot store) passes through unchanged.
    """
    path = Path(path)
    check_not_input(path, inputs)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = _tmp_name(path, directory)
    except OSError as e:
        raise OutputError(f"{path}: cannot write in {path.parent} ({_reason(e)})") from None
    try:
        try:
            yield tmp
        except VoxprospectError:
            raise
        except (OSError, MemoryError) as e:
            raise OutputError(f"{path}: writing failed: {_reason(e, tmp)}") from None
        except Exception as e:  # library-specific write errors (rasterio, fiona, zarr, safetensors)
            if type(e).__module__.split(".")[0] in ("rasterio", "fiona", "zarr", "safetensors",
                                                    "numcodecs", "sqlite3", "PIL", "matplotlib"):
                raise OutputError(f"{path}: writing failed: {_reason(e, tmp)}") from None
            raise
        try:
            (verify or (verify_dir if directory else verify_nonempty))(tmp)
        except VoxprospectError as e:
            raise OutputError(f"{path}: the written file is incomplete ({e})") from None
        except Exception as e:  # a verifier re-opening the file fails in the library's own way
            raise OutputError(f"{path}: the written file is incomplete ({_reason(e, tmp)})") from None
        try:
            if directory and path.is_dir() and not path.is_symlink():
                shutil.rmtree(path)
            if not directory:
                _usual_mode(tmp)
            os.replace(tmp, path)
        except OSError as e:
            raise OutputError(f"{path}: cannot replace it ({_reason(e)})") from None
    finally:
        if tmp.exists() or tmp.is_symlink():
            _remove(tmp)


@contextlib.contextmanager
def safe_output_dir(path, inputs=(), verify=None):
    """:func:`safe_output` for an output folder (Zarr groups)."""
    with safe_output(path, inputs, verify, directory=True) as tmp:
        yield tmp


def write_bytes(path, data: bytes, inputs=()) -> Path:
    """Write ``data`` to ``path`` through :func:`safe_output`, checking the size."""
    with safe_output(path, inputs, verify=lambda t: verify_size(t, len(data))) as tmp:
        with open(tmp, "wb") as f:
            f.write(data)
    return Path(path)


def write_text(path, text: str, inputs=()) -> Path:
    """Write ``text`` as UTF-8 to ``path`` through :func:`safe_output`."""
    return write_bytes(path, text.encode("utf-8"), inputs)


# -- VTK -------------------------------------------------------------------------------
class _VTKErrors:
    def __init__(self):
        self.message = None

    def __call__(self, obj, event, calldata=None):
        if self.message is None:
            self.message = str(calldata) if calldata else f"VTK {event}"

    __call__.CallDataType = "string0"  # VTK passes the message text as call data


def vtk_errors(algorithm):
    """Run a VTK writer/reader with error events captured instead of printed.

    Parameters
    ----------
    algorithm : vtkAlgorithm
        Set up, not yet run; it is run with ``Update()`` (readers) or ``Write()``
        (writers).

    Returns
    -------
    str or None
        The last line of the first VTK error (at most 200 characters), or None.
    """
    import vtk

    observer = _VTKErrors()
    algorithm.AddObserver("ErrorEvent", observer)
    algorithm.GetExecutive().AddObserver("ErrorEvent", observer)
    prev = vtk.vtkObject.GetGlobalWarningDisplay()
    vtk.vtkObject.GlobalWarningDisplayOff()
    try:
        if hasattr(algorithm, "Write"):
            ok = algorithm.Write()
            code = algorithm.GetErrorCode() if hasattr(algorithm, "GetErrorCode") else 0
            if (not ok or code) and observer.message is None:
                observer.message = f"VTK writer failed: {vtk.vtkErrorCode.GetStringFromErrorCode(code)}"
        else:
            algorithm.Update()
    finally:
        vtk.vtkObject.SetGlobalWarningDisplay(prev)
    if observer.message:
        return observer.message.strip().splitlines()[-1][:200]
    return None


# -- verifiers: cheap checks that the whole file is there --------------------------------
def verify_nonempty(tmp) -> None:
    p = Path(tmp)
    if not p.is_file():
        raise OutputError(f"{p.name} was not created")
    if p.stat().st_size == 0:
        raise OutputError("empty file")


def verify_dir(tmp) -> None:
    if not Path(tmp).is_dir():
        raise OutputError("the folder was not created")


def verify_size(tmp, expected: int) -> None:
    verify_nonempty(tmp) if expected else None
    actual = Path(tmp).stat().st_size
    if actual != expected:
        raise OutputError(f"{actual} bytes written of {expected}")


def _tail(tmp, n: int) -> bytes:
    """The last ``n`` bytes of a file (where closing tags and end chunks live)."""
    with open(tmp, "rb") as f:
        f.seek(max(0, Path(tmp).stat().st_size - n))
        return f.read()


def verify_vtk_xml(tmp) -> None:
    """A VTK XML file ends with ``</VTKFile>`` (appended binary data comes before it)."""
    verify_nonempty(tmp)
    if b"</VTKFile>" not in _tail(tmp, 64):
        raise OutputError("no closing </VTKFile> (truncated)")


def verify_geotiff(tmp) -> None:
    """Re-open with rasterio and read the last band's last row."""
    import rasterio
    from rasterio.windows import Window

    verify_nonempty(tmp)
    with rasterio.open(tmp) as src:
        src.read(src.count, window=Window(0, src.height - 1, src.width, 1))
        src.read(1, window=Window(0, 0, src.width, 1))


def verify_sqlite(tmp) -> None:
    """A GeoPackage is SQLite: its quick integrity check must say ``ok``."""
    import sqlite3

    verify_nonempty(tmp)
    con = sqlite3.connect(f"file:{Path(tmp)}?mode=ro", uri=True)
    try:
        res = con.execute("PRAGMA quick_check").fetchone()
    finally:
        con.close()
    if not res or res[0] != "ok":
        raise OutputError(f"SQLite check: {res[0] if res else 'no answer'}")


def verify_safetensors(tmp) -> None:
    """The header's length and the largest tensor offset account for the file's size."""
    import json
    import struct

    p = Path(tmp)
    size = p.stat().st_size
    with open(p, "rb") as f:
        raw = f.read(8)
        if len(raw) != 8:
            raise OutputError("no safetensors header")
        n = struct.unpack("<Q", raw)[0]
        if n > size:
            raise OutputError("header longer than the file")
        header = json.loads(f.read(n))
    end = max([v["data_offsets"][1] for k, v in header.items() if k != "__metadata__"] or [0])
    if size != 8 + n + end:
        raise OutputError(f"{size} bytes, the header needs {8 + n + end}")


def verify_png(tmp) -> None:
    verify_nonempty(tmp)
    if b"IEND" not in _tail(tmp, 12):
        raise OutputError("no IEND chunk (truncated PNG)")
