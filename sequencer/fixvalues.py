"""FIX field values by name, for the domain (OMS, algo) and the gateways: a bare "1" for Side or "E" for OrdStatus is
a bug waiting. ``StrEnum`` members are ``str`` and msgspec encodes them as their value, so a message built with
``Side.BUY`` is the same bytes on the log as one built with "1", and a decoded message's plain "1" compares equal to
``Side.BUY``. Values are FIX 4.4's; the client gateway maps them for FIX 4.2 where they differ."""
from __future__ import annotations

from enum import IntEnum, StrEnum


class Side(StrEnum):                 # tag 54
    BUY = "1"
    SELL = "2"
    SELL_SHORT = "5"
    SELL_SHORT_EXEMPT = "6"


class OrdType(StrEnum):              # tag 40 (the types seqtrade works)
    MARKET = "1"
    LIMIT = "2"


class TimeInForce(StrEnum):          # tag 59
    DAY = "0"
    GOOD_TILL_CANCEL = "1"
    AT_THE_OPENING = "2"
    IMMEDIATE_OR_CANCEL = "3"
    FILL_OR_KILL = "4"
    GOOD_TILL_CROSSING = "5"
    GOOD_TILL_DATE = "6"
    AT_THE_CLOSE = "7"


class OrdStatus(StrEnum):            # tag 39
    NEW = "0"
    PARTIALLY_FILLED = "1"
    FILLED = "2"
    DONE_FOR_DAY = "3"
    CANCELED = "4"
    PENDING_CANCEL = "6"
    REJECTED = "8"
    PENDING_NEW = "A"
    EXPIRED = "C"
    PENDING_REPLACE = "E"


class ExecType(StrEnum):             # tag 150 (FIX 4.4)
    NEW = "0"
    DONE_FOR_DAY = "3"
    CANCELED = "4"
    REPLACED = "5"
    PENDING_CANCEL = "6"
    REJECTED = "8"
    PENDING_NEW = "A"
    EXPIRED = "C"
    RESTATED = "D"
    PENDING_REPLACE = "E"
    TRADE = "F"
    TRADE_CORRECT = "G"
    TRADE_CANCEL = "H"
    ORDER_STATUS = "I"


class CxlRejResponseTo(StrEnum):     # tag 434
    CANCEL = "1"
    CANCEL_REPLACE = "2"


class MassCancelRequestType(StrEnum):   # tag 530 (the ones seqtrade answers)
    BY_SECURITY = "1"
    ALL_ORDERS = "7"


class OrdRejReason(IntEnum):         # tag 103 (FIX 4.4)
    BROKER_CREDIT = 0
    UNKNOWN_SYMBOL = 1
    EXCHANGE_CLOSED = 2
    ORDER_EXCEEDS_LIMIT = 3
    DUPLICATE_ORDER = 6
    UNSUPPORTED_ORDER_CHARACTERISTIC = 11
    INCORRECT_QUANTITY = 13
    OTHER = 99


class CxlRejReason(IntEnum):         # tag 102 (FIX 4.4)
    TOO_LATE_TO_CANCEL = 0
    UNKNOWN_ORDER = 1
    BROKER_OPTION = 2
    ALREADY_PENDING = 3
    DUPLICATE_CLORDID = 6
    OTHER = 99


class ExecRestatementReason(IntEnum):   # tag 378
    BROKER_OPTION = 4
