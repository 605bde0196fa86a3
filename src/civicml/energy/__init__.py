"""Energy and carbon: measure training and prediction, say it in plain words.

See docs/energy.md.
"""

from civicml.energy._attribution import annotate_leaderboard, measure_predict_energy
from civicml.energy._meter import (
    FALLBACK_WATTS_PER_CORE,
    GB_CARBON_INTENSITY,
    EnergyMeter,
    EnergyReading,
)
from civicml.energy._words import compare, predict_sentence, training_sentence

__all__ = [
    "FALLBACK_WATTS_PER_CORE",
    "GB_CARBON_INTENSITY",
    "EnergyMeter",
    "EnergyReading",
    "annotate_leaderboard",
    "compare",
    "measure_predict_energy",
    "predict_sentence",
    "training_sentence",
]
