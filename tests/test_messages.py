import msgspec
import pytest
from hypothesis import given
from hypothesis import strategies as st

from sequencer import messages as M


def test_tags_are_unique_and_stable():
    # Changing a tag breaks every log ever written: this list only grows.
    assert {c.__name__: c.__struct_config__.tag for c in M.ALL_TYPES} == {
        "Clock": 1, "SourceRights": 4, "TermStart": 5, "ClockSample": 2, "DayStart": 3, "NewOrder": 100, "CancelRequest": 101, "ReplaceRequest": 102,
        "StatusRequest": 103, "MassCancelRequest": 104, "CancelOnDisconnect": 105, "DontKnowTrade": 106, "DeskCancel": 107, "DeskCancelAll": 108, "DeskPause": 109, "MassCancelReport": 112, "ExecReport": 110, "CancelReject": 111, "ChildNewRequest": 200,
        "ChildCancelRequest": 201, "ChildReplaceRequest": 202, "ChildOrder": 203, "ChildCancel": 204,
        "ChildReplace": 205, "ChildRefused": 206, "ParentUpdate": 207, "PositionUpdate": 270, "AccountPnl": 271, "ChildStatusRequest": 208, "VenueOrderStatus": 218, "VenueAck": 210, "VenueFill": 211, "VenueReject": 212,
        "VenueCanceled": 213, "VenueReplaced": 214, "VenueCancelReject": 215, "VenueSession": 216, "VenueTradeCorrection": 217, "OmsAlert": 220,
        "AlgoPause": 221, "AlgoEnd": 222, "AlgoResume": 223, "FixSessionMark": 230, "FixReject": 231, "MdSubscribe": 263,
        "Security": 250, "Venue": 251, "VolumeCurve": 252, "RefTable": 253, "RefDataReady": 254,
        "Quote": 260, "Trade": 261, "SymbolStatus": 262, "RiskLimits": 300, "KillSwitch": 301,
        "EndOfDay": 302, "Ping": 900, "Pong": 901, "Note": 902, "Blob": 903}


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
