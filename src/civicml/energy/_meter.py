"""Measure the energy and carbon of a block of code with CodeCarbon's offline tracker.

:class:`EnergyMeter` wraps :class:`codecarbon.OfflineEmissionsTracker` for Great Britain
(``country_iso_code="GBR"``). It never sends anything over the network: every output, API and
live carbon-intensity option is switched off explicitly, so a user's ``.codecarbon.config`` or
``CODECARBON_*`` variables cannot turn one on, and the meter refuses to run a tracker that
still has an output handler. It never fails the code it measures: when CodeCarbon cannot run,
it falls back to CPU seconds × an assumed power per core and says so in ``method``; when even
that fails the reading says ``method="unavailable"`` and why.
"""

from __future__ import annotations

import logging
import math
import os
import time
from dataclasses import asdict, dataclass
from typing import Any

__all__ = [
    "FALLBACK_WATTS_PER_CORE",
    "GB_CARBON_INTENSITY",
    "EnergyMeter",
    "EnergyReading",
]

#: Assumed power of one busy CPU core, used only when CodeCarbon cannot run.
FALLBACK_WATTS_PER_CORE = 10.0
#: Grams of CO₂e per kWh for Great Britain, used only when CodeCarbon cannot run (CodeCarbon
#: 3.3's own GBR figure).
GB_CARBON_INTENSITY = 237.6

_KWH_TO_J = 3.6e6


@dataclass(frozen=True)
class EnergyReading:
    """What one measured block used.

    Examples
    --------
    >>> r = EnergyReading(energy_kwh=0.002, emissions_g=0.48, duration_s=60.0,
    ...                   method="RAPL", carbon_intensity_g_per_kwh=240.0)
    >>> round(r.power_w, 1), r.ok
    (120.0, True)
    >>> EnergyReading.unavailable("no clock", 1.0).ok
    False
    """

    energy_kwh: float
    emissions_g: float
    duration_s: float
    method: str
    carbon_intensity_g_per_kwh: float
    country_iso_code: str = "GBR"
    cpu_energy_kwh: float | None = None
    ram_energy_kwh: float | None = None
    tool: str = "codecarbon"
    reason: str | None = None

    @classmethod
    def unavailable(cls, reason: str, duration_s: float = 0.0) -> EnergyReading:
        """A reading that records why nothing could be measured."""
        nan = float("nan")
        return cls(nan, nan, duration_s, "unavailable", nan, tool="none", reason=reason)

    @property
    def ok(self) -> bool:
        """True when the figures are positive and finite."""
        return self.method != "unavailable" and all(
            math.isfinite(v) and v > 0 for v in (self.energy_kwh, self.emissions_g)
        )

    @property
    def power_w(self) -> float:
        """The average power over the block, in watts."""
        if not self.ok or self.duration_s <= 0:
            return float("nan")
        return self.energy_kwh * _KWH_TO_J / self.duration_s

    def to_dict(self) -> dict[str, Any]:
        """JSON-able, with NaN as None."""
        out = asdict(self)
        out["power_w"] = self.power_w
        return {
            k: (None if isinstance(v, float) and not math.isfinite(v) else v)
            for k, v in out.items()
        }


