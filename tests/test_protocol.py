"""Wire protocol: layout pinned, parser robustness (property tests), sample accounting."""

from __future__ import annotations

import itertools
import json
import struct
import zlib

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hil.protocol import (
    CRC_SIZE,
    ERROR_CODES,
    HEADER_SIZE,
    MAX_PAYLOAD,
    REJECT_REASONS,
    SEQ_MODULUS,
    Frame,
    FrameParser,
    FrameType,
    SeqTracker,
    auth_check,
    bind_requires_token,
    error_frame,
    frame_encode,
    hello_frame,
    hello_validate,
    json_frame,
    samples_frame,
    seq_next,
    seq_unwrap,
    welcome_frame,
)

# Small bound so the property tests reach "oversized" and the buffer limit often.
SMALL_MAX = 256
PROPERTY = settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)


def header(ftype, *, seq=0, first_sample=0, plen=0, channels=1, flags=0, version=1, reserved=0,
           magic=b"HB"):
    """The documented v1 header, written out field by field (independent of the module)."""
    return (magic + bytes([version, ftype, flags, channels]) + struct.pack("<H", reserved)
            + struct.pack("<I", seq) + struct.pack("<Q", first_sample) + struct.pack("<I", plen))


def with_crc(head_and_payload: bytes) -> bytes:
    return head_and_payload + struct.pack("<I", zlib.crc32(head_and_payload))


def decode_all(wire: bytes, **kw) -> tuple[list[Frame], FrameParser]:
    parser = FrameParser(**kw)
    frames = parser.feed(wire)
    frames += parser.close()
    return frames, parser


# --------------------------------------------------------------------------- layout
def test_header_size_matches_documented_table():
    assert HEADER_SIZE == 2 + 1 + 1 + 1 + 1 + 2 + 4 + 8 + 4 == 24
    assert CRC_SIZE == 4
    assert MAX_PAYLOAD == 65536


def test_byte_layout_golden():
    """A two-sample SAMPLES frame, built by hand from the documented table and pinned as hex
    (so a change of endianness, field order or CRC polynomial fails here)."""
    payload = struct.pack("<2f", 1.0, -2.0)
    by_hand = with_crc(header(3, seq=7, first_sample=1000, plen=8) + payload)
    golden = bytes.fromhex(
        "4842010300010000"  # magic, version 1, type SAMPLES, flags 0, channels 1, reserved 0
        "07000000"  # seq 7
        "e803000000000000"  # first_sample 1000
        "08000000"  # payload_len 8
        "0000803f000000c0"  # 1.0f, -2.0f
        "84f88181"  # crc32 (zlib) of the 32 bytes above
    )
    assert by_hand == golden
    assert frame_encode(FrameType.SAMPLES, seq=7, first_sample=1000, payload=payload) == golden
    assert samples_frame(7, 1000, np.array([1.0, -2.0], np.float32)) == golden


def test_multichannel_payload_is_time_major_interleaved():
    x = np.array([[1, 2, 3], [10, 20, 30]], np.float32)  # (channels, time)
    wire = samples_frame(0, 0, x)
    assert wire[5] == 2  # channels byte
    payload = wire[HEADER_SIZE:-CRC_SIZE]
    assert struct.unpack("<6f", payload) == (1, 10, 2, 20, 3, 30)


# --------------------------------------------------------------------------- round trips
def _example(ftype: FrameType) -> tuple[bytes, object]:
    if ftype == FrameType.HELLO:
        return hello_frame(0, fs=487.0, channels=3, token="tök"), {
            "protocol": 1, "fs": 487.0, "channels": 3, "token": "tök"}
    if ftype == FrameType.WELCOME:
        return welcome_frame(1, session_id="abc", window_samples=4870), {
            "protocol": 1, "session_id": "abc", "window_samples": 4870}
    if ftype in (FrameType.SAMPLES, FrameType.ECG):
        x = np.array([[0.5, np.nan, -np.inf, 3e38, -1e-45]] * 3, np.float32)
        x[1] = -x[1]
        x[2, 0] = 7.0
        return samples_frame(2**32 - 1, 2**64 - 6, x, type=ftype, flags=0xA5), x
    if ftype == FrameType.STATS:
        obj = {"p50_ms": 33.25, "nested": {"a": [1, 2]}, "unicode": "µ"}
        return json_frame(FrameType.STATS, 3, obj), obj
    if ftype == FrameType.ERROR:
        return error_frame(4, code="auth", message="bad token"), {"code": "auth",
                                                                  "message": "bad token"}
    return frame_encode(FrameType.BYE, seq=5, first_sample=123), {}


