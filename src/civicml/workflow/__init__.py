"""The jobs that string the stages together: data → learn → bundle (→ registry)."""

from civicml.workflow._bandit_job import BanditOutcome, run_bandit, write_bandit_report
from civicml.workflow._pipeline import (
    PIPELINE_STEPS,
    PipelineOutcome,
    pipeline_fingerprint,
    project_lock,
    run_pipeline,
)
from civicml.workflow._project_job import ProjectOutcome, run_project
from civicml.workflow._recording import TrainingOutcome, git_commit, package_versions
from civicml.workflow._reduced import ReducedSet, measure_reduced, reduced_features
from civicml.workflow._scoring import BatchScorer, list_partitions, score_file, score_partitions
from civicml.workflow._training_job import run_training
from civicml.workflow._unsupervised_job import run_unsupervised

__all__ = [
    "BanditOutcome",
    "run_bandit",
    "write_bandit_report",
    "PIPELINE_STEPS",
    "BatchScorer",
    "list_partitions",
    "score_partitions",
    "PipelineOutcome",
    "ProjectOutcome",
    "ReducedSet",
    "TrainingOutcome",
    "run_project",
    "git_commit",
    "measure_reduced",
    "package_versions",
    "pipeline_fingerprint",
    "project_lock",
    "reduced_features",
    "run_pipeline",
    "run_training",
    "run_unsupervised",
    "score_file",
]
