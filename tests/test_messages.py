import msgspec
import pytest
from hypothesis import given
from hypothesis import strategies as st

from sequencer import messages as M


def test_tags_are_unique_and_stable():
    # Changing a tag breaks every log ever written: this list only grows.
    assert {c.__name__: c.__struct_config__.tag for c in M.ALL_TYPES} == {
        "Clock": 1, "ClockSample": 2, "DayStart": 3, "Ping": 900, "Pong": 901, "Note": 902, "Blob": 903}


def test_unknown_tag_is_an_error_naming_it():
    payload = msgspec.msgpack.encode([4242, 1, 2])
    with pytest.raises(M.UnknownMessageType, match="4242"):
        M.decode(payload)
    with pytest.raises(M.UnknownMessageType, match="4242"):
        M.decode(payload, 4242)


def test_header_and_payload_tags_must_agree():
    with pytest.raises(ValueError, match="header says type 901"):
        M.decode(M.encode(M.Ping(1)), 901)


@given(st.integers(-(10**15), 10**15))
def test_price_display_round_trips(v):
    s = M.format_price(v)
    whole, frac = s.lstrip("-").split(".")
    assert len(frac) >= 2
    back = int(whole) * M.PRICE_SCALE + int(frac.ljust(6, "0"))
    assert (-back if s.startswith("-") else back) == v


def test_display_shows_prices_as_decimals():
    assert M.to_display(M.Ping(3, px=101_250_000)) == {"type": "Ping", "n": 3, "px": "101.25"}
