"""The backup file format: truncation and tampering detected, compressed payloads round trip
and are decompressed in bounded pieces."""

import io
import os

import pytest

from backups import container


def test_the_container_detects_truncation_and_tampering_when_encrypted():

    raw = bytes(range(256)) * 20000  # ~5 MB, several chunks
    buf = io.BytesIO()
    writer = container.Writer(buf, vendor="sqlite", compression="", encryption_key="k")
    for i in range(0, len(raw), 300_000):
        writer.write(raw[i:i + 300_000])
    writer.close()
    data = buf.getvalue()
    _header, chunks = container.iter_payload(io.BytesIO(data), encryption_key="k")
    assert b"".join(chunks) == raw
    # drop the last chunk: a chunk boundary truncation is still detected
    first_len = int.from_bytes(data[8:12], "big") + 12
    chunk_len = int.from_bytes(data[first_len:first_len + 4], "big") + 4
    # flip every bit of one ciphertext byte (replacing it with a fixed byte can leave it unchanged)
    flipped = data[:first_len + 10] + bytes([data[first_len + 10] ^ 0xFF]) + data[first_len + 11:]
    for broken in (data[:first_len + chunk_len], data[:-1], flipped):
        with pytest.raises(container.ContainerError):
            _header, chunks = container.iter_payload(io.BytesIO(broken), encryption_key="k")
            b"".join(chunks)


@pytest.mark.parametrize("algorithm", ["zstd", "gzip"])
def test_compressed_payloads_round_trip_and_truncation_is_detected(algorithm):

    raw = os.urandom(1000) * 3000
    buf = io.BytesIO()
    writer = container.Writer(buf, vendor="sqlite", compression=algorithm)
    writer.write(raw)
    writer.close()
    assert len(buf.getvalue()) < len(raw) / 10
    _h, chunks = container.iter_payload(io.BytesIO(buf.getvalue()))
    assert b"".join(chunks) == raw
    with pytest.raises(container.ContainerError):
        _h, chunks = container.iter_payload(io.BytesIO(buf.getvalue()[:-20]))
        b"".join(chunks)


def test_zstd_payloads_are_decompressed_in_bounded_pieces():
    """A highly compressible dump comes back in pieces near the chunk size, not as one string per
    compressed chunk (1 MiB of zstd can hold far more than 1 MiB of SQL)."""

    raw = b"INSERT INTO t VALUES (1, 'same row again');\n" * 1_000_000  # ~45 MB, compresses >100:1
    buf = io.BytesIO()
    writer = container.Writer(buf, vendor="mysql", compression="zstd")
    for i in range(0, len(raw), container.CHUNK):
        writer.write(raw[i:i + container.CHUNK])
    writer.close()
    _h, chunks = container.iter_payload(io.BytesIO(buf.getvalue()))
    sizes, total = [], 0
    for chunk in chunks:
        assert raw[total:total + len(chunk)] == chunk
        total += len(chunk)
        sizes.append(len(chunk))
    assert total == len(raw)
    assert max(sizes) <= container.CHUNK