@pytest.mark.parametrize("ftype", list(FrameType), ids=lambda t: t.name)
def test_round_trip_every_type(ftype):
    wire, content = _example(ftype)
    frames, parser = decode_all(wire)
    assert len(frames) == 1 and not parser.rejected and parser.bytes_discarded == 0
    (frame,) = frames
    assert frame.type is ftype
    assert frame.encode() == wire
    if ftype in (FrameType.SAMPLES, FrameType.ECG):
        got = frame.samples()
        assert got.dtype == np.float32 and got.shape == (3, 5) and frame.channels == 3
        np.testing.assert_array_equal(got, content)  # bitwise, NaN and inf included
        assert (frame.seq, frame.first_sample, frame.flags) == (2**32 - 1, 2**64 - 6, 0xA5)
        with pytest.raises(ValueError, match="no JSON|not JSON|carry samples"):
            frame.json()
    else:
        assert frame.json() == content
        with pytest.raises(ValueError, match="carry no samples"):
            frame.samples()


@pytest.mark.parametrize("shape", [(0,), (1,), (7,), (5, 0), (3, 11)])
def test_samples_awkward_shapes(shape):
    x = np.random.default_rng(0).standard_normal(shape)  # float64 in, float32 on the wire
    (frame,), _ = decode_all(samples_frame(0, 5, x))
    want = np.atleast_2d(x.astype(np.float32))  # (time,) comes back as (1, time)
    np.testing.assert_array_equal(frame.samples(), want)


def test_samples_frame_fills_max_payload_exactly():
    n = MAX_PAYLOAD // 8
    frame_encoded = samples_frame(0, 0, np.ones((2, n), np.float32))
    assert len(frame_encoded) == HEADER_SIZE + MAX_PAYLOAD + CRC_SIZE
    with pytest.raises(ValueError, match="exceeds max_payload"):
        samples_frame(0, 0, np.ones((2, n + 1), np.float32))


# --------------------------------------------------------------------------- encoder checks
@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"seq": -1}, "seq = -1"),
        ({"seq": 2**32}, "seq = 4294967296"),
        ({"seq": 0, "first_sample": -1}, "first_sample"),
        ({"seq": 0, "first_sample": 2**64}, "first_sample"),
        ({"seq": 0, "channels": 0}, "channels"),
        ({"seq": 0, "channels": 256}, "channels"),
        ({"seq": 0, "flags": 256}, "flags"),
        ({"seq": 0, "payload": bytes(MAX_PAYLOAD + 1)}, "exceeds max_payload = 65536"),
        ({"seq": 0, "payload": bytes(100), "max_payload": 99}, "exceeds max_payload = 99"),
    ],
)
def test_frame_encode_rejects_out_of_range(kwargs, match):
    with pytest.raises(ValueError, match=match):
        frame_encode(FrameType.STATS, **kwargs)


def test_frame_encode_rejects_bad_type_and_sample_length():
    with pytest.raises(ValueError, match="unknown frame type 9"):
        frame_encode(9, seq=0)
    with pytest.raises(ValueError, match="multiple of 4 \\* channels = 12"):
        frame_encode(FrameType.SAMPLES, seq=0, payload=bytes(8), channels=3)
    with pytest.raises(TypeError, match="seq must be an integer"):
        frame_encode(FrameType.BYE, seq=1.0)


def test_helpers_reject_mistakes():
    with pytest.raises(ValueError, match="real floating"):
        samples_frame(0, 0, np.arange(4))
    with pytest.raises(ValueError, match="shape"):
        samples_frame(0, 0, np.zeros((1, 2, 3)))
    with pytest.raises(ValueError, match="not STATS"):
        samples_frame(0, 0, np.zeros(2), type=FrameType.STATS)
    with pytest.raises(ValueError, match="use samples_frame"):
        json_frame(FrameType.SAMPLES, 0, {})
    with pytest.raises(TypeError, match="must be a dict, got list"):
        json_frame(FrameType.STATS, 0, [1])
    with pytest.raises(ValueError, match="Out of range float"):
        json_frame(FrameType.STATS, 0, {"x": float("nan")})
    with pytest.raises(ValueError, match="unknown error code 'oops'; allowed: auth"):
        error_frame(0, code="oops", message="")
    assert set(ERROR_CODES) >= {"auth", "version", "internal"}


