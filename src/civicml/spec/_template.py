"""The commented civicml.yaml that ``civicml init`` writes."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from civicml._errors import SpecError

__all__ = ["TEMPLATE", "write_template"]

TEMPLATE = """\
# civicml project spec. Every key is documented; delete what you do not need.
# Validate it with:  civicml validate --spec civicml.yaml

name: my-project                 # letters, digits, '-', '_' and '.'
description: What the model is for, in one sentence.

data:
  path: data/training.csv        # CSV, Parquet, Excel (.xlsx) or JSON lines; relative to this file
  # query: SELECT * FROM 'data/*.parquet'    # or a DuckDB SQL query over files ...
  # url: postgresql://user@host/db           # ... or a SQLAlchemy URL plus 'query'
  # format: auto                 # auto | csv | parquet | excel | jsonl
  # encoding: null               # sniffed when left out (utf-8, utf-8-sig, cp1252, latin-1)
  # delimiter: null              # sniffed when left out (',', ';', tab, '|')

# Several inputs instead of 'data' (use one or the other): name each source, then combine and
# clean them with 'transform' steps. Every step logs its rows in and out; the same inputs
# always give the same training table. See docs/pipelines.md.
# sources:
#   claims:     {path: data/claims.csv}
#   households: {path: data/households/*.parquet}            # a glob: files read in name order
#   payments:   {url: postgresql://user@host/db, query: SELECT * FROM payments}
# transform:
#   - sql: |                     # DuckDB SQL over the sources by name
#       SELECT c.*, h.region FROM claims c LEFT JOIN households h USING (household_id)
#     name: joined               # later SQL steps may refer to this step's output by name
#   - drop_duplicates: {key: [claim_id], keep: first}
#   - coerce: {income: float, region: category}       # int | float | str | bool | date | category
#   - trim_text: [region, notes]                      # strip, collapse spaces, NFKC-normalise
#   - map_categories: {region: {"N. East": North East}}
#   - cap_outliers: {income: {lower_quantile: 0.01, upper_quantile: 0.99}}
#   - parse_dates: {claim_date: "%Y-%m-%d"}
#   - age_from_dob: {column: date_of_birth, as_of: "2024-01-01", name: age, drop: true}
# transform_guards:              # a join that multiplies rows or loses many is an error
#   max_fanout: 1.0              # rows out <= this x the driving (FROM) table's rows
#   max_drop_share: 0.1          # at most this share of rows may disappear in one step
#                                # (override either per step, e.g. 'max_drop_share: 1' on a GROUP BY)

target: outcome                  # the column to predict (optional for clustering and anomaly:
                                 # known labels there only score the model, never train it)
task: auto                       # auto | binary | multiclass | regression | clustering | anomaly
# metric: roc_auc                # primary metric; default: roc_auc, log_loss or rmse by task

budget_seconds: 60               # wall-clock budget for the model search
# max_trials: 20                 # a fixed number of trials: reproducible runs with 'seed'
seed: 0
# engine: local                  # or dask://scheduler-host:8786 (needs max_trials) to run trials on a cluster
# data_parallel: false           # true: train the final LightGBM on the dask:// cluster, workers reading the whole file
# models: [linear, lightgbm]     # families the search may try (default: all); the baseline always runs
cv_folds: 5
test_size: 0.2                   # share held out; the search never sees it

columns:
  id: []                         # identifiers: dropped before training, never features
  # group: household_id          # rows sharing a group stay in one fold
  text: []                       # free-text columns
  date: []                       # date columns
  drop: []                       # columns to ignore
  categorical: []                # numeric codes that are really categories
  # UK GDPR Art. 9 special-category columns (also detected by name and values); a
  # solely-automated model using one needs explicit consent or substantial public interest.
  # special_category: {eth_grp: racial-or-ethnic-origin, health_board: none}
  # plain names for the report, shown with the raw name beside them in tables
  # describe: {nwhite: Not white, bluecol: Blue-collar job}
  # why a protected or special-category column (or one standing for it) is a direct input
  # justification: {married: "Household circumstances affect eligibility; reviewed by the DPO"}

# Equality Act 2010 protected characteristics -> the column holding each (for fairness checks).
# Names: age, disability, gender_reassignment, marriage_and_civil_partnership,
# pregnancy_and_maternity, race, religion_or_belief, sex, sexual_orientation
protected: {}
#  sex: sex
#  age: age_band

personal_data:
  scan: true                     # scan for UK personal data before training
  allow: []                      # columns that may hold personal data and still be used

data_protection:                 # DPIA screening: answer true or false (left out: not answered).
  automated_decisions: null      #   civicml adds what it sees (scoring people, special-category
  systematic_monitoring: null    #   data, combined sources, size); two criteria met: a DPIA is
  vulnerable_people: null        #   required, and serving needs its reference and date
  innovative_technology: null    #   (civicml models governance NAME V --dpia-ref --dpia-date)
  prevents_rights_or_services: null

costs:                           # relative cost of each mistake; sets the decision threshold
  false_positive: 1
  false_negative: 1

checks:                          # limits for the promotion checks; a check without one reads
  min_roc_auc: null              #   "not checked", e.g. min_roc_auc: 0.7 (or max_mae: 3)
  max_fairness_gap: 0.2          # largest gap in selection rate / equalised odds between groups
  max_calibration_error: 0.1     # binary tasks; beats_baseline (better than trivial policies)
                                 #   always runs

# clustering:                    # task: clustering (see docs/unsupervised.md)
#   min_clusters: 2              # the range of k tried (HDBSCAN finds its own number)
#   max_clusters: 8
#   families: [kmeans, gaussian_mixture, agglomerative, hdbscan]
#   stability_resamples: 3       # refits on subsamples; stability = mean adjusted Rand index
#   max_search_rows: 3000        # rows each candidate is compared on (a seeded sample)
#   min_cluster_share: 0.02      # a smaller cluster fails the 'no tiny clusters' check
#   min_silhouette: 0.1          # a lower silhouette fails the separation check
# anomaly:                       # task: anomaly
#   contamination: auto          # expected share of anomalies, e.g. 0.05, or auto
#   families: [isolation_forest, local_outlier_factor]
#   max_reasons: 3               # features named in each row's reasons
#   rate_tolerance: 0.05         # allowed gap between the anomaly rate and contamination
#   min_roc_auc: 0.6             # with a target of known anomalies: the least acceptable AUC

owner:
  organisation: null
  team: null
  senior_responsible_owner: null
  contact: null                  # a team mailbox, not a person's address

intended_use: null
out_of_scope_uses: []
"""


def write_template(directory: str | Path, *, force: bool = False) -> Path:
    """Write the commented civicml.yaml into ``directory`` and return its path.

    Raises
    ------
    SpecError
        The file exists and ``force`` is false.
    """
    folder = Path(directory)
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / "civicml.yaml"
    if target.exists() and not force:
        raise SpecError.build(
            f"{target} already exists", fix="Pass --force to overwrite it, or choose another folder"
        )
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=".civicml.yaml.")
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(TEMPLATE)
    os.replace(tmp, target)
    return target
