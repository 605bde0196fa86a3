"""The civicml.yaml schema: one pydantic model per section, unknown keys forbidden."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

__all__ = [
    "EQUALITY_ACT_CHARACTERISTICS",
    "SPECIAL_CATEGORIES",
    "ANOMALY_FAMILIES",
    "CLUSTER_FAMILIES",
    "TASKS",
    "STEP_KINDS",
    "UNSUPERVISED_TASKS",
    "AgeFromDob",
    "AnomalySettings",
    "CapBounds",
    "ClusteringSettings",
    "Columns",
    "Costs",
    "DataSource",
    "DropDuplicates",
    "TransformGuards",
    "TransformStep",
    "Owner",
    "PersonalData",
    "ProjectSpec",
    "Selection",
]

#: The nine protected characteristics named in the Equality Act 2010, s.4.
EQUALITY_ACT_CHARACTERISTICS: tuple[str, ...] = (
    "age",
    "disability",
    "gender_reassignment",
    "marriage_and_civil_partnership",
    "pregnancy_and_maternity",
    "race",
    "religion_or_belief",
    "sex",
    "sexual_orientation",
)

#: UK GDPR Art. 9(1) special categories, the ids ``columns.special_category`` takes (the same as
#: ``civicml.registry.SPECIAL_CATEGORIES``; a test keeps them equal, spec imports nothing else)
SPECIAL_CATEGORIES: tuple[str, ...] = (
    "racial-or-ethnic-origin",
    "political-opinions",
    "religious-or-philosophical-beliefs",
    "trade-union-membership",
    "genetic",
    "biometric",
    "health",
    "sex-life-or-sexual-orientation",
)

TASKS: tuple[str, ...] = ("auto", "binary", "multiclass", "regression", "clustering", "anomaly")

#: Tasks learned without a target (a ``target`` is then optional and used only for scoring).
UNSUPERVISED_TASKS: tuple[str, ...] = ("clustering", "anomaly")

Task = Literal["auto", "binary", "multiclass", "regression", "clustering", "anomaly"]

ClusterFamily = Literal["kmeans", "gaussian_mixture", "agglomerative", "hdbscan"]
AnomalyFamily = Literal["isolation_forest", "local_outlier_factor"]

CLUSTER_FAMILIES: tuple[ClusterFamily, ...] = (
    "kmeans",
    "gaussian_mixture",
    "agglomerative",
    "hdbscan",
)
ANOMALY_FAMILIES: tuple[AnomalyFamily, ...] = ("isolation_forest", "local_outlier_factor")


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)


class DataSource(_Section):
    """Where the training table comes from.

    Exactly one of ``path`` (a file: CSV, Parquet, Excel, JSON lines), ``query`` (a DuckDB SQL
    query that may read files, e.g. ``SELECT * FROM 'data/*.parquet'``) or ``url`` + ``query``
    (a SQLAlchemy database URL and the query to run there).
    """

    path: str | None = None
    query: str | None = None
    url: str | None = None
    format: Literal["auto", "csv", "parquet", "excel", "jsonl"] = "auto"
    sheet: str | int | None = None
    encoding: str | None = None
    delimiter: str | None = None

    @model_validator(mode="after")
    def _one_source(self) -> DataSource:
        if self.path is None and self.query is None:
            raise ValueError("set 'path' (a file) or 'query' (SQL), one of the two")
        if self.path is not None and self.query is not None:
            raise ValueError("set only one of 'path' and 'query'")
        if self.url is not None and self.query is None:
            raise ValueError("'url' needs a 'query' to run on that database")
        return self


_IDENT = r"^[A-Za-z_][A-Za-z0-9_]*$"

#: The transform step kinds, in the order they are documented.
STEP_KINDS: tuple[str, ...] = (
    "sql",
    "drop_duplicates",
    "coerce",
    "trim_text",
    "map_categories",
    "cap_outliers",
    "parse_dates",
    "age_from_dob",
)

CoerceType = Literal["int", "float", "str", "bool", "date", "category"]


class DropDuplicates(_Section):
    """Keep one row per key (the first or last seen, in the table's order)."""

    key: list[str] = Field(min_length=1)
    keep: Literal["first", "last"] = "first"


class CapBounds(_Section):
    """Clip a numeric column to its own quantiles (winsorise)."""

    lower_quantile: float | None = Field(default=None, ge=0, le=1)
    upper_quantile: float | None = Field(default=None, ge=0, le=1)

    @model_validator(mode="after")
    def _some_bound(self) -> CapBounds:
        if self.lower_quantile is None and self.upper_quantile is None:
            raise ValueError("set 'lower_quantile', 'upper_quantile' or both")
        lo, hi = self.lower_quantile, self.upper_quantile
        if lo is not None and hi is not None and lo >= hi:
            raise ValueError("'lower_quantile' must be below 'upper_quantile'")
        return self


class AgeFromDob(_Section):
    """Whole years between a date-of-birth column and a fixed date, then (by default) drop the
    date of birth. ``as_of`` is required so that the same input always gives the same table."""

    column: str
    as_of: str = Field(pattern=r"^\d{4}-\d{2}-\d{2}$")
    name: str = "age"
    format: str | None = None
    drop: bool = True


class TransformGuards(_Section):
    """Limits on how much a row-changing step (SQL, drop_duplicates) may change the row count.

    Rows are compared with the step's driving input: for SQL, the first source or step it
    names (its FROM table). ``max_fanout``: rows out may be at most this multiple of it (a
    join that multiplies rows is an error). ``max_drop_share``: at most this share of its
    rows may disappear (a join or filter that loses rows is an error).
    """

    max_fanout: float = Field(default=1.0, ge=1.0)
    max_drop_share: float = Field(default=0.1, ge=0, le=1)


class TransformStep(_Section):
    """One step of ``transform:``: exactly one step kind plus optional settings.

    ``name`` registers the step's output under that name for later SQL steps; ``input`` names
    the table a cleaning step works on (default: the previous step's output, or the only
    source). ``max_fanout`` / ``max_drop_share`` override ``transform_guards`` for this step.
    """

    sql: str | None = None
    drop_duplicates: DropDuplicates | None = None
    coerce: dict[str, CoerceType] | None = None
    trim_text: list[str] | None = None
    map_categories: dict[str, dict[str | int | float | bool, Any]] | None = None
    cap_outliers: dict[str, CapBounds] | None = None
    parse_dates: dict[str, str] | None = None
    age_from_dob: AgeFromDob | None = None
    name: str | None = Field(default=None, pattern=_IDENT)
    input: str | None = None
    max_fanout: float | None = Field(default=None, ge=1.0)
    max_drop_share: float | None = Field(default=None, ge=0, le=1)

    @model_validator(mode="after")
    def _one_kind(self) -> TransformStep:
        kinds = [k for k in STEP_KINDS if getattr(self, k) is not None]
        if len(kinds) != 1:
            raise ValueError(
                f"each step needs exactly one of {list(STEP_KINDS)}; got {kinds or 'none'}"
            )
        return self

    @property
    def kind(self) -> str:
        """The step's kind, e.g. ``'sql'``."""
        return next(k for k in STEP_KINDS if getattr(self, k) is not None)

    @property
    def options(self) -> Any:
        """The step kind's settings (the SQL text, a mapping, a list or a section)."""
        return getattr(self, self.kind)


class Columns(_Section):
    """Column roles the data cannot tell us by itself.

    ``special_category`` declares columns holding UK GDPR Art. 9(1) special-category data
    (``{column: category}``, a category from :data:`SPECIAL_CATEGORIES`); ``none`` marks a
    column that detection reports wrongly. A declaration wins over detection.
    ``describe`` gives columns plain names for the report (``{nwhite: Not white}``);
    ``justification`` records why a protected or special-category input is used.
    """

    id: list[str] = Field(default_factory=list)
    group: str | None = None
    text: list[str] = Field(default_factory=list)
    date: list[str] = Field(default_factory=list)
    drop: list[str] = Field(default_factory=list)
    categorical: list[str] = Field(default_factory=list)
    special_category: dict[str, str | None] = Field(default_factory=dict)
    #: a plain name for each column, used in the report's prose and headings
    describe: dict[str, str] = Field(default_factory=dict)
    #: why a protected, special-category or stand-in column is a direct input (quoted as the
    #: mitigation of its risk in the report and the ATRS record)
    justification: dict[str, str] = Field(default_factory=dict)
    #: why each feature is used (data minimisation: a feature without one is listed)
    purpose: dict[str, str] = Field(default_factory=dict)

    @field_validator("describe", "justification", "purpose")
    @classmethod
    def _non_empty_text(cls, value: dict[str, str]) -> dict[str, str]:
        for column, text in value.items():
            if not str(text).strip():
                raise ValueError(
                    f"columns: the entry for {column!r} is empty; write the text or remove it"
                )
        return {k: str(v).strip() for k, v in value.items()}

    @field_validator("special_category")
    @classmethod
    def _special_categories(cls, value: dict[str, str | None]) -> dict[str, str | None]:
        out: dict[str, str | None] = {}
        for column, category in value.items():
            key = re.sub(r"[\s_]+", "-", (category or "none").strip().casefold())
            if key not in (*SPECIAL_CATEGORIES, "none"):
                raise ValueError(
                    f"columns.special_category gives {column!r} the category {category!r}, "
                    "which is not a UK GDPR Art. 9(1) special category; use one of "
                    f"{list(SPECIAL_CATEGORIES)}, or 'none' for a column that is not one"
                )
            out[column] = None if key == "none" else key
        return out


class PersonalData(_Section):
    """Columns that hold personal data on purpose and may be used for training."""

    allow: list[str] = Field(default_factory=list)
    scan: bool = True


class DataProtection(_Section):
    """``data_protection:``: the DPIA screening questions (see :mod:`civicml.spec._dpia`), each
    ``true`` or ``false``; left out means not answered. civicml adds what it can see itself
    (scoring people, special-category data, combined sources, size)."""

    evaluation_or_scoring: bool | None = None
    automated_decisions: bool | None = None
    systematic_monitoring: bool | None = None
    special_category_or_criminal_data: bool | None = None
    large_scale: bool | None = None
    matching_datasets: bool | None = None
    vulnerable_people: bool | None = None
    innovative_technology: bool | None = None
    prevents_rights_or_services: bool | None = None


class Equality(_Section):
    """``equality:``: for the Equality Impact Assessment (Public Sector Equality Duty): the
    protected characteristics a person judged not relevant, with the reason, and the mitigation
    recorded for each flagged gap or direct input (keyed by characteristic or column)."""

    not_relevant: dict[str, str] = Field(default_factory=dict)
    mitigations: dict[str, str] = Field(default_factory=dict)


class Costs(_Section):
    """Relative cost of each kind of mistake; drives the decision threshold."""

    false_positive: float = Field(default=1.0, ge=0)
    false_negative: float = Field(default=1.0, ge=0)


class Checks(BaseModel):
    """Limits for the promotion checks (``checks:`` in civicml.yaml).

    ``max_fairness_gap`` (default 0.2) and ``max_calibration_error`` (default 0.1), and any
    ``min_<metric>`` / ``max_<metric>`` for a measured metric (``min_roc_auc: 0.7``,
    ``max_mae: 3``). A check without a limit (or with ``null``) reads "not checked": it neither
    passes nor fails. ``beats_baseline`` always runs.
    """

    model_config = ConfigDict(extra="allow", frozen=True)

    max_fairness_gap: float | None = Field(default=0.2, ge=0)
    max_calibration_error: float | None = Field(default=0.1, ge=0)

    @model_validator(mode="after")
    def _limits_are_named_and_numeric(self) -> Checks:
        for key, value in (self.model_extra or {}).items():
            if not re.fullmatch(r"(min|max)_[a-z][a-z0-9_]*", key):
                raise ValueError(
                    f"unknown check limit {key!r}: use max_fairness_gap, max_calibration_error, "
                    "or min_<metric> / max_<metric> (e.g. min_roc_auc, max_mae)"
                )
            if value is not None and (
                isinstance(value, bool) or not isinstance(value, (int, float))
            ):
                raise ValueError(f"check limit {key!r} must be a number or null; got {value!r}")
        return self

    def limits(self) -> dict[str, float | None]:
        """Every limit by check name, for :func:`civicml.assess.evaluate_checks`.

        Examples
        --------
        >>> Checks.model_validate({"min_roc_auc": 0.7}).limits()["min_roc_auc"]
        0.7
        """
        extra = {k: None if v is None else float(v) for k, v in (self.model_extra or {}).items()}
        return {
            "max_fairness_gap": self.max_fairness_gap,
            "max_calibration_error": self.max_calibration_error,
            **extra,
        }


class Owner(_Section):
    """Who answers for the model (ATRS 2.1)."""

    organisation: str | None = None
    team: str | None = None
    senior_responsible_owner: str | None = None
    contact: str | None = None


class Selection(_Section):
    """Constraints on which candidate may be chosen."""

    max_predict_latency_ms: float | None = Field(default=None, gt=0)
    max_model_size_mb: float | None = Field(default=None, gt=0)
    interpretable: bool = False
    energy_tolerance: float | None = Field(default=None, ge=0)


class ClusteringSettings(_Section):
    """Settings for ``task: clustering``: the number of clusters to try and the families.

    ``min_clusters``..``max_clusters`` is the range of k tried by k-means, Gaussian mixtures and
    agglomerative clustering (HDBSCAN finds its own number). ``stability_resamples`` is how many
    subsamples each candidate is refitted on to measure stability (mean adjusted Rand index).
    ``max_search_rows`` caps the rows each candidate is compared on (a seeded sample).
    """

    min_clusters: int = Field(default=2, ge=2, le=50)
    max_clusters: int = Field(default=8, ge=2, le=50)
    families: list[ClusterFamily] = Field(
        default_factory=lambda: list(CLUSTER_FAMILIES), min_length=1
    )
    stability_resamples: int = Field(default=3, ge=0, le=20)
    max_search_rows: int = Field(default=3000, ge=100)
    min_cluster_share: float = Field(default=0.02, ge=0, lt=0.5)
    min_silhouette: float = Field(default=0.1, ge=-1, le=1)

    @model_validator(mode="after")
    def _range(self) -> ClusteringSettings:
        if self.min_clusters > self.max_clusters:
            raise ValueError(
                f"'min_clusters' ({self.min_clusters}) must not be above 'max_clusters' "
                f"({self.max_clusters}); set clustering.min_clusters <= clustering.max_clusters"
            )
        return self


class AnomalySettings(_Section):
    """Settings for ``task: anomaly``.

    ``contamination`` is the expected share of anomalies (a number in (0, 0.5]) or ``auto``
    (each detector's own default threshold). ``max_reasons`` is how many features each flagged
    row's reasons name. ``rate_tolerance`` is how far the training anomaly rate may stray from
    ``contamination`` before the rate check fails.
    """

    contamination: Literal["auto"] | float = "auto"
    families: list[AnomalyFamily] = Field(
        default_factory=lambda: list(ANOMALY_FAMILIES), min_length=1
    )
    max_reasons: int = Field(default=3, ge=1, le=20)
    rate_tolerance: float = Field(default=0.05, gt=0, le=1)
    min_roc_auc: float = Field(default=0.6, ge=0, le=1)

    @field_validator("contamination")
    @classmethod
    def _share(cls, value: Any) -> Any:
        if value != "auto" and not (0 < float(value) <= 0.5):
            raise ValueError(
                f"'contamination' must be 'auto' or a share in (0, 0.5], got {value!r}; "
                "set anomaly.contamination to e.g. 0.05 (5% of rows expected to be anomalies)"
            )
        return value


#: The supervised model families the search can try (``models:`` in civicml.yaml); the names of
#: ``civicml.learn.FAMILIES`` (a test keeps the two equal; spec loading imports no ML library).
ModelFamily = Literal[
    "baseline", "linear", "knn", "random_forest", "extra_trees", "hist_gb", "lightgbm", "mlp"
]


class ProjectSpec(_Section):
    """A civicml project: what to learn from, for whom, and within which limits.

    Examples
    --------
    >>> spec = ProjectSpec(name="demo", data={"path": "d.csv"}, target="y", max_trials=5)
    >>> spec.task, spec.cv_folds, spec.seed
    ('auto', 5, 0)
    """

    name: str = Field(min_length=1, max_length=100, pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
    description: str | None = None
    data: DataSource | None = None
    sources: dict[str, DataSource] | None = None
    transform: list[TransformStep] = Field(default_factory=list)
    transform_guards: TransformGuards = Field(default_factory=TransformGuards)
    target: str | None = None
    task: Task = "auto"
    metric: str | None = None
    budget_seconds: float = Field(default=60.0, gt=0)
    max_trials: int | None = Field(default=None, ge=1)
    seed: int = Field(default=0, ge=0)
    engine: str = "local"
    #: train the final LightGBM or linear model data-parallel on the Dask cluster named by
    #: ``engine``: the workers read the whole file; the search runs on a sample (see
    #: docs/scale-out.md)
    data_parallel: bool = False
    models: list[ModelFamily] | None = None
    cv_folds: int = Field(default=5, ge=2, le=20)
    test_size: float = Field(default=0.2, gt=0, lt=0.9)
    columns: Columns = Field(default_factory=Columns)
    protected: dict[str, str] = Field(default_factory=dict)
    personal_data: PersonalData = Field(default_factory=PersonalData)
    data_protection: DataProtection = Field(default_factory=DataProtection)
    equality: Equality = Field(default_factory=Equality)
    costs: Costs = Field(default_factory=Costs)
    checks: Checks = Field(default_factory=Checks)
    owner: Owner = Field(default_factory=Owner)
    selection: Selection = Field(default_factory=Selection)
    clustering: ClusteringSettings = Field(default_factory=ClusteringSettings)
    anomaly: AnomalySettings = Field(default_factory=AnomalySettings)
    intended_use: str | None = None
    out_of_scope_uses: list[str] = Field(default_factory=list)
    #: how often an approved version is reviewed, in months ("6 months", "1 year" or 12)
    review_every: int = Field(default=12, ge=1, le=120)
    #: how many days the served model's decision log is kept (applied by ``civicml serve`` and
    #: on retirement; unset: kept until someone deletes it, which the disposal record says)
    retention_days: float | None = Field(default=None, gt=0, le=36500)

    # Where the spec file lives; relative data paths resolve against it. Not a YAML key.
    base_dir: Path = Field(default=Path("."), exclude=True)

    @field_validator("review_every", mode="before")
    @classmethod
    def _review_months(cls, value: Any) -> Any:
        if isinstance(value, str):
            m = re.match(r"^\s*(\d{1,3})\s*(months?|years?)?\s*$", value, re.IGNORECASE)
            if not m:
                raise ValueError(
                    f"review_every {value!r} is not a period; write e.g. 12, '6 months' or '1 year'"
                )
            unit = (m.group(2) or "month").lower()
            return int(m.group(1)) * (12 if unit.startswith("year") else 1)
        return value

    @field_validator("models")
    @classmethod
    def _models_listed(cls, value: list[str] | None) -> list[str] | None:
        if value is not None and not [m for m in value if m != "baseline"]:
            raise ValueError("models lists no model family to search besides the baseline")
        return None if value is None else list(dict.fromkeys(value))

    @field_validator("engine")
    @classmethod
    def _engine_address(cls, value: str) -> str:
        if not re.match(r"^(local(:[0-9]+)?|dask://[A-Za-z0-9_.\-]+:[0-9]{1,5})$", value):
            raise ValueError(
                f"engine {value!r} is not 'local', 'local:N' or 'dask://HOST:PORT' "
                "(e.g. dask://127.0.0.1:8786)"
            )
        return value

    @field_validator("protected")
    @classmethod
    def _protected_names(cls, value: dict[str, str]) -> dict[str, str]:
        for key in value:
            if key not in EQUALITY_ACT_CHARACTERISTICS:
                raise ValueError(
                    f"{key!r} is not a protected characteristic of the Equality Act 2010; "
                    f"use one of {list(EQUALITY_ACT_CHARACTERISTICS)}"
                )
        return value

    @field_validator("sources")
    @classmethod
    def _source_names(cls, value: dict[str, DataSource] | None) -> dict[str, DataSource] | None:
        if value is not None:
            if not value:
                raise ValueError("'sources' needs at least one named source")
            for key in value:
                if not re.match(_IDENT, key):
                    raise ValueError(
                        f"source name {key!r} must be a SQL name (letters, digits and '_', "
                        "not starting with a digit) so SQL steps can refer to it"
                    )
        return value

    @model_validator(mode="after")
    def _one_data_section(self) -> ProjectSpec:
        if self.data is None and self.sources is None:
            raise ValueError("set 'data' (one table) or 'sources' (several named inputs)")
        if self.data is not None and self.sources is not None:
            raise ValueError(
                "set only one of 'data' and 'sources': use 'sources' with 'transform' steps "
                "to combine several inputs"
            )
        return self

    @model_validator(mode="after")
    def _data_parallel_needs(self) -> ProjectSpec:
        if not self.data_parallel:
            return self
        needs = {
            "engine: dask://HOST:PORT (the cluster whose workers read the data)": (
                self.engine.startswith("dask://")
            ),
            "a supervised task (binary, multiclass, regression or auto)": (
                self.task not in UNSUPERVISED_TASKS
            ),
            "'data' with a file, folder or glob 'path' (no 'sources', 'sql' or 'transform')": (
                self.data is not None
                and self.data.path is not None
                and not self.transform
                and self.data.format in ("auto", "csv", "parquet")
            ),
            "no columns.group (rows are split by a hash of each row, not by group)": (
                not self.columns.group
            ),
            "models unset or including lightgbm or linear (the data-parallel learners)": (
                self.models is None or bool({"lightgbm", "linear"} & set(self.models))
            ),
        }
        missing = [k for k, ok in needs.items() if not ok]
        if missing:
            raise ValueError(f"data_parallel: true needs {'; '.join(missing)}")
        return self

    @model_validator(mode="after")
    def _target_needed(self) -> ProjectSpec:
        if self.task not in UNSUPERVISED_TASKS and not self.target:
            raise ValueError(
                "'target' is required unless task is 'clustering' or 'anomaly' "
                "(for those it is optional: known labels used only to score the model)"
            )
        return self

    def named_sources(self) -> dict[str, DataSource]:
        """Every input by name: ``sources:`` as written, or ``{'data': data}``.

        Examples
        --------
        >>> spec = ProjectSpec(name="demo", data={"path": "d.csv"}, target="y")
        >>> list(spec.named_sources())
        ['data']
        """
        if self.sources is not None:
            return dict(self.sources)
        assert self.data is not None
        return {"data": self.data}

    def data_path(self) -> Path | None:
        """The data file's path resolved against the spec's folder, or ``None`` for SQL (and
        for ``sources:``)."""
        if self.data is None or self.data.path is None:
            return None
        p = Path(self.data.path).expanduser()
        return p if p.is_absolute() else (self.base_dir / p)
