"""Wire protocol between the DAQ host and the edge runtime: versioned, CRC-checked frames.

The edge runtime (``hil serve``, DESIGN §6) receives framed BCG samples and streams
reconstructed ECG back over one byte stream (TCP or a serial link). Every message is one
frame; frames are self-delimiting, so a receiver that loses sync (garbage on a serial line, a
truncated write) finds the next frame by scanning for the magic.

Frame layout, version 1 (all integers little-endian)
----------------------------------------------------
======  =====  ============  ==========================================================
offset  size   field         meaning
======  =====  ============  ==========================================================
0       2      magic         ``b"HB"`` (``0x48 0x42``)
2       1      version       u8, :data:`PROTOCOL_VERSION` (= 1)
3       1      type          u8, a :class:`FrameType`
4       1      flags         u8, no bits are defined in v1; carried through untouched
5       1      channels      u8, 1..255 (interleaved channels of a sample payload)
6       2      reserved      u16, must be 0
8       4      seq           u32, per-stream frame counter, wraps at 2**32
12      8      first_sample  u64, index in the stream of the payload's first sample
20      4      payload_len   u32, bytes of payload, at most ``max_payload``
24      n      payload       ``payload_len`` bytes
24 + n  4      crc32         u32, :func:`zlib.crc32` of bytes ``0 .. 24 + n`` (all before it)
======  =====  ============  ==========================================================

The header is :data:`HEADER_SIZE` = 24 bytes; a frame is ``28 + payload_len`` bytes. There is
no separate header CRC: a corrupted length is caught by the frame CRC, and the parser then
rescans from just after the bad frame's magic, so frames it wrongly swallowed are recovered.

Frame types and payloads
------------------------
``HELLO`` (client → server)
    JSON object ``{"protocol": 1, "fs": <Hz>, "channels": <int>, "token": <str>}``
    (:func:`hello_frame`, checked by :func:`hello_validate`).
``WELCOME`` (server → client)
    JSON object ``{"protocol": 1, "session_id": <str>, "window_samples": <int>}``.
``SAMPLES`` (client → server)
    float32 little-endian samples, time-major with channels interleaved
    (``s[t0,c0] s[t0,c1] ... s[t1,c0] ...``); ``n = payload_len / 4 / channels``, so
    ``payload_len`` must be a multiple of ``4 * channels``. ``first_sample`` is the index of
    the first time step in the stream (the stream starts at sample 0).
``ECG`` (server → client)
    Reconstructed ECG, same encoding as ``SAMPLES``; ``first_sample`` is the window start.
``STATS`` (either way)
    JSON object, free form (latencies, counters).
``ERROR`` (either way)
    JSON object ``{"code": <one of ERROR_CODES>, "message": <str>}``.
``BYE`` (either way)
    End of stream. ``first_sample`` is one past the last sample the sender sent, so the
    receiver can count a lost tail (:class:`SeqTracker`). Empty payload or a JSON object.

``seq`` counts every frame a side sends (all types), starting anywhere and wrapping at
2**32 (:func:`seq_next`); receivers compare seqs with serial-number arithmetic
(:func:`seq_unwrap`). Samples are accounted by ``first_sample``, which does not wrap.

Receiving
---------
:class:`FrameParser` is incremental and never raises on bad input. A malformed frame is
rejected and counted in ``parser.rejected`` under one of :data:`REJECT_REASONS`, and the
parser resynchronises on the next magic. Its buffer is bounded: after each
:meth:`FrameParser.feed` it holds fewer than ``HEADER_SIZE + max_payload + CRC_SIZE`` bytes
(:attr:`FrameParser.max_buffered`); a length field above ``max_payload`` is rejected as soon
as the header is in, without waiting for (or allocating) the payload.

Cost note: a forged header that passes the header checks makes the parser buffer and CRC up
to ``max_payload`` bytes before rejecting it and rescanning; a server should close a
connection whose ``rejected`` counts keep climbing.

Authentication: required unless loopback
----------------------------------------
A server bound to a loopback address (127.0.0.0/8, ``::1``, ``localhost``) may skip the
token; any other bind (including ``0.0.0.0``, ``::`` and host names) requires one
(:func:`bind_requires_token`). Tokens are compared in constant time (:func:`auth_check`).

Examples
--------
>>> import numpy as np
>>> x = np.arange(6, dtype=np.float32).reshape(2, 3)  # (channels, time)
>>> wire = samples_frame(7, 1000, x) + b"noise" + json_frame(FrameType.STATS, 8, {"rtf": 0.1})
>>> parser = FrameParser()
>>> frames = parser.feed(wire[:30]) + parser.feed(wire[30:])
>>> [f.type.name for f in frames], frames[0].first_sample, frames[1].json()
(['SAMPLES', 'STATS'], 1000, {'rtf': 0.1})
>>> frames[0].samples()
array([[0., 1., 2.],
       [3., 4., 5.]], dtype=float32)
>>> dict(parser.rejected), parser.bytes_discarded
({'bad_magic': 1}, 5)
"""

