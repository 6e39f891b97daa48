"""The backup file format: a small JSON header, then the dump, compressed and/or encrypted,
streamed in chunks so memory stays flat whatever the size.

    b"VPNBKP1\\n" | 4-byte header length | header JSON | payload

The header (not secret) names the vendor, the compression and the encryption parameters.
Encryption is AES-256-GCM over 1 MiB chunks (a STREAM-like construction): each chunk is
`4-byte length | ciphertext+tag`, its nonce is an 8-byte random prefix + a 4-byte counter,
and the associated data binds the header, the counter and a last-chunk flag, so altered,
reordered or truncated files fail to decrypt.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import struct
import zlib
from collections.abc import Callable, Iterator
from typing import BinaryIO

import zstandard
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

MAGIC = b"VPNBKP1\n"
CHUNK = 1024 * 1024
ZSTD_FEED = 128 * 1024  # compressed bytes the restore's zstd reader takes at a time
MAX_HEADER = 64 * 1024


class ContainerError(Exception):
    """The file is not a backup of ours, is damaged, or cannot be decrypted."""


def derive_key(secret: str, salt: bytes) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=salt, info=b"vpnbot-backup-v1").derive(secret.encode())


class _Encryptor:
    def __init__(self, key: bytes, prefix: bytes, aad: bytes, out: Callable[[bytes], None]):
        self.aes = AESGCM(key)
        self.prefix = prefix
        self.aad = aad
        self.out = out
        self.counter = 0
        self.buffer = bytearray()

    def _seal(self, data: bytes, last: bool) -> None:
        nonce = self.prefix + struct.pack(">I", self.counter)
        sealed = self.aes.encrypt(nonce, data, self.aad + struct.pack(">IB", self.counter, int(last)))
        self.out(struct.pack(">I", len(sealed)) + sealed)
        self.counter += 1

    def write(self, data: bytes) -> None:
        self.buffer += data
        while len(self.buffer) > CHUNK:  # keep at least one byte back for the last chunk
            self._seal(bytes(self.buffer[:CHUNK]), False)
            del self.buffer[:CHUNK]

    def close(self) -> None:
        self._seal(bytes(self.buffer), True)
        self.buffer = bytearray()


class Writer:
    """Write a backup container to `fileobj`; `.write(data)` takes the raw dump."""

    def __init__(self, fileobj: BinaryIO, *, vendor: str, compression: str, encryption_key: str = "",
                 extra: dict | None = None):
        if compression not in ("", "zstd", "gzip"):
            raise ValueError(f"unknown compression {compression!r}")
        self.fileobj = fileobj
        self.sha = hashlib.sha256()
        self.size = 0
        header = {"format": 1, "vendor": vendor, "compression": compression, "encryption": "", **(extra or {})}
        if encryption_key:
            salt, prefix = os.urandom(16), os.urandom(8)
            header.update(encryption="aes-256-gcm-stream", salt=base64.b64encode(salt).decode(),
                          nonce_prefix=base64.b64encode(prefix).decode(), chunk=CHUNK)
        raw_header = json.dumps(header, sort_keys=True).encode()
        self._emit(MAGIC + struct.pack(">I", len(raw_header)) + raw_header)
        sink = self._emit
        self.encryptor = None
        if encryption_key:
            self.encryptor = _Encryptor(derive_key(encryption_key, salt), prefix, raw_header, self._emit)
            sink = self.encryptor.write
        self.compressor = None
        if compression == "zstd":
            self.compressor = zstandard.ZstdCompressor(level=3, threads=0).compressobj()
        elif compression == "gzip":
            self.compressor = zlib.compressobj(6, zlib.DEFLATED, 31)
        self.sink = sink
        self.raw_size = 0

    def _emit(self, data: bytes) -> None:
        if data:
            self.fileobj.write(data)
            self.sha.update(data)
            self.size += len(data)

    def write(self, data: bytes) -> None:
        self.raw_size += len(data)
        if self.compressor is not None:
            data = self.compressor.compress(data)
        if data:
            self.sink(data)

    def close(self) -> str:
        if self.compressor is not None:
            self.sink(self.compressor.flush())
        if self.encryptor is not None:
            self.encryptor.close()
        self.fileobj.flush()
        return self.sha.hexdigest()


def read_header(fileobj: BinaryIO) -> tuple[dict, bytes]:
    magic = fileobj.read(len(MAGIC))
    if magic != MAGIC:
        raise ContainerError("not a backup file of this product (bad magic)")
    raw_len = fileobj.read(4)
    if len(raw_len) != 4:
        raise ContainerError("the file is truncated")
    (length,) = struct.unpack(">I", raw_len)
    if length > MAX_HEADER:
        raise ContainerError("the header is damaged")
    raw_header = fileobj.read(length)
    try:
        header = json.loads(raw_header)
    except ValueError:
        raise ContainerError("the header is damaged") from None
    if not isinstance(header, dict) or header.get("format") != 1:
        raise ContainerError("unknown backup format")
    return header, raw_header


def _decrypt_chunks(fileobj: BinaryIO, key: bytes, prefix: bytes, aad: bytes) -> Iterator[bytes]:
    aes = AESGCM(key)
    counter = 0
    while True:
        raw_len = fileobj.read(4)
        if not raw_len:
            raise ContainerError("the file is truncated (no final chunk)")
        if len(raw_len) != 4:
            raise ContainerError("the file is truncated")
        (length,) = struct.unpack(">I", raw_len)
        if length > CHUNK + 16:
            raise ContainerError("the file is damaged (bad chunk length)")
        sealed = fileobj.read(length)
        if len(sealed) != length:
            raise ContainerError("the file is truncated")
        nonce = prefix + struct.pack(">I", counter)
        for last in (False, True):
            try:
                plain = aes.decrypt(nonce, sealed, aad + struct.pack(">IB", counter, int(last)))
                break
            except InvalidTag:
                plain = None
        if plain is None:
            raise ContainerError("cannot decrypt: wrong BACKUP_ENCRYPTION_KEY or an altered file")
        yield plain
        counter += 1
        if last:
            if fileobj.read(1):
                raise ContainerError("the file has data after its final chunk")
            return


def _plain_chunks(fileobj: BinaryIO) -> Iterator[bytes]:
    while chunk := fileobj.read(CHUNK):
        yield chunk


def iter_payload(fileobj: BinaryIO, *, encryption_key: str = "") -> tuple[dict, Iterator[bytes]]:
    """(header, chunks of the raw dump): decrypted and decompressed on the fly."""
    header, raw_header = read_header(fileobj)
    if header.get("encryption"):
        if not encryption_key:
            raise ContainerError("this backup is encrypted: set BACKUP_ENCRYPTION_KEY to the key it was made with")
        try:
            salt = base64.b64decode(header["salt"])
            prefix = base64.b64decode(header["nonce_prefix"])
        except (KeyError, ValueError):
            raise ContainerError("the header is damaged") from None
        chunks = _decrypt_chunks(fileobj, derive_key(encryption_key, salt), prefix, raw_header)
    else:
        chunks = _plain_chunks(fileobj)
    compression = header.get("compression", "")
    if compression == "zstd":
        chunks = _zstd_chunks(chunks)
    elif compression == "gzip":
        chunks = _gzip_chunks(chunks)
    elif compression:
        raise ContainerError(f"unknown compression {compression!r}")
    return header, chunks


class _ZstdFrameWalk:
    """Follows the structure of the one zstd frame a Writer makes — frame header, then block
    headers, skipping their contents — as its bytes go by, to tell whether the frame was
    complete: the streaming reader below cannot tell a truncated frame from a finished one."""

    def __init__(self):
        self.state, self.need, self.head = "frame", 5, bytearray()  # magic + frame header descriptor
        self.skip = 0
        self.checksum = False
        self.done = False

    def feed(self, data: bytes) -> None:
        view, pos = memoryview(data), 0
        while pos < len(view):
            if self.done:
                raise ContainerError("the compressed data is damaged: data after its end")
            if self.skip:
                step = min(self.skip, len(view) - pos)
                self.skip -= step
                pos += step
                if not self.skip and self.state == "end":
                    self.done = True
                continue
            take = min(self.need - len(self.head), len(view) - pos)
            self.head += view[pos:pos + take]
            pos += take
            if len(self.head) == self.need:
                self._header(bytes(self.head))
                self.head.clear()

    def _header(self, head: bytes) -> None:
        if self.state == "frame":
            if head[:4] != b"\x28\xb5\x2f\xfd":
                raise ContainerError("the compressed data is damaged: not a zstd frame")
            fhd = head[4]
            single = bool(fhd & 0x20)
            self.checksum = bool(fhd & 0x04)
            fcs = (1 if single else 0, 2, 4, 8)[fhd >> 6]
            self.skip = (0 if single else 1) + (0, 1, 2, 4)[fhd & 3] + fcs
            self.state, self.need = "block", 3
            return
        value = int.from_bytes(head, "little")
        last, kind, size = value & 1, (value >> 1) & 3, value >> 3
        if kind == 3:
            raise ContainerError("the compressed data is damaged: bad block type")
        self.skip = 1 if kind == 1 else size  # an RLE block stores one byte
        if last:
            self.state = "end"
            self.skip += 4 if self.checksum else 0
            if not self.skip:
                self.done = True


class _ChunkSource:
    """The payload chunks as a file object for zstandard's stream_reader."""

    def __init__(self, chunks: Iterator[bytes], walk: _ZstdFrameWalk):
        self.chunks, self.walk, self.pending = chunks, walk, memoryview(b"")

    def read(self, size: int = -1) -> bytes:
        while not self.pending:
            chunk = next(self.chunks, None)
            if chunk is None:
                return b""
            self.walk.feed(chunk)
            self.pending = memoryview(chunk)
        out = self.pending if size is None or size < 0 else self.pending[:size]
        self.pending = self.pending[len(out):]
        return bytes(out)

    def close(self) -> None:
        pass


