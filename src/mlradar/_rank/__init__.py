"""Ranking: features, models, the feature store, and the evaluation harness.

Pure numpy / scipy / scikit-learn: no SQL and no I/O beyond the feature store's own
files.  The facade (:mod:`mlradar._radar`) feeds it rows from storage.
"""