from __future__ import annotations

import bisect
import collections
import dataclasses
import enum
import hmac
import ipaddress
import json
import logging
import operator
import struct
import zlib
from typing import Any, Final

import numpy as np

__all__ = [
    "CRC_SIZE",
    "ERROR_CODES",
    "HEADER_SIZE",
    "HELLO_KEYS",
    "MAGIC",
    "MAX_PAYLOAD",
    "PROTOCOL_VERSION",
    "REJECT_REASONS",
    "SEQ_MODULUS",
    "Frame",
    "FrameParser",
    "FrameType",
    "SeqTracker",
    "auth_check",
    "bind_requires_token",
    "error_frame",
    "frame_encode",
    "hello_frame",
    "hello_validate",
    "json_frame",
    "samples_frame",
    "seq_next",
    "seq_unwrap",
    "welcome_frame",
]

logger = logging.getLogger(__name__)

MAGIC: Final = b"HB"
PROTOCOL_VERSION: Final = 1
#: Default bound on ``payload_len`` (bytes); a parameter of the encoder and the parser.
MAX_PAYLOAD: Final = 65536
SEQ_MODULUS: Final = 2**32

_HEADER: Final = struct.Struct("<2sBBBBHIQI")
_CRC: Final = struct.Struct("<I")
HEADER_SIZE: Final = _HEADER.size
CRC_SIZE: Final = _CRC.size
_SAMPLE_DTYPE: Final = np.dtype("<f4")
_U8, _U32, _U64 = 2**8, 2**32, 2**64


class FrameType(enum.IntEnum):
    """Frame type byte. 0 is unused so that zeroed memory never parses as a frame."""

    HELLO = 1
    WELCOME = 2
    SAMPLES = 3
    ECG = 4
    STATS = 5
    ERROR = 6
    BYE = 7


_TYPE_VALUES: Final = frozenset(int(t) for t in FrameType)
_SAMPLE_TYPES: Final = frozenset({FrameType.SAMPLES, FrameType.ECG})
_JSON_TYPES: Final = frozenset(
    {FrameType.HELLO, FrameType.WELCOME, FrameType.STATS, FrameType.ERROR, FrameType.BYE}
)

#: Why the parser rejected bytes; one registry for ``FrameParser.rejected`` and the docs.
REJECT_REASONS: Final = {
    "bad_magic": "a run of bytes skipped while looking for the magic (one count per run; "
    "bytes skipped right after a counted rejection are not counted again)",
    "bad_version": "version byte is not PROTOCOL_VERSION",
    "unknown_type": "type byte is not a FrameType",
    "bad_header": "reserved field is not 0, or channels is 0",
    "oversized": "payload_len above max_payload (rejected as soon as the header is in)",
    "bad_payload_len": "SAMPLES/ECG payload_len not a multiple of 4 * channels",
    "bad_crc": "crc32 does not match header + payload",
    "truncated": "stream closed (FrameParser.close) in the middle of a frame",
}

#: ERROR frame codes and what they mean.
ERROR_CODES: Final = {
    "auth": "missing or wrong token",
    "bad_hello": "HELLO missing, malformed or inconsistent",
    "version": "unsupported protocol version",
    "bad_frame": "frame not allowed in this state",
    "overload": "server cannot keep up; samples are being dropped",
    "internal": "server-side failure",
}