def _zstd_chunks(chunks: Iterator[bytes]) -> Iterator[bytes]:
    # A reader, not decompressobj(): decompressobj returns all the output of its input at once, and
    # 1 MiB of zstd can stand for hundreds of MiB of a repetitive dump. The reader hands out at
    # most CHUNK at a time, so restoring needs the same memory whatever the data.
    walk = _ZstdFrameWalk()
    source = _ChunkSource(chunks, walk)
    reader = zstandard.ZstdDecompressor().stream_reader(source, read_size=ZSTD_FEED)
    try:
        while out := reader.read(CHUNK):
            yield out
    except zstandard.ZstdError as exc:
        raise ContainerError(f"the compressed data is damaged: {exc}") from None
    while source.read(CHUNK):  # anything after the frame end is damage
        pass
    if not walk.done:
        raise ContainerError("the compressed data is truncated")


def _gzip_chunks(chunks: Iterator[bytes]) -> Iterator[bytes]:
    dobj = zlib.decompressobj(31)
    for chunk in chunks:
        try:
            out = dobj.decompress(chunk, CHUNK)
            while out:
                yield out
                out = dobj.decompress(dobj.unconsumed_tail, CHUNK) if dobj.unconsumed_tail else b""
        except zlib.error as exc:
            raise ContainerError(f"the compressed data is damaged: {exc}") from None
    if not dobj.eof:
        raise ContainerError("the compressed data is truncated")


def file_sha256(path) -> str:
    sha = hashlib.sha256()
    with open(path, "rb") as fh:
        while chunk := fh.read(CHUNK):
            sha.update(chunk)
    return sha.hexdigest()


__all__ = ["ContainerError", "Writer", "iter_payload", "read_header", "file_sha256"]
