"""WSJF report models and API object models (re-exported by :mod:`pywats`)."""