@pytest.mark.parametrize(
    ("obj", "match"),
    [
        ({"protocol": 1, "fs": 100.0, "channels": 1}, "missing \\['token'\\]"),
        ({"protocol": 1, "fs": 100.0, "channels": 1, "token": "", "x": 1}, "unknown \\['x'\\]"),
        ({"protocol": 2, "fs": 100.0, "channels": 1, "token": ""}, "protocol 2 unsupported"),
        ({"protocol": True, "fs": 100.0, "channels": 1, "token": ""}, "unsupported"),
        ({"protocol": 1, "fs": float("nan"), "channels": 1, "token": ""}, "fs must be"),
        ({"protocol": 1, "fs": 0, "channels": 1, "token": ""}, "fs must be"),
        ({"protocol": 1, "fs": 100.0, "channels": 0, "token": ""}, "channels must be"),
        ({"protocol": 1, "fs": 100.0, "channels": 1, "token": None}, "token must be"),
    ],
)
def test_hello_validate(obj, match):
    with pytest.raises(ValueError, match=match):
        hello_validate(obj)


def test_frame_json_rejects_non_objects():
    for payload in (b"[1, 2]", b"\xff", b"{"):
        frame = Frame(FrameType.STATS, 0, 0, 1, 0, payload)
        with pytest.raises(ValueError, match="JSON"):
            frame.json()


# --------------------------------------------------------------------------- parser
def _good(seq: int) -> bytes:
    return json_frame(FrameType.STATS, seq, {"seq": seq})


def test_crc_flip_rejected_and_next_frame_decoded():
    bad = bytearray(_good(1))
    bad[HEADER_SIZE + 2] ^= 0x01  # one payload bit
    frames, parser = decode_all(bytes(bad) + _good(2))
    assert [f.json() for f in frames] == [{"seq": 2}]
    assert parser.rejected == {"bad_crc": 1}


def test_corrupt_length_does_not_swallow_the_next_frames():
    """A length flipped upwards makes the bad frame claim the following frames; after its
    CRC fails the parser rescans from inside it and recovers them."""
    bad = bytearray(_good(1))
    bad[20] += 200  # payload_len
    frames, parser = decode_all(bytes(bad) + _good(2) + _good(3) + bytes(300))
    assert [f.seq for f in frames] == [2, 3]
    assert parser.rejected["bad_crc"] == 1


@pytest.mark.parametrize(
    ("head", "reason"),
    [
        (header(5, version=2, plen=2), "bad_version"),
        (header(0, plen=2), "unknown_type"),
        (header(8, plen=2), "unknown_type"),
        (header(5, reserved=1, plen=2), "bad_header"),
        (header(5, channels=0, plen=2), "bad_header"),
        (header(3, channels=3, plen=8), "bad_payload_len"),
        (header(4, channels=1, plen=6), "bad_payload_len"),
    ],
)
def test_header_rejections_counted_then_resync(head, reason):
    plen = struct.unpack_from("<I", head, 20)[0]
    bad = with_crc(head + b"{}".ljust(plen, b" ")[:plen])
    frames, parser = decode_all(_good(0) + bad + _good(1))
    assert [f.seq for f in frames] == [0, 1]
    assert parser.rejected == {reason: 1}
    assert reason in REJECT_REASONS


def test_garbage_between_frames_is_skipped_and_counted():
    junk1, junk2 = b"\x00garbage\xff" * 3, b"BBBB\x00H\x01"  # junk2 ends in a lone "H"
    frames, parser = decode_all(junk1 + _good(0) + junk2 + _good(1) + b"tail")
    assert [f.seq for f in frames] == [0, 1]
    assert parser.rejected == {"bad_magic": 3}
    assert parser.bytes_discarded == len(junk1) + len(junk2) + 4
    assert parser.frames_decoded == 2


def test_frame_fed_one_byte_at_a_time():
    wire = b"".join([_good(0), samples_frame(1, 0, np.arange(12, dtype=np.float32)), _good(2)])
    parser = FrameParser()
    frames = []
    for i in range(len(wire)):
        got = parser.feed(wire[i:i + 1])
        assert parser.buffered < HEADER_SIZE + 48 + CRC_SIZE
        frames += got
    assert [f.seq for f in frames] == [0, 1, 2]
    assert not parser.rejected and parser.buffered == 0


