"""Decode bombs: small, valid audio files that decode to hours of near-silence.

FLAC: written by hand, since encoding hours through FFmpeg takes minutes. Each frame is
65535 samples (FLAC's largest block) of one CONSTANT subframe: 13-15 bytes for 8 s of
8 kHz audio, so 12 hours is about 77 KB and decodes to 2.8 GB of 16 kHz float32.
Opus in Ogg: one 2-byte packet (six empty 20 ms CELT frames: silence) repeated every
120 ms, muxed by PyAV; 10 hours is about 1.8 MB.
"""

import struct
from fractions import Fraction

FLAC_BLOCK = 65535
OPUS_RATE = 48000
OPUS_PACKET_SAMPLES = 5760  # 120 ms at 48 kHz
OPUS_SILENCE = bytes([0xFB, 0x06])  # TOC: CELT fullband 20 ms, code 3; then 6 frames, CBR, no bytes


def decoded_bytes(hours: float, rate: int = 16000) -> int:
    """What hours of mono float32 at rate take in memory once decoded."""
    return int(hours * 3600 * rate) * 4


def flac_bomb(hours: float, rate: int = 8000, level: int = 1) -> bytes:
    """A mono 16-bit FLAC of `hours` of a constant sample value `level` (1: -90 dBFS)."""
    frames = int(hours * 3600 * rate) // FLAC_BLOCK
    info = struct.pack(">HH", FLAC_BLOCK, FLAC_BLOCK) + bytes(6)  # frame sizes: unknown
    # sample rate (20 bits), channels - 1 (3), bits per sample - 1 (5), total samples (36); no MD5
    info += ((rate << 44) | (15 << 36) | frames * FLAC_BLOCK).to_bytes(8, "big") + bytes(16)
    parts = [b"fLaC", bytes([0x80, 0, 0, len(info)]), info]  # the last (only) block: STREAMINFO
    rate_code = {8000: 0x4, 16000: 0x5}[rate]
    for number in range(frames):
        # sync, fixed blocking; block size in 16 bits at the end; mono; 16 bits per sample
        header = (
            bytes([0xFF, 0xF8, 0x70 | rate_code, 0x08]) + _utf8(number) + struct.pack(">H", FLAC_BLOCK - 1)
        )
        header += bytes([_crc8(header)])
        frame = header + b"\x00" + struct.pack(">h", level)  # subframe: CONSTANT, then its value
        parts.append(frame + struct.pack(">H", _crc16(frame)))
    return b"".join(parts)


def opus_bomb(hours: float) -> bytes:
    """An Ogg Opus of `hours` of silence, in packets of 120 ms."""
    import io

    import av
    import numpy as np

    out = io.BytesIO()
    with av.open(out, "w", format="ogg") as container:
        stream = container.add_stream("libopus", rate=OPUS_RATE, layout="mono")
        frame = av.AudioFrame.from_ndarray(np.zeros((1, 960), np.float32), format="flt", layout="mono")
        frame.sample_rate, frame.pts = OPUS_RATE, 0
        stream.encode(frame)  # opens the encoder: the stream's header (OpusHead) comes from it
        for number in range(int(hours * 3600 * OPUS_RATE) // OPUS_PACKET_SAMPLES):
            packet = av.Packet(OPUS_SILENCE)
            packet.stream = stream
            packet.pts = packet.dts = number * OPUS_PACKET_SAMPLES
            packet.duration = OPUS_PACKET_SAMPLES
            packet.time_base = Fraction(1, OPUS_RATE)
            container.mux(packet)
    return out.getvalue()


def _utf8(number: int) -> bytes:
    """FLAC's frame number: UTF-8's variable-length coding of an integer (3 bytes: 149 hours)."""
    assert number < 0x10000, number
    if number < 0x80:
        return bytes([number])
    if number < 0x800:
        return bytes([0xC0 | number >> 6, 0x80 | number & 0x3F])
    return bytes([0xE0 | number >> 12, 0x80 | (number >> 6) & 0x3F, 0x80 | number & 0x3F])


def _crc8(data: bytes) -> int:
    crc = 0
    for byte in data:
        crc ^= byte
        for _ in range(8):
            crc = ((crc << 1) ^ 0x07) & 0xFF if crc & 0x80 else (crc << 1) & 0xFF
    return crc


def _crc16_table() -> list[int]:
    table = []
    for byte in range(256):
        crc = byte << 8
        for _ in range(8):
            crc = ((crc << 1) ^ 0x8005) & 0xFFFF if crc & 0x8000 else (crc << 1) & 0xFFFF
        table.append(crc)
    return table


_CRC16 = _crc16_table()


def _crc16(data: bytes) -> int:
    crc = 0
    for byte in data:
        crc = ((crc << 8) & 0xFFFF) ^ _CRC16[(crc >> 8) ^ byte]
    return crc
