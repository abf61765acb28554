"""The iden3 binary container shared by .r1cs, .wtns and .zkey files.

Layout (little-endian): 4-byte magic, u32 version, u32 section count, then each section as
{u32 type, u64 size, body}. Sections may come in any order and are found by type.

Reading maps the file once and hands out zero-copy ``memoryview`` slices; every structural
problem raises :class:`FormatError` naming the file. Writing goes to a temporary file in the
destination's directory and is renamed into place only when complete, so a failed export never
leaves a partial file behind.
"""

from __future__ import annotations

import contextlib
import io
import mmap
import os
import struct
import tempfile
from collections.abc import Iterator
from pathlib import Path


class FormatError(ValueError):
    """A file is not what it claims to be: wrong magic, truncated, inconsistent counts."""

    def __init__(self, path: str | os.PathLike, problem: str) -> None:
        self.path = str(path)
        self.problem = problem
        super().__init__(f"{self.path}: {problem}")


class BinFile:
    """A parsed container: ``version`` and ``sections`` (type -> list of memoryviews)."""

    def __init__(self, path: str | os.PathLike, magic: bytes, max_version: int) -> None:
        self.path = str(path)
        try:
            with open(path, "rb") as fh:
                size = os.fstat(fh.fileno()).st_size
                if size == 0:
                    raise FormatError(path, "file is empty")
                self._map = mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ)
        except OSError as exc:
            raise FormatError(path, f"cannot read: {exc.strerror or exc}") from exc
        self.data = memoryview(self._map)
        if len(self.data) < 12:
            raise FormatError(path, f"truncated: {len(self.data)} bytes, shorter than the 12-byte header")
        if bytes(self.data[:4]) != magic:
            raise FormatError(path, f"not a .{magic.decode()} file (magic {bytes(self.data[:4])!r})")
        self.version, n_sections = struct.unpack_from("<II", self.data, 4)
        if not 1 <= self.version <= max_version:
            raise FormatError(path, f"unsupported {magic.decode()} version {self.version}")
        self.sections: dict[int, list[memoryview]] = {}
        pos = 12
        for i in range(n_sections):
            if pos + 12 > len(self.data):
                raise FormatError(path, f"truncated in the header of section {i + 1} of {n_sections}")
            stype, ssize = struct.unpack_from("<IQ", self.data, pos)
            pos += 12
            if pos + ssize > len(self.data):
                raise FormatError(
                    path, f"truncated: section type {stype} claims {ssize} bytes, {len(self.data) - pos} remain"
                )
            self.sections.setdefault(stype, []).append(self.data[pos : pos + ssize])
            pos += ssize
        if pos != len(self.data):
            raise FormatError(path, f"{len(self.data) - pos} trailing bytes after the last section")

    def section(self, stype: int, name: str) -> memoryview:
        """The one section of this type; FormatError if missing or repeated."""
        found = self.sections.get(stype)
        if not found:
            raise FormatError(self.path, f"missing section {stype} ({name})")
        if len(found) > 1:
            raise FormatError(self.path, f"section {stype} ({name}) appears {len(found)} times")
        return found[0]

    def reader(self, stype: int, name: str) -> SectionReader:
        return SectionReader(self, self.section(stype, name), name)

    def fail(self, problem: str) -> FormatError:
        return FormatError(self.path, problem)


class SectionReader:
    """Sequential reads inside one section, with bounds checks that name the section."""

    def __init__(self, owner: BinFile, view: memoryview, name: str) -> None:
        self.owner = owner
        self.view = view
        self.name = name
        self.pos = 0

    def take(self, n: int) -> memoryview:
        if self.pos + n > len(self.view):
            raise self.owner.fail(f"section {self.name} is too short ({len(self.view)} bytes)")
        out = self.view[self.pos : self.pos + n]
        self.pos += n
        return out

    def u32(self) -> int:
        return struct.unpack("<I", self.take(4))[0]

    def u64(self) -> int:
        return struct.unpack("<Q", self.take(8))[0]

    def bigint(self, n8: int) -> int:
        return int.from_bytes(self.take(n8), "little")

    def field(self, modulus: int, name: str) -> int:
        """Read an (n8, prime) pair and check it names ``modulus`` (32-byte elements)."""
        n8 = self.u32()
        if n8 != 32:
            raise self.owner.fail(f"field size n8={n8}, expected 32 (BN254)")
        prime = self.bigint(n8)
        if prime != modulus:
            raise self.owner.fail(f"prime {prime} is not the BN254 {name}")
        return prime

    def remaining(self) -> int:
        return len(self.view) - self.pos

    def expect_end(self) -> None:
        if self.pos != len(self.view):
            raise self.owner.fail(f"section {self.name} has {len(self.view) - self.pos} unexpected trailing bytes")


class BinWriter:
    """Builds a container in memory section by section; ``save`` writes it atomically."""

    def __init__(self, magic: bytes, version: int) -> None:
        self.magic = magic
        self.version = version
        self._sections: list[tuple[int, list[bytes | memoryview]]] = []

    def add(self, stype: int, *chunks: bytes | memoryview) -> None:
        self._sections.append((stype, list(chunks)))

    def write_to(self, fh) -> None:
        """Stream the container into anything with ``write`` (a file, a hash sink)."""
        fh.write(self.magic + struct.pack("<II", self.version, len(self._sections)))
        for stype, chunks in self._sections:
            fh.write(struct.pack("<IQ", stype, sum(len(c) for c in chunks)))
            for c in chunks:
                fh.write(c)

    def save(self, path: str | os.PathLike) -> None:
        with atomic_output(path) as fh:
            self.write_to(fh)


@contextlib.contextmanager
def atomic_output(path: str | os.PathLike, mode: str = "wb") -> Iterator[io.IOBase]:
    """Open a temporary sibling of ``path``; rename it onto ``path`` only if the block succeeds."""
    target = Path(path)
    directory = target.parent if str(target.parent) else Path(".")
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=directory)
    try:
        with os.fdopen(fd, mode) as fh:
            yield fh
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def u32(v: int) -> bytes:
    return struct.pack("<I", v)


def u64(v: int) -> bytes:
    return struct.pack("<Q", v)


def bigint(v: int, n8: int = 32) -> bytes:
    return v.to_bytes(n8, "little")