def test_oversized_length_rejected_without_waiting_for_payload():
    parser = FrameParser(max_payload=1000)
    huge = header(FrameType.SAMPLES, plen=2**32 - 4)
    assert parser.feed(huge) == []
    assert parser.rejected == {"oversized": 1}  # from the header alone
    assert parser.buffered <= 1
    assert [f.seq for f in parser.feed(_good(9))] == [9]
    # Just above the bound, still rejected at the header.
    parser.feed(header(FrameType.STATS, plen=1001))
    assert parser.rejected["oversized"] == 2
    # At the bound, accepted.
    ok = frame_encode(FrameType.STATS, seq=3, payload=b" " * 1000, max_payload=1000)
    assert [f.seq for f in parser.feed(ok)] == [3]


def test_buffer_bound_is_tight_for_a_pending_max_frame():
    parser = FrameParser(max_payload=SMALL_MAX)
    wire = frame_encode(FrameType.STATS, seq=0, payload=b" " * SMALL_MAX, max_payload=SMALL_MAX)
    assert parser.feed(wire[:-1]) == []
    assert parser.buffered == parser.max_buffered == HEADER_SIZE + SMALL_MAX + CRC_SIZE - 1
    assert len(parser.feed(wire[-1:])) == 1


def test_close_counts_truncated_frame_and_recovers_frames_after_a_false_start():
    false_start = header(FrameType.STATS, plen=200)  # claims the next frame as payload
    parser = FrameParser()
    assert parser.feed(false_start + _good(4)) == []  # still waiting for 200 bytes
    assert [f.seq for f in parser.close()] == [4]
    assert parser.rejected == {"truncated": 1} and parser.buffered == 0


# --------------------------------------------------------------------------- parser properties
def _chunks(data: bytes, cuts: list[int]) -> list[bytes]:
    points = sorted({c % (len(data) + 1) for c in cuts})
    edges = [0, *points, len(data)]
    return [data[a:b] for a, b in itertools.pairwise(edges)]


# Bytes biased towards the magic and plausible headers, to exercise false frame starts.
GARBAGE_PIECE = st.one_of(
    st.binary(max_size=60),
    st.sampled_from([b"HB", b"H", b"HB\x01"]),
    st.builds(lambda t, c, p: header(t, channels=c, plen=p),
              st.integers(0, 9), st.integers(0, 3), st.integers(0, 2 * SMALL_MAX)),
)


@PROPERTY
@given(
    data=st.binary(max_size=20000) | st.lists(GARBAGE_PIECE, max_size=60).map(b"".join),
    cuts=st.lists(st.integers(0, 2**31), max_size=40),
)
def test_arbitrary_bytes_never_raise_and_buffer_stays_bounded(data, cuts):
    parser = FrameParser(max_payload=SMALL_MAX)
    n_frames = 0
    for chunk in _chunks(data, cuts):
        n_frames += len(parser.feed(chunk))
        assert parser.buffered <= parser.max_buffered
    n_frames += len(parser.close())
    assert parser.buffered == 0
    assert parser.frames_decoded == n_frames
    assert set(parser.rejected) <= set(REJECT_REASONS)


