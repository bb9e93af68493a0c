"""The Fashion-MNIST hyperparameter grid: the model family, the Optuna engine and the report.

Split so that each file has one job: ``grid`` (what is searched), ``family``
(the network a configuration names), ``objective`` (train one configuration),
``engine`` (the study, its workers, resuming and retries) and ``report``
(tables and figures regenerated from the study at any time).
"""
