"""Estimators of the outcomes a contract pays on (pure Python, no Django).

Every estimator returns an :class:`~utfall.core.evaluation.result.Estimate`.
Methods register themselves in :mod:`utfall.core.evaluation.registry` under the
name an evaluation spec uses (``method: did``).
"""
