"""The civicml.yaml schema: one pydantic model per section, unknown keys forbidden."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

__all__ = [
    "EQUALITY_ACT_CHARACTERISTICS",
    "TASKS",
    "Columns",
    "Costs",
    "DataSource",
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

TASKS: tuple[str, ...] = ("auto", "binary", "multiclass", "regression", "clustering")

Task = Literal["auto", "binary", "multiclass", "regression", "clustering"]


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


class Columns(_Section):
    """Column roles the data cannot tell us by itself."""

    id: list[str] = Field(default_factory=list)
    group: str | None = None
    text: list[str] = Field(default_factory=list)
    date: list[str] = Field(default_factory=list)
    drop: list[str] = Field(default_factory=list)
    categorical: list[str] = Field(default_factory=list)


class PersonalData(_Section):
    """Columns that hold personal data on purpose and may be used for training."""

    allow: list[str] = Field(default_factory=list)
    scan: bool = True


class Costs(_Section):
    """Relative cost of each kind of mistake; drives the decision threshold."""

    false_positive: float = Field(default=1.0, ge=0)
    false_negative: float = Field(default=1.0, ge=0)


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
    data: DataSource
    target: str | None = None
    task: Task = "auto"
    metric: str | None = None
    budget_seconds: float = Field(default=60.0, gt=0)
    max_trials: int | None = Field(default=None, ge=1)
    seed: int = Field(default=0, ge=0)
    cv_folds: int = Field(default=5, ge=2, le=20)
    test_size: float = Field(default=0.2, gt=0, lt=0.9)
    columns: Columns = Field(default_factory=Columns)
    protected: dict[str, str] = Field(default_factory=dict)
    personal_data: PersonalData = Field(default_factory=PersonalData)
    costs: Costs = Field(default_factory=Costs)
    owner: Owner = Field(default_factory=Owner)
    selection: Selection = Field(default_factory=Selection)
    intended_use: str | None = None
    out_of_scope_uses: list[str] = Field(default_factory=list)

    # Where the spec file lives; relative data paths resolve against it. Not a YAML key.
    base_dir: Path = Field(default=Path("."), exclude=True)

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

    @model_validator(mode="after")
    def _target_needed(self) -> ProjectSpec:
        if self.task != "clustering" and not self.target:
            raise ValueError("'target' is required unless task is 'clustering'")
        return self

    def data_path(self) -> Path | None:
        """The data file's path resolved against the spec's folder, or ``None`` for SQL."""
        if self.data.path is None:
            return None
        p = Path(self.data.path).expanduser()
        return p if p.is_absolute() else (self.base_dir / p)
