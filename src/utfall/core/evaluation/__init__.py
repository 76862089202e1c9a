"""Estimators of the outcomes a contract pays on (pure Python, no Django).

Every estimator is a pure function over a pandas DataFrame (or arrays) that
returns an :class:`~utfall.core.evaluation.result.Estimate`. Reading data files
and dispatching on a spec's ``method`` is the job of
:mod:`utfall.services.evaluation`.
"""