@st.composite
def frames_and_garbage(draw):
    frames = []
    for seq in range(draw(st.integers(0, 8))):
        kind = draw(st.sampled_from(["samples", "json", "bye"]))
        if kind == "samples":
            ch = draw(st.integers(1, 4))
            n = draw(st.integers(0, SMALL_MAX // (4 * ch)))
            x = np.frombuffer(draw(st.binary(min_size=4 * ch * n, max_size=4 * ch * n)),
                              dtype="<f4").reshape(ch, n)
            frames.append(samples_frame(seq, draw(st.integers(0, 2**64 - 1)), x,
                                        max_payload=SMALL_MAX))
        elif kind == "json":
            text = draw(st.text(max_size=40))
            frames.append(json_frame(FrameType.STATS, seq, {"t": text}, max_payload=SMALL_MAX))
        else:
            frames.append(frame_encode(FrameType.BYE, seq=seq, first_sample=seq))
    garbage = [b"".join(draw(st.lists(GARBAGE_PIECE, max_size=3)))
               for _ in range(len(frames) + 1)]
    return frames, garbage


@PROPERTY
@given(case=frames_and_garbage(), cuts=st.lists(st.integers(0, 2**31), max_size=30))
def test_valid_frames_recovered_through_garbage_and_any_chunking(case, cuts):
    frames, garbage = case
    stream = garbage[0] + b"".join(f + g for f, g in zip(frames, garbage[1:], strict=True))
    parser = FrameParser(max_payload=SMALL_MAX)
    decoded = []
    for chunk in _chunks(stream, cuts):
        decoded += parser.feed(chunk)
        assert parser.buffered <= parser.max_buffered
    decoded += parser.close()
    # Every valid frame comes back, in order (garbage could in principle add a frame of its
    # own only by carrying a matching CRC, so the sent frames are checked as a subsequence).
    wire = iter(f.encode(max_payload=SMALL_MAX) for f in decoded)
    assert all(any(sent == got for got in wire) for sent in frames)
    if not any(garbage):
        assert [f.encode(max_payload=SMALL_MAX) for f in decoded] == frames
        assert not parser.rejected and parser.bytes_discarded == 0


# --------------------------------------------------------------------------- sequence tracking
def _frame(seq: int, first: int, n: int) -> Frame:
    x = np.arange(first, first + n, dtype=np.float32)
    return Frame(FrameType.SAMPLES, seq % SEQ_MODULUS, first, 1, 0, x.tobytes())


def _run(tracker: SeqTracker, frames: list[Frame]) -> dict[int, float]:
    """Push frames; return every delivered sample by index, checking none comes twice."""
    out: dict[int, float] = {}
    for f in frames:
        for first, chunk in tracker.push(f):
            assert chunk.shape[0] == 1
            for k, v in enumerate(chunk[0]):
                assert first + k not in out
                out[first + k] = float(v)
    return out


def test_tracker_in_order_no_loss():
    tracker = SeqTracker()
    got = _run(tracker, [_frame(s, 10 * s, 10) for s in range(5)])
    assert got == {i: float(i) for i in range(50)}
    assert tracker.report() == {
        "end": 50, "received": 50, "dropped": 0, "dropped_ranges": [], "frames": 5,
        "duplicated": 0, "duplicate_samples": 0, "reordered": 0, "frames_missing": 0}
    json.dumps(tracker.report())  # usable as a STATS payload
    assert len(tracker._have.starts) == 1  # contiguous samples merge: state stays O(gaps)


def test_tracker_drops_listed_with_inclusive_ranges():
    tracker = SeqTracker()
    sent = [_frame(s, 10 * s, 10) for s in range(10)]
    _run(tracker, [f for f in sent if f.seq not in (3, 7, 9)])
    tracker.push(Frame(FrameType.BYE, 10, 100, 1, 0, b""))  # the lost tail is counted too
    assert tracker.dropped_ranges == [(30, 39), (70, 79), (90, 99)]
    assert tracker.received == 70 and tracker.dropped == 30
    assert tracker.received + tracker.dropped == 100
    assert tracker.frames_missing == 3


def test_tracker_duplicates_counted_not_delivered_twice():
    tracker = SeqTracker()
    sent = [_frame(s, 10 * s, 10) for s in range(4)]
    got = _run(tracker, [sent[0], sent[1], sent[1], sent[2], sent[0], sent[3]])
    assert sorted(got) == list(range(40))
    assert tracker.duplicated == 2 and tracker.duplicate_samples == 20
    assert tracker.reordered == 0 and tracker.frames == 6


def test_tracker_partial_overlap_delivers_only_new_samples():
    tracker = SeqTracker()
    assert [(a, c.shape[1]) for a, c in tracker.push(_frame(0, 0, 10))] == [(0, 10)]
    pieces = tracker.push(_frame(1, 5, 10))  # samples 5..14, 5..9 already here
    assert [(a, c.shape[1]) for a, c in pieces] == [(10, 5)]
    np.testing.assert_array_equal(pieces[0][1][0], np.arange(10, 15, dtype=np.float32))
    assert tracker.duplicate_samples == 5 and tracker.duplicated == 0


def test_tracker_reorder_fills_and_closes_gap():
    tracker = SeqTracker()
    sent = [_frame(s, 10 * s, 10) for s in range(5)]
    _run(tracker, sent[:2] + [sent[3]])
    assert tracker.dropped_ranges == [(20, 29)]
    pieces = tracker.push(sent[2])
    assert [(a, c.shape[1]) for a, c in pieces] == [(20, 10)]
    assert tracker.dropped_ranges == [] and tracker.reordered == 1
    tracker.push(sent[4])
    assert tracker.received == 50 and tracker.frames_missing == 0


def test_tracker_late_frame_spanning_two_gaps():
    tracker = SeqTracker()
    for f in (_frame(0, 0, 10), _frame(2, 20, 5), _frame(4, 40, 10)):
        tracker.push(f)
    pieces = tracker.push(_frame(1, 5, 35))  # covers 5..39: two gaps and one overlap
    assert [(a, c.shape[1]) for a, c in pieces] == [(10, 10), (25, 15)]
    assert tracker.dropped_ranges == [] and tracker.duplicate_samples == 10


def test_tracker_seq_wraps_at_2_32():
    tracker = SeqTracker()
    base = SEQ_MODULUS - 3
    seqs = [(base + k) % SEQ_MODULUS for k in range(8)]  # ..., 2**32-1, 0, 1, ...
    assert seqs[2:4] == [SEQ_MODULUS - 1, 0]
    sent = [_frame(s, 10 * k, 10) for k, s in enumerate(seqs)]
    order = [sent[0], sent[1], sent[3], sent[2], sent[4], sent[6], sent[7]]  # swap at wrap
    _run(tracker, order)
    assert tracker.reordered == 1
    assert tracker.frames_missing == 1  # sent[5], not ~2**32
    assert tracker.dropped_ranges == [(50, 59)]
    assert tracker.received + tracker.dropped == 80


def test_seq_helpers():
    assert seq_next(SEQ_MODULUS - 1) == 0 and seq_next(5) == 6
    assert seq_unwrap(0, ref=SEQ_MODULUS - 1) == SEQ_MODULUS
    assert seq_unwrap(SEQ_MODULUS - 1, ref=SEQ_MODULUS) == SEQ_MODULUS - 1
    assert seq_unwrap(5, ref=3 * SEQ_MODULUS + 2) == 3 * SEQ_MODULUS + 5
    assert seq_unwrap(2**31 - 1, ref=0) == 2**31 - 1
    assert seq_unwrap(2**31, ref=0) == -(2**31)


@PROPERTY
@given(
    sizes=st.lists(st.integers(0, 20), min_size=1, max_size=30),
    fate=st.data(),
)
def test_tracker_accounts_every_sample(sizes, fate):
    starts = np.concatenate([[0], np.cumsum(sizes)]).tolist()
    total = starts[-1]
    seq0 = fate.draw(st.sampled_from([0, SEQ_MODULUS - 5]))
    sent = [_frame(seq0 + k, starts[k], n) for k, n in enumerate(sizes)]
    arrivals = []
    for f in sent:
        copies = fate.draw(st.integers(0, 2))  # dropped, once, or duplicated
        arrivals += [f] * copies
    order = fate.draw(st.permutations(range(len(arrivals))))
    arrivals = [arrivals[i] for i in order]
    bye = Frame(FrameType.BYE, (seq0 + len(sent)) % SEQ_MODULUS, total, 1, 0, b"")
    tracker = SeqTracker()
    got = _run(tracker, [*arrivals, bye])
    assert got == {i: float(i) for i in got}  # right values at the right indices
    assert tracker.received == len(got)
    assert tracker.received + tracker.dropped == total
    missing = {i for a, b in tracker.dropped_ranges for i in range(a, b + 1)}
    assert missing == set(range(total)) - set(got)


# --------------------------------------------------------------------------- auth
@pytest.mark.parametrize(
    ("host", "needs_token"),
    [
        ("127.0.0.1", False), ("127.1.2.3", False), ("::1", False), ("[::1]", False),
        ("localhost", False), ("LOCALHOST.", False), ("::ffff:127.0.0.1", False),
        ("0.0.0.0", True), ("::", True), ("", True), ("192.168.1.5", True),
        ("10.0.0.1", True), ("fe80::1%eth0", True), ("pi.local", True),
        ("localhost.evil.com", True), ("128.0.0.1", True),
    ],
)
def test_bind_requires_token(host, needs_token):
    assert bind_requires_token(host) is needs_token


def test_auth_check():
    assert auth_check("s3cret-tök", "s3cret-tök")
    assert not auth_check("s3cret", "s3creT")
    assert not auth_check("s3cret", "s3cret ")
    assert not auth_check("s3cret", "")
    assert not auth_check("", "")  # no token configured never authenticates
    assert not auth_check("s3cret", None)
