"""Energy in plain words: everyday UK comparisons (sources in docs/energy.md)."""

from __future__ import annotations

import math
from typing import Any

__all__ = ["COMPARISONS", "compare", "predict_sentence", "training_sentence"]

#: kWh per everyday thing, largest first (rounded typical UK figures; see docs/energy.md).
COMPARISONS: tuple[tuple[str, float, str, str], ...] = (
    # (name, kWh, "n times" phrase, "once" phrase)
    ("kettle", 0.1, "boiling a kettle {n} times", "boiling a kettle once"),
    ("laptop", 0.05, "using a laptop for {n} hours", "using a laptop for an hour"),
    ("phone", 0.015, "charging a smartphone {n} times", "charging a smartphone once"),
)
LED_BULB_W = 10.0  # an LED bulb: 0.01 kWh an hour


def _sig(v: float, digits: int = 2) -> str:
    """``v`` to ``digits`` significant figures, without scientific notation.

    >>> _sig(0.000423), _sig(12.34), _sig(1234.5)
    ('0.00042', '12', '1,200')
    """
    if v == 0 or not math.isfinite(v):
        return "0" if v == 0 else "unknown"
    places = digits - 1 - math.floor(math.log10(abs(v)))
    r = round(v, places)
    if places <= 0:
        return f"{int(r):,}"
    return f"{r:.{places}f}".rstrip("0").rstrip(".")


def compare(kwh: float) -> str:
    """The closest everyday comparison for ``kwh``.

    Examples
    --------
    >>> compare(0.31)
    'about the same as boiling a kettle 3 times'
    >>> compare(0.1)
    'about the same as boiling a kettle once'
    >>> compare(0.07)
    'about the same as using a laptop for an hour'
    >>> compare(0.002)
    'less than charging a smartphone once'
    """
    for _name, unit, many, once in COMPARISONS:
        if kwh >= unit * 0.95:
            n = kwh / unit
            count = round(n) if n < 20 else int(float(_sig(n).replace(",", "")))
            return "about the same as " + (once if count <= 1 else many.format(n=f"{count:,}"))
    return "less than charging a smartphone once"


def training_sentence(energy: dict[str, Any] | None) -> str | None:
    """ "Training used about X kWh, roughly Y g CO₂e — about the same as Z." (None if unmeasured)

    >>> training_sentence({"energy_kwh": 0.0123, "emissions_g": 2.9})
    'Training used about 0.012 kWh, roughly 2.9 g CO₂e — less than charging a smartphone once.'
    """
    if not energy or energy.get("energy_kwh") is None or energy.get("emissions_g") is None:
        return None
    kwh, g = float(energy["energy_kwh"]), float(energy["emissions_g"])
    return f"Training used about {_sig(kwh)} kWh, roughly {_sig(g)} g CO₂e — {compare(kwh)}."


def predict_sentence(wh_per_1000: float | None, g_per_kwh: float | None = None) -> str | None:
    """One sentence for the energy of 1,000 predictions.

    >>> predict_sentence(0.05, 240.0)
    '1,000 predictions use about 0.05 Wh (about 0.012 g CO₂e), what an LED bulb uses in 18 seconds.'
    """
    if wh_per_1000 is None or not math.isfinite(wh_per_1000) or wh_per_1000 <= 0:
        return None
    seconds = wh_per_1000 / LED_BULB_W * 3600
    carbon = (
        f" (about {_sig(wh_per_1000 / 1000 * g_per_kwh)} g CO₂e)"
        if g_per_kwh and math.isfinite(g_per_kwh)
        else ""
    )
    led = (
        f"what an LED bulb uses in {_sig(seconds)} seconds"
        if seconds < 120
        else f"what an LED bulb uses in {_sig(seconds / 60)} minutes"
    )
    return f"1,000 predictions use about {_sig(wh_per_1000)} Wh{carbon}, {led}."
