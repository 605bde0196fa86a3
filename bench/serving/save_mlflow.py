"""Run in the MLflow venv: save the joblib pipeline as an MLflow sklearn model."""

import json
import sys

import joblib
import mlflow.sklearn
import pandas as pd
from mlflow.models import infer_signature

model = joblib.load(sys.argv[1])
with open(sys.argv[3]) as fh:
    sample = pd.DataFrame(json.load(fh))
mlflow.sklearn.save_model(
    model,
    sys.argv[2],
    signature=infer_signature(sample, model.predict(sample)),
    pyfunc_predict_fn="predict_proba",
    serialization_format="cloudpickle",
)