#: Keys of the HELLO JSON object (all required, no others).
HELLO_KEYS: Final = frozenset({"protocol", "fs", "channels", "token"})


# --------------------------------------------------------------------------- sequence numbers
def seq_next(seq: int) -> int:
    """The sequence number after ``seq``, wrapping at :data:`SEQ_MODULUS`.

    >>> seq_next(2**32 - 1)
    0
    """
    return (operator.index(seq) + 1) % SEQ_MODULUS


def seq_unwrap(seq: int, ref: int) -> int:
    """Unwrap a 32-bit ``seq`` to the unbounded integer nearest to ``ref``.

    Serial-number arithmetic (RFC 1982): ``seq`` is taken to lie within ``2**31`` of
    ``ref`` (an already unwrapped number), on either side.

    >>> seq_unwrap(1, ref=2**32 - 2)   # the counter wrapped: 3 frames later
    4294967297
    >>> seq_unwrap(2**32 - 1, ref=0)   # one frame earlier than the reference
    -1
    """
    delta = (operator.index(seq) - operator.index(ref)) % SEQ_MODULUS
    if delta >= SEQ_MODULUS // 2:
        delta -= SEQ_MODULUS
    return ref + delta


# --------------------------------------------------------------------------- frames
@dataclasses.dataclass(frozen=True)
class Frame:
    """One decoded frame (see the module docstring for the fields' meaning)."""

    type: FrameType
    seq: int
    first_sample: int
    channels: int
    flags: int
    payload: bytes

    def samples(self) -> np.ndarray:
        """Decode a SAMPLES/ECG payload: float32, shape ``(channels, time)``, a fresh copy.

        Raises
        ------
        ValueError
            For other frame types, or a payload that is not a multiple of ``4 * channels``.
        """
        if self.type not in _SAMPLE_TYPES:
            raise ValueError(f"{self.type.name} frames carry no samples")
        if self.channels < 1 or len(self.payload) % (4 * self.channels):
            raise ValueError(
                f"payload of {len(self.payload)} bytes is not a multiple of "
                f"4 * channels = {4 * self.channels}"
            )
        flat = np.frombuffer(self.payload, dtype=_SAMPLE_DTYPE)
        return np.ascontiguousarray(flat.reshape(-1, self.channels).T, dtype=np.float32)

    def json(self) -> dict[str, Any]:
        """Decode a JSON payload to a dict (an empty payload gives ``{}``).

        Raises
        ------
        ValueError
            For SAMPLES/ECG frames, invalid UTF-8/JSON, or JSON that is not an object.
        """
        if self.type not in _JSON_TYPES:
            raise ValueError(f"{self.type.name} frames carry samples, not JSON")
        if not self.payload:
            return {}
        try:
            obj = json.loads(self.payload.decode("utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError) as err:
            raise ValueError(f"{self.type.name} payload is not valid JSON: {err}") from None
        if not isinstance(obj, dict):
            raise ValueError(
                f"{self.type.name} payload must be a JSON object, got {_type_name(obj)}"
            )
        return obj

    def encode(self, *, max_payload: int = MAX_PAYLOAD) -> bytes:
        """The frame's bytes on the wire (:func:`frame_encode` of its fields)."""
        return frame_encode(
            self.type,
            seq=self.seq,
            first_sample=self.first_sample,
            payload=self.payload,
            channels=self.channels,
            flags=self.flags,
            max_payload=max_payload,
        )


def _type_name(obj: object) -> str:
    return obj.__class__.__name__


def _in_range(name: str, value: int, lo: int, hi: int) -> int:
    try:
        value = operator.index(value)
    except TypeError:
        raise TypeError(f"{name} must be an integer, got {type(value).__name__}") from None
    if not lo <= value < hi:
        raise ValueError(f"{name} = {value} is outside [{lo}, {hi - 1}]")
    return value


def _frame_type(value: int) -> FrameType:
    try:
        return FrameType(value)
    except ValueError:
        allowed = ", ".join(f"{t.name}={t.value}" for t in FrameType)
        raise ValueError(f"unknown frame type {value!r}; allowed: {allowed}") from None


def frame_encode(
    type: FrameType,
    *,
    seq: int,
    first_sample: int = 0,
    payload: bytes = b"",
    channels: int = 1,
    flags: int = 0,
    max_payload: int = MAX_PAYLOAD,
) -> bytes:
    """Build one frame: header, payload, crc32.

    Parameters
    ----------
    type
        A :class:`FrameType` (or its integer value).
    seq
        Frame counter in ``[0, 2**32)``; use :func:`seq_next` to advance it.
    first_sample
        Stream index of the payload's first sample, in ``[0, 2**64)``.
    payload
        Raw payload bytes, at most ``max_payload``. For SAMPLES/ECG a multiple of
        ``4 * channels`` (use :func:`samples_frame`).
    channels
        1..255.
    flags
        0..255 (no bits defined in v1).
    max_payload
        Payload bound; must match the receiver's.

    Raises
    ------
    ValueError
        Unknown type, a field out of range, an oversized payload, or a sample payload whose
        length is not a multiple of ``4 * channels``.
    """
    ftype = _frame_type(type)
    seq = _in_range("seq", seq, 0, _U32)
    first_sample = _in_range("first_sample", first_sample, 0, _U64)
    channels = _in_range("channels", channels, 1, _U8)
    flags = _in_range("flags", flags, 0, _U8)
    max_payload = _in_range("max_payload", max_payload, 0, _U32)
    payload = bytes(payload)
    if len(payload) > max_payload:
        raise ValueError(f"payload of {len(payload)} bytes exceeds max_payload = {max_payload}")
    if ftype in _SAMPLE_TYPES and len(payload) % (4 * channels):
        raise ValueError(
            f"{ftype.name} payload of {len(payload)} bytes is not a multiple of "
            f"4 * channels = {4 * channels}"
        )
    head = _HEADER.pack(
        MAGIC, PROTOCOL_VERSION, ftype, flags, channels, 0, seq, first_sample, len(payload)
    )
    crc = zlib.crc32(payload, zlib.crc32(head))
    return head + payload + _CRC.pack(crc)


def samples_frame(
    seq: int,
    first_sample: int,
    samples: np.ndarray,
    *,
    type: FrameType = FrameType.SAMPLES,
    flags: int = 0,
    max_payload: int = MAX_PAYLOAD,
) -> bytes:
    """Encode samples as a SAMPLES (or ECG) frame.

    Parameters
    ----------
    seq, first_sample
        As in :func:`frame_encode`.
    samples
        Real floating array, shape ``(time,)`` (one channel) or ``(channels, time)``; sent
        as float32 (values are rounded to float32; NaN and inf pass through).
    type
        ``FrameType.SAMPLES`` or ``FrameType.ECG``.

    Raises
    ------
    ValueError
        Non-float dtype, more than 2 dims, 0 or more than 255 channels, or too many samples
        for ``max_payload`` (at most ``max_payload // (4 * channels)`` time steps).
    """
    ftype = _frame_type(type)
    if ftype not in _SAMPLE_TYPES:
        raise ValueError(f"samples_frame builds SAMPLES or ECG frames, not {ftype.name}")
    x = np.asarray(samples)
    if not np.issubdtype(x.dtype, np.floating):
        raise ValueError(f"samples must be a real floating array, got dtype {x.dtype}")
    if x.ndim == 1:
        x = x[np.newaxis]
    elif x.ndim != 2:
        raise ValueError(f"samples must have shape (time,) or (channels, time), got {x.shape}")
    payload = np.ascontiguousarray(x.T, dtype=_SAMPLE_DTYPE).tobytes()
    return frame_encode(
        ftype,
        seq=seq,
        first_sample=first_sample,
        payload=payload,
        channels=x.shape[0],
        flags=flags,
        max_payload=max_payload,
    )


def json_frame(
    type: FrameType,
    seq: int,
    obj: dict[str, Any],
    *,
    first_sample: int = 0,
    max_payload: int = MAX_PAYLOAD,
) -> bytes:
    """Encode a JSON object as a HELLO/WELCOME/STATS/ERROR/BYE frame.

    Keys are sorted and separators compact, so the same object gives the same bytes.

    Raises
    ------
    ValueError
        A sample frame type, NaN/inf values, or an oversized payload.
    TypeError
        A non-dict ``obj``, or values JSON cannot encode.
    """
    ftype = _frame_type(type)
    if ftype not in _JSON_TYPES:
        raise ValueError(f"{ftype.name} frames carry samples; use samples_frame")
    if not isinstance(obj, dict):
        raise TypeError(f"JSON payload must be a dict, got {_type_name(obj)}")
    text = json.dumps(obj, sort_keys=True, separators=(",", ":"), allow_nan=False)
    payload = text.encode("utf-8")
    return frame_encode(
        ftype, seq=seq, first_sample=first_sample, payload=payload, max_payload=max_payload
    )


def hello_frame(seq: int, *, fs: float, channels: int, token: str = "") -> bytes:
    """The client's HELLO: protocol version, sampling rate (Hz), channel count, token.

    >>> hello_validate(FrameParser().feed(hello_frame(0, fs=487.0, channels=1))[0].json())
    {'channels': 1, 'fs': 487.0, 'protocol': 1, 'token': ''}
    """
    obj = {"protocol": PROTOCOL_VERSION, "fs": fs, "channels": channels, "token": token}
    return json_frame(FrameType.HELLO, seq, hello_validate(obj))


def hello_validate(obj: dict[str, Any]) -> dict[str, Any]:
    """Check a HELLO object; returns it with ``fs`` as float. Raises ``ValueError``."""
    if not isinstance(obj, dict):
        raise ValueError(f"HELLO must be a JSON object, got {_type_name(obj)}")
    keys = set(obj)
    if keys != HELLO_KEYS:
        raise ValueError(
            f"HELLO keys must be {sorted(HELLO_KEYS)}; missing {sorted(HELLO_KEYS - keys)}, "
            f"unknown {sorted(keys - HELLO_KEYS)}"
        )
    if obj["protocol"] != PROTOCOL_VERSION or isinstance(obj["protocol"], bool):
        raise ValueError(
            f"HELLO protocol {obj['protocol']!r} unsupported; this is {PROTOCOL_VERSION}"
        )
    fs = obj["fs"]
    if isinstance(fs, bool) or not isinstance(fs, int | float) or not 0 < fs < float("inf"):
        raise ValueError(f"HELLO fs must be a finite number > 0 Hz, got {fs!r}")
    ch = obj["channels"]
    if isinstance(ch, bool) or not isinstance(ch, int) or not 1 <= ch < _U8:
        raise ValueError(f"HELLO channels must be an integer in [1, {_U8 - 1}], got {ch!r}")
    if not isinstance(obj["token"], str):
        raise ValueError(f"HELLO token must be a string, got {_type_name(obj['token'])}")
    return {**obj, "fs": float(fs)}


def welcome_frame(seq: int, *, session_id: str, window_samples: int) -> bytes:
    """The server's WELCOME: session id and the analysis window length in samples."""
    window_samples = _in_range("window_samples", window_samples, 1, _U64)
    obj = {"protocol": PROTOCOL_VERSION, "session_id": str(session_id),
           "window_samples": window_samples}
    return json_frame(FrameType.WELCOME, seq, obj)


def error_frame(seq: int, *, code: str, message: str) -> bytes:
    """An ERROR frame; ``code`` must be one of :data:`ERROR_CODES`."""
    if code not in ERROR_CODES:
        raise ValueError(f"unknown error code {code!r}; allowed: {', '.join(ERROR_CODES)}")
    return json_frame(FrameType.ERROR, seq, {"code": code, "message": str(message)})


# --------------------------------------------------------------------------- parser
class FrameParser:
    """Incremental, resynchronising frame decoder with a bounded buffer.

    Parameters
    ----------
    max_payload
        Largest accepted ``payload_len`` (bytes); longer frames are rejected as
        ``"oversized"`` from their header alone.

    Attributes
    ----------
    rejected : collections.Counter
        Rejections by reason (keys from :data:`REJECT_REASONS`).
    bytes_discarded : int
        Bytes dropped without being part of a decoded frame (garbage, rejected frames'
        magics, anything skipped while resynchronising).
    frames_decoded : int
        Frames returned so far.
    """

    def __init__(self, max_payload: int = MAX_PAYLOAD) -> None:
        self.max_payload = _in_range("max_payload", max_payload, 0, _U32)
        self._buffer = bytearray()
        self.rejected: collections.Counter[str] = collections.Counter()
        self.bytes_discarded = 0
        self.frames_decoded = 0
        self._resyncing = False  # inside a run of skipped bytes already accounted for

    @property
    def buffered(self) -> int:
        """Bytes held between calls (an incomplete frame, or a trailing ``b"H"``)."""
        return len(self._buffer)

    @property
    def max_buffered(self) -> int:
        """Upper bound on :attr:`buffered` after every :meth:`feed` returns."""
        return HEADER_SIZE + self.max_payload + CRC_SIZE - 1

    def feed(self, data: bytes) -> list[Frame]:
        """Add bytes from the stream; return the frames they complete, in order.

        Never raises on malformed input; see :attr:`rejected`.
        """
        self._buffer += data
        return self._drain(final=False)

    def close(self) -> list[Frame]:
        """End of stream: decode what can be decoded, count a cut-off frame as
        ``"truncated"``, and empty the buffer."""
        return self._drain(final=True)

    # ---------------------------------------------------------------- internals
    def _discard(self, n: int, *, garbage: bool) -> None:
        if n <= 0:
            return
        self.bytes_discarded += n
        if garbage and not self._resyncing:
            self.rejected["bad_magic"] += 1
        self._resyncing = True

    def _reject(self, reason: str) -> None:
        self.rejected[reason] += 1
        self._resyncing = True
        logger.debug("frame rejected: %s", reason)

    def _header_problem(self, version: int, ftype: int, channels: int, reserved: int,
                        plen: int) -> str | None:
        if version != PROTOCOL_VERSION:
            return "bad_version"
        if ftype not in _TYPE_VALUES:
            return "unknown_type"
        if reserved != 0 or channels == 0:
            return "bad_header"
        if plen > self.max_payload:
            return "oversized"
        if ftype in _SAMPLE_TYPES and plen % (4 * channels):
            return "bad_payload_len"
        return None

    def _drain(self, *, final: bool) -> list[Frame]:
        buf = self._buffer
        n = len(buf)
        pos = 0
        frames: list[Frame] = []
        while pos < n:
            start = buf.find(MAGIC, pos)
            if start < 0:
                # Keep a trailing b"H": it may be the first half of the next magic.
                keep = 1 if (not final and buf[n - 1] == MAGIC[0]) else 0
                self._discard(n - keep - pos, garbage=True)
                pos = n - keep
                break
            self._discard(start - pos, garbage=True)
            pos = start
            if n - pos < HEADER_SIZE:
                if final:
                    self._reject("truncated")
                    self._discard(len(MAGIC), garbage=False)
                    pos += len(MAGIC)
                    continue
                break
            _, version, ftype, flags, channels, reserved, seq, first, plen = (
                _HEADER.unpack_from(buf, pos)
            )
            problem = self._header_problem(version, ftype, channels, reserved, plen)
            if problem is None and n - pos < HEADER_SIZE + plen + CRC_SIZE and final:
                problem = "truncated"
            if problem is not None:
                self._reject(problem)
                self._discard(len(MAGIC), garbage=False)
                pos += len(MAGIC)  # rescan from inside: the length may be the corrupt part
                continue
            end = pos + HEADER_SIZE + plen
            if n < end + CRC_SIZE:
                break  # wait for the rest; bounded because plen <= max_payload
            with memoryview(buf) as view:
                crc = zlib.crc32(view[pos:end])
            (stored,) = _CRC.unpack_from(buf, end)
            if crc != stored:
                self._reject("bad_crc")
                self._discard(len(MAGIC), garbage=False)
                pos += len(MAGIC)
                continue
            frames.append(Frame(FrameType(ftype), seq, first, channels, flags,
                                bytes(buf[pos + HEADER_SIZE:end])))
            self._resyncing = False
            pos = end + CRC_SIZE
        del buf[:pos]
        self.frames_decoded += len(frames)
        return frames


# --------------------------------------------------------------------------- accounting
class _Intervals:
    """Disjoint, merged half-open integer intervals ``[start, end)``."""

    def __init__(self) -> None:
        self.starts: list[int] = []
        self.ends: list[int] = []
        self.total = 0

    def add(self, a: int, b: int) -> list[tuple[int, int]]:
        """Cover ``[a, b)``; return the parts that were not covered before, in order."""
        if a >= b:
            return []
        starts, ends = self.starts, self.ends
        i = bisect.bisect_left(ends, a)  # first interval ending at or after a (touching)
        j = bisect.bisect_right(starts, b)  # past the last interval starting at or before b
        new = []
        cur = a
        for s, e in zip(starts[i:j], ends[i:j], strict=True):
            if s > cur:
                new.append((cur, s))
            cur = max(cur, e)
        if cur < b:
            new.append((cur, b))
        lo = min(a, starts[i]) if i < j else a
        hi = max(b, ends[j - 1]) if i < j else b
        starts[i:j] = [lo]
        ends[i:j] = [hi]
        self.total += sum(e - s for s, e in new)
        return new

    def gaps(self, lo: int, hi: int) -> list[tuple[int, int]]:
        """Uncovered half-open parts of ``[lo, hi)``."""
        out = []
        cur = lo
        for s, e in zip(self.starts, self.ends, strict=True):
            if s >= hi:
                break
            if s > cur:
                out.append((cur, s))
            cur = max(cur, e)
        if cur < hi:
            out.append((cur, hi))
        return out


class SeqTracker:
    """Account for every sample of one direction of a stream.

    Push every frame the peer sends, in arrival order. Samples (SAMPLES/ECG frames) are
    accounted by ``first_sample``: each stream sample is either received (delivered once)
    or, while missing, listed in :attr:`dropped_ranges`. The stream starts at sample 0; a
    BYE frame's ``first_sample`` marks its end, so a lost tail is counted as dropped. Every
    frame's ``seq`` is unwrapped (:func:`seq_unwrap`) to count frames that never arrived.

    Attributes
    ----------
    frames : int
        Sample frames pushed.
    duplicated : int
        Sample frames that brought no new sample (not delivered again).
    duplicate_samples : int
        Samples received more than once (whole duplicate frames and partial overlaps).
    reordered : int
        Sample frames that arrived late and filled (part of) a gap, which is then closed.

    Examples
    --------
    >>> import numpy as np
    >>> parser, tracker = FrameParser(), SeqTracker()
    >>> x = np.zeros(10, np.float32)
    >>> wire = b"".join(samples_frame(s, 10 * s, x) for s in (0, 2, 1, 1, 3))
    >>> pieces = [p for f in parser.feed(wire) for p in tracker.push(f)]
    >>> [(first, chunk.shape) for first, chunk in pieces]
    [(0, (1, 10)), (20, (1, 10)), (10, (1, 10)), (30, (1, 10))]
    >>> tracker.push(parser.feed(frame_encode(FrameType.BYE, seq=5, first_sample=50))[0])
    []
    >>> tracker.report()["dropped_ranges"], tracker.received, tracker.reordered, tracker.duplicated
    ([(40, 49)], 40, 1, 1)
    """

    def __init__(self) -> None:
        self._have = _Intervals()
        self._high = 0  # one past the highest sample received
        self._end: int | None = None  # one past the last sample sent, from BYE
        self._seqs = _Intervals()
        self._seq_max: int | None = None  # highest unwrapped seq seen
        self.frames = 0
        self.duplicated = 0
        self.duplicate_samples = 0
        self.reordered = 0

    def push(self, frame: Frame) -> list[tuple[int, np.ndarray]]:
        """Account one frame; return its new samples as ``(first_sample, (channels, n))``
        pieces (empty for duplicates and non-sample frames)."""
        u = frame.seq if self._seq_max is None else seq_unwrap(frame.seq, self._seq_max)
        self._seq_max = u if self._seq_max is None else max(self._seq_max, u)
        self._seqs.add(u, u + 1)
        if frame.type == FrameType.BYE:
            self._end = frame.first_sample
            return []
        if frame.type not in _SAMPLE_TYPES:
            return []
        x = frame.samples()
        a = frame.first_sample
        b = a + x.shape[-1]
        self.frames += 1
        if a == b:
            return []
        new = self._have.add(a, b)
        self.duplicate_samples += (b - a) - sum(e - s for s, e in new)
        if not new:
            self.duplicated += 1
            logger.debug("duplicate frame seq=%d samples [%d, %d)", frame.seq, a, b)
            return []
        if new[0][0] < self._high:
            self.reordered += 1
        self._high = max(self._high, b)
        return [(s, x[:, s - a:e - a]) for s, e in new]

    @property
    def received(self) -> int:
        """Distinct samples received."""
        return self._have.total

    @property
    def end(self) -> int:
        """One past the last sample known to have been sent (BYE, or the highest received)."""
        return max(self._high, self._end or 0)

    @property
    def dropped_ranges(self) -> list[tuple[int, int]]:
        """Missing samples as inclusive ``(first, last)`` index pairs, below :attr:`end`."""
        return [(s, e - 1) for s, e in self._have.gaps(0, self.end)]

    @property
    def dropped(self) -> int:
        """Samples missing below :attr:`end`; ``received + dropped == end``."""
        return self.end - self.received

    @property
    def frames_missing(self) -> int:
        """Frame seqs never seen between the lowest and highest seen (all frame types)."""
        if not self._seqs.starts:
            return 0
        lo, hi = self._seqs.starts[0], self._seqs.ends[-1]
        return (hi - lo) - self._seqs.total

    def report(self) -> dict[str, Any]:
        """All counters as a JSON-ready dict (e.g. a STATS payload)."""
        return {
            "end": self.end,
            "received": self.received,
            "dropped": self.dropped,
            "dropped_ranges": self.dropped_ranges,
            "frames": self.frames,
            "duplicated": self.duplicated,
            "duplicate_samples": self.duplicate_samples,
            "reordered": self.reordered,
            "frames_missing": self.frames_missing,
        }


# --------------------------------------------------------------------------- authentication
def auth_check(expected_token: str, given: object) -> bool:
    """Constant-time token comparison (:func:`hmac.compare_digest` on UTF-8 bytes).

    An empty ``expected_token`` never matches (a server with no token configured must not
    accept everyone), and a non-string ``given`` (e.g. JSON ``null``) is refused.

    >>> auth_check("s3cret", "s3cret"), auth_check("s3cret", "s3cre"), auth_check("", "")
    (True, False, False)
    """
    if not expected_token or not isinstance(expected_token, str) or not isinstance(given, str):
        return False
    return hmac.compare_digest(expected_token.encode("utf-8"), given.encode("utf-8"))


def bind_requires_token(host: str) -> bool:
    """Whether a server bound to ``host`` must require a token: True unless loopback.

    Loopback is 127.0.0.0/8, ``::1`` (also ``[::1]`` and IPv4-mapped ``::ffff:127.x.y.z``)
    and the name ``localhost``. Everything else needs a token, including the wildcard
    binds (``0.0.0.0``, ``::``, ``""``) and other host names, which are not resolved.

    >>> [bind_requires_token(h) for h in ("127.0.0.1", "::1", "localhost", "0.0.0.0")]
    [False, False, False, True]
    """
    name = host.strip().lower().rstrip(".")
    if name == "localhost":
        return False
    if name.startswith("[") and name.endswith("]"):
        name = name[1:-1]
    try:
        addr = ipaddress.ip_address(name)
    except ValueError:
        return True
    if isinstance(addr, ipaddress.IPv6Address) and addr.ipv4_mapped is not None:
        addr = addr.ipv4_mapped
    return not addr.is_loopback