class EnergyMeter:
    """A context manager that measures the energy and emissions of its block.

    Parameters
    ----------
    country_iso_code : str, default "GBR"
        Where the electricity comes from (CodeCarbon's offline carbon-intensity table).
    measure_power_secs : float, default 5.0
        How often CodeCarbon samples power while the block runs.
    use_codecarbon : bool, default True
        False forces the CPU-time fallback (for tests and machines without CodeCarbon).

    Attributes
    ----------
    reading : EnergyReading or None
        Set when the block ends (even when it raised).

    Examples
    --------
    >>> with EnergyMeter(use_codecarbon=False) as meter:
    ...     _ = sum(i * i for i in range(200_000))
    >>> meter.reading.ok, meter.reading.method.startswith("estimate")
    (True, True)
    """

    def __init__(
        self,
        *,
        country_iso_code: str = "GBR",
        measure_power_secs: float = 5.0,
        use_codecarbon: bool = True,
    ) -> None:
        self.country_iso_code = country_iso_code
        self.measure_power_secs = measure_power_secs
        self.use_codecarbon = use_codecarbon
        self.reading: EnergyReading | None = None
        self._tracker: Any = None
        self._why_not: str | None = None
        self._t0 = 0.0
        self._cpu0 = 0.0

    def __enter__(self) -> EnergyMeter:
        self.reading = None
        self._tracker, self._why_not = None, None
        if self.use_codecarbon and os.environ.get("CIVICML_ENERGY", "").lower() != "estimate":
            try:
                self._tracker = self._start_tracker()
            except Exception as exc:  # CodeCarbon missing or broken: fall back, never fail
                self._tracker = None
                self._why_not = f"{type(exc).__name__}: {exc}"
        elif not self.use_codecarbon:
            self._why_not = "CodeCarbon switched off"
        else:
            self._why_not = "CIVICML_ENERGY=estimate"
        self._t0, self._cpu0 = time.perf_counter(), time.process_time()
        return self

    def __exit__(self, *exc: object) -> None:
        duration = time.perf_counter() - self._t0
        cpu_s = time.process_time() - self._cpu0
        try:
            reading = self._stop_tracker(duration) if self._tracker is not None else None
        except Exception as e:
            reading, self._why_not = None, f"{type(e).__name__}: {e}"
        if reading is None:
            reading = self._fallback(duration, cpu_s)
        self.reading = reading

    def _start_tracker(self) -> Any:
        from codecarbon import OfflineEmissionsTracker

        logging.getLogger("codecarbon").setLevel(logging.ERROR)

        tracker = OfflineEmissionsTracker(
            country_iso_code=self.country_iso_code,
            measure_power_secs=self.measure_power_secs,
            tracking_mode="process",
            log_level="error",
            # no file, API, HTTP, Prometheus or Logfire output; no live carbon-intensity API
            output_methods=[],
            emissions_endpoint=None,
            api_call_interval=-1,
            electricitymaps_api_token=None,
            cloud_provider=None,
            cloud_region=None,
            allow_multiple_runs=True,
        )
        # a deprecated co2_signal_api_token in a config file would still reach the live API
        for holder in (tracker, getattr(tracker, "_emissions", None)):
            if holder is not None and hasattr(holder, "_electricitymaps_api_token"):
                holder._electricitymaps_api_token = None
        if getattr(tracker, "_output_handlers", None) or getattr(
            tracker, "_emissions_endpoint", None
        ):
            raise RuntimeError("CodeCarbon was configured to send data somewhere; not started")
        tracker.start()
        return tracker

    def _stop_tracker(self, duration: float) -> EnergyReading | None:
        tracker, self._tracker = self._tracker, None
        kg = tracker.stop()
        data = getattr(tracker, "final_emissions_data", None)
        if kg is None or data is None:
            self._why_not = "CodeCarbon returned no measurement"
            return None
        kwh = float(data.energy_consumed)
        grams = float(data.emissions) * 1000.0
        if not (math.isfinite(kwh) and kwh > 0 and math.isfinite(grams) and grams > 0):
            self._why_not = f"CodeCarbon measured {kwh!r} kWh"
            return None
        return EnergyReading(
            energy_kwh=kwh,
            emissions_g=grams,
            duration_s=float(data.duration) if data.duration else duration,
            method=_method(tracker),
            carbon_intensity_g_per_kwh=grams / kwh,
            country_iso_code=self.country_iso_code,
            cpu_energy_kwh=float(data.cpu_energy),
            ram_energy_kwh=float(data.ram_energy),
            tool=f"codecarbon {getattr(data, 'codecarbon_version', '')}".strip(),
        )

    def _fallback(self, duration: float, cpu_s: float) -> EnergyReading:
        why = self._why_not or "CodeCarbon did not run"
        try:
            kwh = max(cpu_s, 1e-3) * FALLBACK_WATTS_PER_CORE / _KWH_TO_J
            return EnergyReading(
                energy_kwh=kwh,
                emissions_g=kwh * GB_CARBON_INTENSITY,
                duration_s=duration,
                method=(
                    f"estimate: CPU seconds × {FALLBACK_WATTS_PER_CORE:g} W per core "
                    f"(CodeCarbon could not run: {why})"
                ),
                carbon_intensity_g_per_kwh=GB_CARBON_INTENSITY,
                country_iso_code=self.country_iso_code,
                tool="civicml fallback",
                reason=why,
            )
        except Exception as exc:  # pragma: no cover - arithmetic on floats
            return EnergyReading.unavailable(f"{why}; {type(exc).__name__}: {exc}", duration)


def _method(tracker: Any) -> str:
    """Say how CodeCarbon measured the CPU: RAPL counters or a power estimate."""
    cpu = next((h for h in getattr(tracker, "_hardware", []) if type(h).__name__ == "CPU"), None)
    if cpu is None:
        return "CodeCarbon estimate (no CPU found)"
    mode = str(getattr(cpu, "_mode", ""))
    model = getattr(cpu, "_model", None) or "unknown CPU"
    tdp = getattr(cpu, "_tdp", None)
    ram = "; RAM power estimated by CodeCarbon"
    if "rapl" in mode:
        return "RAPL" + ram
    watts = f"TDP {tdp:g} W" if isinstance(tdp, int | float) else "TDP unknown"
    if mode == "cpu_load":
        return f"CPU power estimate ({watts} × this process's CPU load, {model})" + ram
    if mode == "constant":
        return f"CPU power estimate (constant {watts}, {model})" + ram
    return f"CPU power estimate ({mode or 'unknown mode'}, {watts}, {model})" + ram
