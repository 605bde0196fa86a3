"""Dates are read in the form each column is written in (issue 20): a day-first UK column is
never read month-first on some rows, and a model saved with the form reads new rows the same."""

from __future__ import annotations

import numpy as np
import pandas as pd

from civicml.components import DateFeatures


def test_a_day_first_column_reads_every_row_day_first() -> None:
    frame = pd.DataFrame({"opened": ["13/03/2024", "05/03/2024", "01/12/2023", None]})
    out = DateFeatures().fit_transform(frame)
    months = out[:, 1].tolist()
    days = out[:, 2].tolist()
    assert months[:3] == [3.0, 3.0, 12.0] and days[:3] == [13.0, 5.0, 1.0]
    assert np.isnan(out[3]).all()


def test_the_form_is_learned_at_fit_and_kept_for_later_rows() -> None:
    model = DateFeatures().fit(pd.DataFrame({"d": ["31/01/2024", "02/02/2024"]}))
    assert model.formats_ == ["%d/%m/%Y"]
    later = model.transform(pd.DataFrame({"d": ["04/05/2024", "2024-06-07", "May 3rd"]}))
    assert later[0, 1:3].tolist() == [5.0, 4.0]  # 4 May, as the column is written
    assert later[1, 1:3].tolist() == [6.0, 7.0]  # ISO 8601 is always read
    assert np.isnan(later[2]).all()  # another form is not guessed


def test_a_month_first_column_is_read_month_first() -> None:
    model = DateFeatures().fit(pd.DataFrame({"d": ["03/13/2024", "12/31/2023"]}))
    assert model.formats_ == ["%m/%d/%Y"]


def test_a_model_saved_before_formats_reads_as_it_did() -> None:
    model = DateFeatures().fit(pd.DataFrame({"d": ["2024-01-31"]}))
    del model.formats_
    assert model.transform(pd.DataFrame({"d": ["2024-02-29"]}))[0, :3].tolist() == [
        2024.0,
        2.0,
        29.0,
    ]
