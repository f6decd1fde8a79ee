"""The strategies, by the name a client's order carries (NewOrder.strategy)."""
from .limit import LimitStrategy
from .pov import PovStrategy
from .scheduled import TwapStrategy, VwapStrategy

STRATEGIES = {"LIMIT": LimitStrategy, "VWAP": VwapStrategy, "TWAP": TwapStrategy, "POV": PovStrategy}
